import type { ReactNode } from 'react';
import { useI18n } from '../context.js';
import type { MessageKey } from '../../lib/i18n.js';
import { formatTime } from '../../lib/format.js';

export function StateBadge({ state }: { state: string }) {
  const { t } = useI18n();
  const key = `state.${state}` as MessageKey;
  return (
    <span className={`badge state-${state}`} data-state={state}>
      {t(key)}
    </span>
  );
}

export function ErrorNote({ error }: { error: string }) {
  const { t } = useI18n();
  return (
    <p className="error" role="alert">
      {t('common.error', { message: error })}
    </p>
  );
}

export function Updated({ at, liveSeconds }: { at: number | null; liveSeconds: number }) {
  const { t, lang } = useI18n();
  return (
    <p className="muted small" aria-live="off">
      {t('common.live', { seconds: liveSeconds })}
      {at ? ` · ${t('common.updated', { time: formatTime(new Date(at).toISOString(), lang) })}` : ''}
    </p>
  );
}

export function Card(props: { title: string; children: ReactNode; className?: string; id?: string }) {
  return (
    <section className={`card ${props.className ?? ''}`} aria-labelledby={props.id}>
      <h2 id={props.id}>{props.title}</h2>
      {props.children}
    </section>
  );
}
