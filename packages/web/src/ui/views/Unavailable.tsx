/**
 * Capabilities that arrive with newer servers. The console reads the server's OpenAPI document
 * once and shows a view only when the server offers its API; otherwise it says the capability is
 * not available on this server yet, naming the API path it waits for. No figures are shown then.
 */
import { useEffect, useState } from 'react';
import { useI18n, useSession } from '../context.js';
import { fetchApiPaths } from '../api.js';
import type { MessageKey } from '../../lib/i18n.js';

/** API paths each view needs. */
export const CAPABILITY_PATHS = {
  bookings: '/api/v1/bookings',
  usage: '/api/v1/usage',
  budgets: '/api/v1/budgets',
  tenants: '/api/v1/tenants',
} as const;
export type Capability = keyof typeof CAPABILITY_PATHS;

/** Whether the server offers a capability: null while the OpenAPI document loads. */
export function useCapability(which: Capability): boolean | null {
  const { baseUrl } = useSession();
  const path = CAPABILITY_PATHS[which];
  const [present, setPresent] = useState<boolean | null>(null);
  useEffect(() => {
    let stop = false;
    fetchApiPaths(baseUrl)
      .then((paths) => !stop && setPresent([...paths].some((p) => p === path || p.startsWith(path + '/'))))
      .catch(() => !stop && setPresent(false));
    return () => {
      stop = true;
    };
  }, [baseUrl, path]);
  return present;
}

/** The notice shown instead of a view whose API this server lacks. */
export function NotAvailable(props: { which: Capability; capability: MessageKey }) {
  const { t } = useI18n();
  return (
    <div className="card notice" role="status" data-testid={`unavailable-${props.which}`}>
      <h2>{t('unavailable.title')}</h2>
      <p>{t('unavailable.body', { capability: t(props.capability), path: CAPABILITY_PATHS[props.which] })}</p>
    </div>
  );
}
