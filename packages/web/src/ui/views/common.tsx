import { useState, type ReactNode } from 'react';
import { useI18n } from '../context.js';
import type { MessageKey } from '../../lib/i18n.js';
import { formatTime } from '../../lib/format.js';
import { localizeError } from '../../lib/error-text.js';

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
  const { t, lang } = useI18n();
  return (
    <p className="error" role="alert">
      {t('common.error', { message: localizeError(error, lang) })}
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

/**
 * A labelled input bound to a string state: `invalid` marks it for assistive technology (the form
 * lists the server's field errors beside it), `testId` names it for the browser tests.
 */
export function Field(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  testId: string;
  type?: 'text' | 'number' | 'date' | 'datetime-local';
  invalid?: boolean;
  required?: boolean;
  list?: string;
  placeholder?: string;
  min?: number;
  step?: number;
}) {
  return (
    <label>
      {props.label}
      <input
        type={props.type ?? 'text'}
        list={props.list}
        required={props.required}
        min={props.min}
        step={props.step}
        placeholder={props.placeholder}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        aria-invalid={props.invalid ? true : undefined}
        data-testid={props.testId}
      />
    </label>
  );
}

/**
 * An action that cannot be undone, asked twice: the first button shows a confirm and a keep button
 * (test ids `testId` and `testId-confirm`). The confirm runs `onConfirm`; the pair closes when it ends.
 */
export function ConfirmAction(props: {
  label: string;
  confirmLabel: string;
  abortLabel: string;
  testId: string;
  busy: boolean;
  onConfirm: () => Promise<void>;
  ariaLabel?: string;
  confirmAriaLabel?: string;
  /** The first button's class (default `danger`). */
  className?: string;
}) {
  const [confirming, setConfirming] = useState(false);
  if (!confirming)
    return (
      <button
        type="button"
        className={props.className ?? 'danger'}
        disabled={props.busy}
        onClick={() => setConfirming(true)}
        aria-label={props.ariaLabel}
        data-testid={props.testId}
      >
        {props.label}
      </button>
    );
  return (
    <>
      <button
        type="button"
        className="danger"
        disabled={props.busy}
        onClick={() => void props.onConfirm().finally(() => setConfirming(false))}
        aria-label={props.confirmAriaLabel}
        data-testid={`${props.testId}-confirm`}
      >
        {props.confirmLabel}
      </button>
      <button type="button" className="secondary" onClick={() => setConfirming(false)}>
        {props.abortLabel}
      </button>
    </>
  );
}
