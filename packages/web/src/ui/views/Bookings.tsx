/**
 * Bookings (算力预约): a calendar of the bookings and maintenance windows that hold capacity over
 * the next 14 days, per accelerator type, with what the inventory leaves unbooked; a form to book
 * (the server's refusals — BOOKING_NO_CAPACITY etc. — shown inline with their reason); the list
 * with cancel (writers, own tenant) and approve / reject (operators); "when can I get N for D
 * hours?" (GET /api/v1/capacity). Everything shown comes from the API; nothing is estimated here.
 */
import { useMemo, useState, type FormEvent } from 'react';
import {
  ApiClientError,
  type BookingCreate,
  type BookingView,
  type CapacityAnswerView,
} from '@suanli/client';
import { useI18n, useSession } from '../context.js';
import { usePoll } from '../poll.js';
import { errorMessage } from '../api.js';
import { ConfirmAction, ErrorNote, Field, Updated } from './common.js';
import { NotAvailable, useCapability } from './Unavailable.js';
import { can } from '../../lib/roles.js';
import { formatTime } from '../../lib/format.js';
import {
  buildCalendar,
  HOLDING_STATES,
  inventoryByType,
  localDayStarts,
  type CalendarBar,
} from '../../lib/bookings.js';
import type { MessageKey } from '../../lib/i18n.js';

const POLL_MS = 10_000;
const DAYS = 14;
const REPEATS = ['daily', 'weekdays', 'weekly'] as const;
const KNOWN_CODES = ['BOOKING_NO_CAPACITY', 'BOOKING_QUOTA_EXCEEDED', 'BUDGET_EXCEEDED', 'BOOKING_INVALID'];

export function Bookings() {
  const { t } = useI18n();
  const present = useCapability('bookings');
  return (
    <section aria-labelledby="bookings-title">
      <h1 id="bookings-title">{t('bookings.title')}</h1>
      {present === null ? (
        <p className="muted">{t('common.loading')}</p>
      ) : present ? (
        <BookingsView />
      ) : (
        <NotAvailable which="bookings" capability="bookings.capability" />
      )}
    </section>
  );
}

function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

function BookingsView() {
  const { t } = useI18n();
  const { client, me } = useSession();
  const poll = usePoll(
    async () => {
      const [b, n] = await Promise.all([client.listBookings(), client.listNodes()]);
      return { bookings: b.bookings, nodes: n.nodes };
    },
    POLL_MS,
    [client],
  );
  const data = poll.data;
  const inventory = useMemo(() => inventoryByType(data?.nodes ?? []), [data]);
  const types = useMemo(() => {
    const s = new Set(inventory.keys());
    for (const b of data?.bookings ?? []) s.add(b.acceleratorType);
    return [...s].sort();
  }, [inventory, data]);
  const mayBook = can(me.role, 'job.submit');
  return (
    <>
      <Updated at={poll.updatedAt} liveSeconds={POLL_MS / 1000} />
      {poll.error ? <ErrorNote error={errorMessage(poll.error)} /> : null}
      {!data ? (
        <p className="muted" role="status">
          {t('common.loading')}
        </p>
      ) : (
        <>
          <Calendar bookings={data.bookings} inventory={inventory} />
          <div className="grid2">
            {mayBook ? (
              <BookForm types={types} onBooked={poll.refresh} />
            ) : (
              <section className="card" aria-labelledby="book-title">
                <h2 id="book-title">{t('bookings.form.title')}</h2>
                <p className="muted">{t('bookings.form.forbidden')}</p>
              </section>
            )}
            <CapacityQuery types={types} />
          </div>
          <BookingList bookings={data.bookings} onChanged={poll.refresh} />
        </>
      )}
    </>
  );
}

function lanes(bars: readonly CalendarBar[]): { bar: CalendarBar; lane: number }[] {
  const ends: number[] = [];
  return bars.map((bar) => {
    let lane = ends.findIndex((e) => e <= bar.start);
    if (lane < 0) {
      lane = ends.length;
      ends.push(bar.end);
    } else ends[lane] = bar.end;
    return { bar, lane };
  });
}

function Calendar({
  bookings,
  inventory,
}: {
  bookings: readonly BookingView[];
  inventory: ReadonlyMap<string, number>;
}) {
  const { t, lang } = useI18n();
  // The period starts at today's local midnight; re-derived whenever the data is re-read.
  const dayStarts = useMemo(() => localDayStarts(Date.now(), DAYS), [bookings]);
  const rows = useMemo(() => buildCalendar(bookings, inventory, dayStarts), [bookings, inventory, dayStarts]);
  const dayLabel = (ms: number) =>
    new Date(ms).toLocaleDateString(lang === 'zh-CN' ? 'zh-CN' : 'en-GB', {
      month: 'numeric',
      day: 'numeric',
      weekday: 'short',
    });
  return (
    <section className="card" aria-labelledby="calendar-title" data-testid="calendar">
      <h2 id="calendar-title">{t('bookings.calendar.title', { days: DAYS })}</h2>
      <p className="muted small">{t('bookings.calendar.hint')}</p>
      {rows.length === 0 ? (
        <p className="muted">{t('bookings.calendar.empty')}</p>
      ) : (
        rows.map((row) => {
          const placed = lanes(row.bars);
          const laneCount = Math.max(1, ...placed.map((p) => p.lane + 1));
          const headId = `cal-${row.type}`;
          return (
            <section key={row.type} className="cal-row" aria-labelledby={headId} data-type={row.type}>
              <h3 id={headId}>
                {row.type}{' '}
                <span className="muted small">
                  {row.total === null
                    ? t('bookings.calendar.notInInventory')
                    : t('bookings.calendar.total', { count: row.total })}
                </span>
              </h3>
              <div className="table-scroll">
                <div className="cal" style={{ ['--days' as string]: String(row.days.length) }}>
                  <div
                    className="cal-days"
                    role="list"
                    aria-label={t('bookings.calendar.daysLabel', { type: row.type })}
                  >
                    {row.days.map((d) => (
                      <div
                        key={d.start}
                        role="listitem"
                        className={`cal-day${d.maxHeld > 0 ? ' held' : ''}${row.total !== null && d.minUnbooked === 0 && d.maxHeld > 0 ? ' full' : ''}`}
                        data-day={new Date(d.start).toISOString()}
                        title={t('bookings.calendar.dayTitle', {
                          held: d.maxHeld,
                          unbooked: row.total === null ? '—' : d.minUnbooked,
                        })}
                      >
                        <span className="cal-date">{dayLabel(d.start)}</span>
                        <span className="cal-free" data-testid="cal-unbooked">
                          {row.total === null ? '—' : d.minUnbooked}
                        </span>
                      </div>
                    ))}
                  </div>
                  <ul
                    className="cal-track plain"
                    style={{ height: `${laneCount * 26 + 4}px` }}
                    aria-label={t('bookings.calendar.windowsLabel', { type: row.type })}
                  >
                    {placed.map(({ bar, lane }) => {
                      const label = t(
                        bar.kind === 'maintenance' ? 'bookings.bar.maintenance' : 'bookings.bar.booking',
                        {
                          id: bar.id,
                          count: bar.accelerators,
                          tenant: `${bar.tenant}/${bar.project}`,
                          state: bar.state,
                          start: formatTime(new Date(bar.start).toISOString(), lang),
                          end: formatTime(new Date(bar.end).toISOString(), lang),
                        },
                      );
                      return (
                        <li
                          key={`${bar.id}-${bar.start}`}
                          className={`cal-bar kind-${bar.kind} bstate-${bar.state}`}
                          style={{
                            left: `${bar.leftPct}%`,
                            width: `${bar.widthPct}%`,
                            top: `${lane * 26 + 2}px`,
                          }}
                          data-booking={bar.id}
                          title={label}
                        >
                          <span className="sr-only">{label}</span>
                          <span aria-hidden="true">
                            {bar.accelerators}×{' '}
                            {bar.kind === 'maintenance' ? t('bookings.kind.maintenance') : bar.tenant}
                          </span>
                        </li>
                      );
                    })}
                  </ul>
                </div>
              </div>
            </section>
          );
        })
      )}
    </section>
  );
}

interface FormError {
  code: string;
  message: string;
  details: readonly { path: string; message: string }[];
}

function toFormError(err: unknown): FormError {
  if (err instanceof ApiClientError) return { code: err.code, message: err.message, details: err.details };
  return { code: 'ERROR', message: errorMessage(err), details: [] };
}

function BookForm({ types, onBooked }: { types: readonly string[]; onBooked: () => void }) {
  const { t } = useI18n();
  const { client, me } = useSession();
  const mayMaintain = can(me.role, 'node.drain');
  const [type, setType] = useState(types[0] ?? '');
  const [count, setCount] = useState('1');
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  const [zone, setZone] = useState(browserZone);
  const [repeat, setRepeat] = useState('');
  const [until, setUntil] = useState('');
  const [project, setProject] = useState('');
  const [maintenance, setMaintenance] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<FormError | null>(null);
  const [done, setDone] = useState<BookingView | null>(null);
  const zones = useMemo(() => {
    try {
      return Intl.supportedValuesOf('timeZone');
    } catch {
      return [];
    }
  }, []);
  const chosenType = type || types[0] || '';
  const invalid = (field: string) =>
    error?.details.some((d) => d.path === field || d.path.startsWith(field + '.'));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    const body: BookingCreate = {
      acceleratorType: chosenType.trim(),
      accelerators: Number(count),
      start,
      end,
      timeZone: zone.trim() || 'UTC',
      ...(repeat ? { repeat: repeat as BookingCreate['repeat'] } : {}),
      ...(repeat && until ? { until } : {}),
      ...(project.trim() ? { project: project.trim() } : {}),
      ...(maintenance ? { kind: 'maintenance' as const } : {}),
    };
    try {
      const b = await client.createBooking(body);
      setDone(b);
      onBooked();
    } catch (err) {
      setError(toFormError(err));
    } finally {
      setBusy(false);
    }
  };

  const codeLabel = (code: string) =>
    KNOWN_CODES.includes(code) ? t(`bookings.code.${code}` as MessageKey) : null;

  return (
    <section className="card" aria-labelledby="book-title">
      <h2 id="book-title">{t('bookings.form.title')}</h2>
      <form className="stack-form" onSubmit={(e) => void submit(e)} data-testid="book-form" noValidate>
        <Field
          label={t('bookings.form.type')}
          list="booking-types"
          required
          value={chosenType}
          onChange={setType}
          invalid={invalid('acceleratorType')}
          testId="book-type"
        />
        <datalist id="booking-types">
          {types.map((x) => (
            <option key={x} value={x} />
          ))}
        </datalist>
        <Field
          label={t('bookings.form.count')}
          type="number"
          min={1}
          step={1}
          required
          value={count}
          onChange={setCount}
          invalid={invalid('accelerators')}
          testId="book-count"
        />
        <Field
          label={t('bookings.form.start')}
          type="datetime-local"
          required
          value={start}
          onChange={setStart}
          invalid={invalid('start')}
          testId="book-start"
        />
        <Field
          label={t('bookings.form.end')}
          type="datetime-local"
          required
          value={end}
          onChange={setEnd}
          invalid={invalid('end')}
          testId="book-end"
        />
        <Field
          label={t('bookings.form.zone')}
          list="booking-zones"
          value={zone}
          onChange={setZone}
          invalid={invalid('timeZone')}
          testId="book-zone"
        />
        <datalist id="booking-zones">
          {zones.map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
        <label>
          {t('bookings.form.repeat')}
          <select value={repeat} onChange={(e) => setRepeat(e.target.value)} data-testid="book-repeat">
            <option value="">{t('bookings.repeat.none')}</option>
            {REPEATS.map((r) => (
              <option key={r} value={r}>
                {t(`bookings.repeat.${r}`)}
              </option>
            ))}
          </select>
        </label>
        {repeat ? (
          <Field
            label={t('bookings.form.until')}
            type="date"
            value={until}
            onChange={setUntil}
            invalid={invalid('until')}
            testId="book-until"
          />
        ) : null}
        <Field
          label={t('bookings.form.project')}
          placeholder="default"
          value={project}
          onChange={setProject}
          invalid={invalid('project')}
          testId="book-project"
        />
        {mayMaintain ? (
          <label className="check">
            <input
              type="checkbox"
              checked={maintenance}
              onChange={(e) => setMaintenance(e.target.checked)}
              data-testid="book-maintenance"
            />
            {t('bookings.form.maintenance')}
          </label>
        ) : null}
        <button type="submit" disabled={busy} data-testid="book-submit">
          {busy ? t('bookings.form.booking') : t('bookings.form.submit')}
        </button>
      </form>
      {error ? (
        <div className="error field-errors" role="alert" data-testid="book-error" data-code={error.code}>
          <p>
            <strong>{codeLabel(error.code) ?? t('bookings.form.refused')}</strong> <code>{error.code}</code>
          </p>
          <p data-testid="book-error-reason">{error.message}</p>
          {error.details.length > 0 ? (
            <ul>
              {error.details.map((d, i) => (
                <li key={i} data-path={d.path}>
                  <code>{d.path}</code> {d.message}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      ) : null}
      {done ? (
        <p role="status" className="ok-note" data-testid="book-done" data-booking={done.id}>
          {t(done.state === 'requested' ? 'bookings.form.requested' : 'bookings.form.accepted', {
            id: done.id,
          })}
          {done.reason ? ` ${done.reason}` : ''}
        </p>
      ) : null}
    </section>
  );
}

function CapacityQuery({ types }: { types: readonly string[] }) {
  const { t, lang } = useI18n();
  const { client } = useSession();
  const [type, setType] = useState('');
  const [count, setCount] = useState('1');
  const [hours, setHours] = useState('1');
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<CapacityAnswerView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const chosenType = type || types[0] || '';
  const ask = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setAnswer(null);
    try {
      setAnswer(
        await client.capacity({
          type: chosenType.trim(),
          accelerators: Number(count),
          durationSeconds: Math.round(Number(hours) * 3600),
        }),
      );
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="capacity-title">
      <h2 id="capacity-title">{t('bookings.capacity.title')}</h2>
      <form className="stack-form" onSubmit={(e) => void ask(e)} data-testid="capacity-form" noValidate>
        <label>
          {t('bookings.form.type')}
          <input
            type="text"
            list="booking-types"
            value={chosenType}
            onChange={(e) => setType(e.target.value)}
            data-testid="capacity-type"
          />
        </label>
        <label>
          {t('bookings.form.count')}
          <input
            type="number"
            min={1}
            step={1}
            value={count}
            onChange={(e) => setCount(e.target.value)}
            data-testid="capacity-count"
          />
        </label>
        <label>
          {t('bookings.capacity.hours')}
          <input
            type="number"
            min={0.25}
            step={0.25}
            value={hours}
            onChange={(e) => setHours(e.target.value)}
            data-testid="capacity-hours"
          />
        </label>
        <button type="submit" disabled={busy} data-testid="capacity-ask">
          {t('bookings.capacity.ask')}
        </button>
      </form>
      {error ? <ErrorNote error={error} /> : null}
      {answer ? (
        <p role="status" data-testid="capacity-answer" data-available={String(answer.available)}>
          {answer.available
            ? t('bookings.capacity.available', {
                count: answer.accelerators,
                type: answer.acceleratorType,
                start: formatTime(answer.start, lang),
                end: formatTime(answer.end, lang),
              })
            : t('bookings.capacity.none', { reason: answer.reason ?? '—' })}
        </p>
      ) : null}
    </section>
  );
}

/** "2026-03-10T09:00:00" → "2026-03-10 09:00" (seconds only when not zero). */
function wallClock(w: string): string {
  return w.replace('T', ' ').replace(/:00$/, '');
}

function BookingList({ bookings, onChanged }: { bookings: readonly BookingView[]; onChanged: () => void }) {
  const { t, lang } = useI18n();
  return (
    <section className="card" aria-labelledby="booking-list-title">
      <h2 id="booking-list-title">{t('bookings.list.title')}</h2>
      {bookings.length === 0 ? (
        <p className="muted">{t('bookings.list.empty')}</p>
      ) : (
        <div className="table-scroll">
          <table className="table compact" aria-labelledby="booking-list-title" data-testid="booking-list">
            <thead>
              <tr>
                <th scope="col">{t('bookings.col.id')}</th>
                <th scope="col">{t('bookings.col.owner')}</th>
                <th scope="col">{t('bookings.col.state')}</th>
                <th scope="col">{t('bookings.col.what')}</th>
                <th scope="col">{t('bookings.col.window')}</th>
                <th scope="col">{t('bookings.col.next')}</th>
                <th scope="col">{t('bookings.col.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {bookings.map((b) => (
                <tr key={b.id} data-booking-row={b.id}>
                  <td className="mono">{b.id}</td>
                  <td>
                    {b.kind === 'maintenance' ? t('bookings.kind.maintenance') : `${b.tenant}/${b.project}`}
                  </td>
                  <td>
                    <span className={`badge bk-${b.state}`} data-state={b.state}>
                      {t(`bookings.state.${b.state}` as MessageKey)}
                    </span>
                    {b.reason ? <div className="muted small">{b.reason}</div> : null}
                  </td>
                  <td>
                    {b.accelerators} × {b.acceleratorType}
                  </td>
                  <td className="wrap-cell">
                    {wallClock(b.start)} – {wallClock(b.end)} ({b.timeZone})
                    {b.repeat ? (
                      <div className="muted small">
                        {t(`bookings.repeat.${b.repeat}` as MessageKey)}
                        {b.until ? ` → ${b.until}` : ''} ·{' '}
                        {t('bookings.col.occurrences', { count: b.occurrences.length })}
                      </div>
                    ) : null}
                  </td>
                  <td className="wrap-cell">
                    {b.nextOccurrence
                      ? `${formatTime(b.nextOccurrence.start, lang)} – ${formatTime(b.nextOccurrence.end, lang)}`
                      : '—'}
                  </td>
                  <td>
                    <Actions booking={b} onChanged={onChanged} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Actions({ booking: b, onChanged }: { booking: BookingView; onChanged: () => void }) {
  const { t } = useI18n();
  const { client, me } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const platform = me.role === 'admin' || me.role === 'operator';
  const open = HOLDING_STATES.has(b.state);
  const mayCancel =
    open &&
    (b.kind === 'maintenance'
      ? can(me.role, 'node.drain')
      : can(me.role, 'job.cancel') && (platform || b.tenant === me.tenant));
  const mayDecide = b.state === 'requested' && can(me.role, 'node.drain');
  const act = async (action: 'cancel' | 'approve' | 'reject') => {
    setBusy(true);
    setError(null);
    try {
      await client.decideBooking(b.id, action);
      onChanged();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  if (!mayCancel && !mayDecide) return <span className="muted">—</span>;
  return (
    <div className="inline-controls">
      {mayDecide ? (
        <>
          <button
            type="button"
            disabled={busy}
            onClick={() => void act('approve')}
            aria-label={t('bookings.approveLabel', { id: b.id })}
            data-testid="booking-approve"
          >
            {t('bookings.approve')}
          </button>
          <button
            type="button"
            className="warn"
            disabled={busy}
            onClick={() => void act('reject')}
            aria-label={t('bookings.rejectLabel', { id: b.id })}
            data-testid="booking-reject"
          >
            {t('bookings.reject')}
          </button>
        </>
      ) : null}
      {mayCancel ? (
        <ConfirmAction
          label={t('bookings.cancel')}
          confirmLabel={t('bookings.cancelConfirm')}
          abortLabel={t('bookings.cancelAbort')}
          testId="booking-cancel"
          busy={busy}
          onConfirm={() => act('cancel')}
          ariaLabel={t('bookings.cancelLabel', { id: b.id })}
          confirmAriaLabel={t('bookings.cancelConfirmLabel', { id: b.id })}
          className="secondary"
        />
      ) : null}
      {error ? <ErrorNote error={error} /> : null}
    </div>
  );
}
