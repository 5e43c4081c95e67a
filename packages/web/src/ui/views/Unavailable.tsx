/**
 * Views whose server API has not landed yet. Each names the API path it needs; when the server's
 * OpenAPI document lists that path, the view says the server has it (and the real view replaces
 * this one in the console version that supports it). No figures are shown until then.
 */
import { useEffect, useState } from 'react';
import { useI18n, useSession } from '../context.js';
import { fetchApiPaths } from '../api.js';
import type { MessageKey } from '../../lib/i18n.js';

/** What each planned view needs from the server. */
export const PLANNED_CAPABILITIES = {
  bookings: { title: 'bookings.title', capability: 'bookings.capability', path: '/api/v1/bookings' },
  usage: { title: 'usage.title', capability: 'usage.capability', path: '/api/v1/usage' },
} as const satisfies Record<string, { title: MessageKey; capability: MessageKey; path: string }>;

function Planned({ which }: { which: keyof typeof PLANNED_CAPABILITIES }) {
  const { t } = useI18n();
  const { baseUrl } = useSession();
  const cap = PLANNED_CAPABILITIES[which];
  const [present, setPresent] = useState<boolean | null>(null);
  useEffect(() => {
    let stop = false;
    fetchApiPaths(baseUrl)
      .then((paths) => !stop && setPresent([...paths].some((p) => p === cap.path || p.startsWith(cap.path + '/'))))
      .catch(() => !stop && setPresent(false));
    return () => {
      stop = true;
    };
  }, [baseUrl, cap.path]);
  return (
    <section aria-labelledby="planned-title" data-testid={`unavailable-${which}`}>
      <h1 id="planned-title">{t(cap.title)}</h1>
      <div className="card notice" role="status">
        <h2>{t('unavailable.title')}</h2>
        <p>{present ? t('unavailable.present', { capability: t(cap.capability), path: cap.path }) : t('unavailable.body', { capability: t(cap.capability), path: cap.path })}</p>
      </div>
    </section>
  );
}

export const Bookings = () => <Planned which="bookings" />;
export const Usage = () => <Planned which="usage" />;
