/**
 * Submit a job as YAML (the same text as a file for `suanli submit`). The server validates it; its
 * field errors (`details[].path`) are shown next to the lines they name, and in a list below.
 */
import { useMemo, useRef, useState, type FormEvent } from 'react';
import { ApiClientError } from '@suanli/client';
import { useI18n, useSession } from '../context.js';
import { errorMessage } from '../api.js';
import { navigate } from '../router.js';
import { ErrorNote } from './common.js';
import { locateErrors, yamlSyntaxError, type LocatedError } from '../../lib/yaml-errors.js';
import { can } from '../../lib/roles.js';

export const EXAMPLE_SPEC = `name: hello
project: default
command: ["sh", "-c", "echo hello from suanli; nvidia-smi -L 2>/dev/null || echo \\"devices: $CUDA_VISIBLE_DEVICES\\"; sleep 5"]
resources:
  accelerators: 1
timeLimit: 10m
`;

const LINE_PX = 20;
const EDITOR_PAD_PX = 6;

function newKey(): string {
  return typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `k-${Date.now()}-${Math.floor(performance.now())}`;
}

export function Submit() {
  const { t } = useI18n();
  const { client, me } = useSession();
  const [text, setText] = useState(EXAMPLE_SPEC);
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<LocatedError[]>([]);
  const [failure, setFailure] = useState<string | null>(null);
  // One idempotency key per text: resubmitting the same text after a lost answer cannot create two jobs.
  const key = useMemo(() => ({ text, key: newKey() }), [text]);
  const area = useRef<HTMLTextAreaElement | null>(null);
  const gutter = useRef<HTMLDivElement | null>(null);
  const [scroll, setScroll] = useState({ top: 0, left: 0 });

  const syntax = useMemo(() => yamlSyntaxError(text), [text]);
  const lines = text.split('\n').length;
  const byLine = new Map<number, LocatedError[]>();
  for (const e of errors) if (e.line !== null) byLine.set(e.line, [...(byLine.get(e.line) ?? []), e]);
  if (syntax)
    byLine.set(syntax.line, [
      ...(byLine.get(syntax.line) ?? []),
      { path: '', message: syntax.message, line: syntax.line },
    ]);

  if (!can(me.role, 'job.submit'))
    return (
      <section>
        <h1>{t('submit.title')}</h1>
        <p role="alert">{t('submit.forbidden')}</p>
      </section>
    );

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErrors([]);
    setFailure(null);
    try {
      const job = await client.submitJob(undefined, { yaml: text, idempotencyKey: key.key });
      navigate(`/jobs/${job.id}`);
    } catch (err) {
      if (err instanceof ApiClientError && err.details.length > 0)
        setErrors([...locateErrors(text, err.details)].sort((a, b) => (a.line ?? 0) - (b.line ?? 0)));
      else setFailure(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  const goToLine = (line: number) => {
    const el = area.current;
    if (!el) return;
    const starts = text
      .split('\n')
      .slice(0, line - 1)
      .reduce((n, l) => n + l.length + 1, 0);
    el.focus();
    el.setSelectionRange(starts, starts + (text.split('\n')[line - 1]?.length ?? 0));
    el.scrollTop = Math.max(0, (line - 3) * LINE_PX);
  };

  const describedBy = ['spec-help', errors.length || syntax ? 'spec-errors' : ''].filter(Boolean).join(' ');

  return (
    <section aria-labelledby="submit-title">
      <h1 id="submit-title">{t('submit.title')}</h1>
      <form onSubmit={(e) => void submit(e)} className="submit-form">
        <label htmlFor="spec">{t('submit.editor')}</label>
        <p id="spec-help" className="muted small">
          {t('submit.help')}
        </p>
        <div className="editor">
          <div className="gutter" ref={gutter} aria-hidden="true">
            {Array.from({ length: lines }, (_, i) => {
              const errs = byLine.get(i + 1);
              return (
                <div
                  key={i}
                  className={errs ? 'gutter-line has-error' : 'gutter-line'}
                  title={errs?.map((x) => `${x.path} ${x.message}`).join('\n')}
                  style={{ height: LINE_PX }}
                >
                  {errs ? '● ' : ''}
                  {i + 1}
                </div>
              );
            })}
          </div>
          <textarea
            id="spec"
            ref={area}
            value={text}
            spellCheck={false}
            autoCapitalize="off"
            autoCorrect="off"
            wrap="off"
            rows={Math.max(12, Math.min(30, lines + 2))}
            onChange={(e) => {
              setText(e.target.value);
              setErrors([]);
            }}
            onScroll={(e) => {
              if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
              setScroll({ top: e.currentTarget.scrollTop, left: e.currentTarget.scrollLeft });
            }}
            aria-invalid={errors.length > 0 || syntax !== null ? true : undefined}
            aria-describedby={describedBy}
            data-testid="spec"
            style={{ lineHeight: `${LINE_PX}px` }}
          />
          {/* The server's messages beside the lines they name (the list below carries them for screen readers). */}
          <div className="inline-errors" aria-hidden="true">
            {[...byLine.entries()].map(([line, errs]) => {
              const top = EDITOR_PAD_PX + (line - 1) * LINE_PX - scroll.top;
              return top < -LINE_PX ? null : (
                <div key={line} className="inline-error" style={{ top }} data-inline-line={line}>
                  {errs
                    .map((x) => `${x.path ? x.path.split('.').slice(-1)[0] + ': ' : ''}${x.message}`)
                    .join(' · ')}
                </div>
              );
            })}
          </div>
        </div>
        {errors.length > 0 || syntax ? (
          <div id="spec-errors" className="field-errors" role="alert" data-testid="spec-errors">
            {errors.length > 0 ? <p>{t('submit.errors')}:</p> : null}
            <ul>
              {syntax ? (
                <li>
                  <button type="button" className="linklike" onClick={() => goToLine(syntax.line)}>
                    {t('submit.syntax', { line: syntax.line, message: syntax.message })}
                  </button>
                </li>
              ) : null}
              {errors.map((e, i) => (
                <li key={i} data-line={e.line ?? ''} data-path={e.path}>
                  {e.line !== null ? (
                    <button type="button" className="linklike" onClick={() => goToLine(e.line ?? 1)}>
                      {t('submit.lineError', { line: e.line, path: e.path, message: e.message })}
                    </button>
                  ) : (
                    t('submit.specError', { path: e.path || '(spec)', message: e.message })
                  )}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
        {failure ? <ErrorNote error={failure} /> : null}
        <button type="submit" disabled={busy || syntax !== null} data-testid="submit">
          {busy ? t('submit.submitting') : t('submit.submit')}
        </button>
      </form>
    </section>
  );
}
