/**
 * Tenants, quotas and usage: the scheduling policy's tenants with their quotas and what they run
 * now (GET /api/v1/tenants), metered usage per month (GET /api/v1/usage, CSV download) and monthly
 * budgets (GET /api/v1/budgets). Each section appears only when the server offers its API.
 */
import { useMemo, useState } from 'react';
import type { TenantQuotaView } from '@suanli/client';
import type { UsageRow } from '@suanli/client';
import { useI18n, useSession } from '../context.js';
import { usePoll } from '../poll.js';
import { errorMessage, listBudgets, usageCsv, usageReport } from '../api.js';
import { Link } from '../router.js';
import { ErrorNote } from './common.js';
import { NotAvailable, useCapability } from './Unavailable.js';
import { formatHours, monthWindow, utcMonth } from '../../lib/format.js';
import type { MessageKey } from '../../lib/i18n.js';

const GROUPS = ['tenant', 'project', 'type', 'job'] as const;
type Group = (typeof GROUPS)[number];
const POLL_MS = 30_000;

export function Usage() {
  const { t } = useI18n();
  const tenants = useCapability('tenants');
  const usage = useCapability('usage');
  const budgets = useCapability('budgets');
  return (
    <section aria-labelledby="usage-title">
      <h1 id="usage-title">{t('usage.title')}</h1>
      {tenants === null || usage === null || budgets === null ? (
        <p className="muted">{t('common.loading')}</p>
      ) : !tenants && !usage && !budgets ? (
        <NotAvailable which="usage" capability="usage.capability" />
      ) : (
        <>
          {tenants ? <Quotas /> : <Missing title="usage.quotas" path="/api/v1/tenants" />}
          {usage ? <Report /> : <Missing title="usage.report" path="/api/v1/usage" />}
          {budgets ? <Budgets /> : <Missing title="usage.budgets" path="/api/v1/budgets" />}
        </>
      )}
    </section>
  );
}

function Missing({ title, path }: { title: MessageKey; path: string }) {
  const { t } = useI18n();
  return (
    <section className="card notice" role="status">
      <h2>{t(title)}</h2>
      <p>{t('usage.sectionUnavailable', { path })}</p>
    </section>
  );
}

function perType(rec: Record<string, number>): string {
  const e = Object.entries(rec);
  return e.length ? e.map(([k, v]) => `${k}: ${v}`).join(', ') : '—';
}

function Quotas() {
  const { t } = useI18n();
  const { client } = useSession();
  const poll = usePoll(() => client.listTenants(), POLL_MS, [client]);
  const rows: TenantQuotaView[] = poll.data?.tenants ?? [];
  const limit = (n: number | null) => (n === null ? t('usage.unlimited') : String(n));
  return (
    <section className="card" aria-labelledby="quotas-title" data-testid="quotas">
      <h2 id="quotas-title">{t('usage.quotas')}</h2>
      {poll.error ? <ErrorNote error={errorMessage(poll.error)} /> : null}
      {!poll.data ? (
        <p className="muted">{t('common.loading')}</p>
      ) : rows.length === 0 ? (
        <p className="muted">{t('usage.noTenants')}</p>
      ) : (
        <div className="table-scroll">
          <table className="table compact">
            <thead>
              <tr>
                <th scope="col">{t('usage.col.tenant')}</th>
                <th scope="col" className="num">
                  {t('usage.col.weight')}
                </th>
                <th scope="col">{t('usage.col.cohort')}</th>
                <th scope="col">{t('usage.col.quota')}</th>
                <th scope="col">{t('usage.col.running')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.name}>
                  <td>{r.name}</td>
                  <td className="num">{r.weight}</td>
                  <td>{r.cohort ?? '—'}</td>
                  <td>
                    {Object.entries(r.quotas).length
                      ? Object.entries(r.quotas).map(([type, q]) => (
                          <div key={type}>
                            <span className="mono">{type}</span>: {q.guaranteed} / {limit(q.borrowingLimit)} /{' '}
                            {limit(q.lendingLimit)}
                          </div>
                        ))
                      : '—'}
                  </td>
                  <td>{perType(r.running)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Report() {
  const { t } = useI18n();
  const { baseUrl, token, fetch } = useSession();
  const [month, setMonth] = useState(() => utcMonth(Date.now()));
  const [group, setGroup] = useState<Group>('project');
  const win = monthWindow(month);
  const poll = usePoll(
    () =>
      usageReport(baseUrl, token, { groupBy: group, ...(win ? { from: win.from, to: win.to } : {}) }, fetch),
    POLL_MS,
    [baseUrl, token, group, month],
  );
  const report = poll.data;
  const max = useMemo(() => Math.max(0, ...(report?.rows ?? []).map((r) => r.acceleratorHours)), [report]);
  const [csvError, setCsvError] = useState<string | null>(null);

  const download = async () => {
    setCsvError(null);
    try {
      const text = await usageCsv(
        baseUrl,
        token,
        { groupBy: group, ...(win ? { from: win.from, to: win.to } : {}) },
        fetch,
      );
      const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `suanli-usage-${month}-${group}.csv`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setCsvError(errorMessage(err));
    }
  };

  const label = (r: UsageRow) => {
    switch (group) {
      case 'tenant':
        return r.tenant ?? '—';
      case 'project':
        return `${r.tenant ?? '—'}/${r.project ?? '—'}`;
      case 'type':
        return r.acceleratorType ?? '—';
      case 'job':
        return r.jobId ? <Link href={`/jobs/${r.jobId}`}>{r.jobId}</Link> : '—';
    }
  };

  return (
    <section className="card" aria-labelledby="report-title" data-testid="usage-report">
      <div className="row-between">
        <h2 id="report-title">{t('usage.report')}</h2>
        <div className="inline-controls">
          <label>
            {t('usage.month')}{' '}
            <input
              type="month"
              value={month}
              onChange={(e) => e.target.value && setMonth(e.target.value)}
              data-testid="usage-month"
            />
          </label>
          <label>
            {t('usage.groupBy')}{' '}
            <select
              value={group}
              onChange={(e) => setGroup(e.target.value as Group)}
              data-testid="usage-group"
            >
              {GROUPS.map((g) => (
                <option key={g} value={g}>
                  {t(`usage.group.${g}` as MessageKey)}
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="secondary" onClick={() => void download()}>
            {t('usage.csv')}
          </button>
        </div>
      </div>
      <p className="muted small">{t('usage.intro')}</p>
      {report ? (
        <p className="muted small">
          {t('usage.window', { from: report.from.slice(0, 10), to: report.to.slice(0, 10) })}
        </p>
      ) : null}
      {poll.error ? <ErrorNote error={errorMessage(poll.error)} /> : null}
      {csvError ? <ErrorNote error={csvError} /> : null}
      {!report ? (
        <p className="muted">{t('common.loading')}</p>
      ) : report.rows.length === 0 ? (
        <p className="muted">{t('usage.empty')}</p>
      ) : (
        <div className="table-scroll">
          <table className="table compact" aria-labelledby="report-title">
            <thead>
              <tr>
                <th scope="col">{t(`usage.group.${group}` as MessageKey)}</th>
                <th scope="col" className="num">
                  {t('usage.col.attempts')}
                </th>
                <th scope="col" className="num">
                  {t('usage.col.accHours')}
                </th>
                <th scope="col" className="num">
                  {t('usage.col.cpuHours')}
                </th>
                <th scope="col" className="num">
                  {t('usage.col.memHours')}
                </th>
              </tr>
            </thead>
            <tbody>
              {report.rows.map((r, i) => (
                <tr key={i} data-usage-row={group === 'project' ? `${r.tenant}/${r.project}` : undefined}>
                  <td>{label(r)}</td>
                  <td className="num">{r.attempts}</td>
                  <td className="num" title={`${Math.round(r.acceleratorSeconds)} s`}>
                    <span
                      className="bar"
                      style={{ width: `${max > 0 ? Math.round((r.acceleratorHours / max) * 60) : 0}px` }}
                      aria-hidden="true"
                    />
                    {formatHours(r.acceleratorHours)}
                  </td>
                  <td className="num">{formatHours(r.cpuMilliSeconds / 1000 / 3600)}</td>
                  <td className="num">{formatHours(r.memoryMiBSeconds / 1024 / 3600)}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row">{t('usage.total')}</th>
                <td className="num">{report.total.attempts}</td>
                <td className="num">{formatHours(report.total.acceleratorHours)}</td>
                <td className="num">{formatHours(report.total.cpuMilliSeconds / 1000 / 3600)}</td>
                <td className="num">{formatHours(report.total.memoryMiBSeconds / 1024 / 3600)}</td>
              </tr>
            </tfoot>
          </table>
        </div>
      )}
    </section>
  );
}

function Budgets() {
  const { t } = useI18n();
  const { baseUrl, token, fetch } = useSession();
  const poll = usePoll(() => listBudgets(baseUrl, token, fetch), POLL_MS, [baseUrl, token]);
  const rows = poll.data?.budgets ?? [];
  return (
    <section className="card" aria-labelledby="budgets-title" data-testid="budgets">
      <h2 id="budgets-title">{t('usage.budgets')}</h2>
      {poll.error ? <ErrorNote error={errorMessage(poll.error)} /> : null}
      {!poll.data ? (
        <p className="muted">{t('common.loading')}</p>
      ) : rows.length === 0 ? (
        <p className="muted">{t('usage.noBudgets')}</p>
      ) : (
        <div className="table-scroll">
          <table className="table compact">
            <thead>
              <tr>
                <th scope="col">{t('usage.col.scope')}</th>
                <th scope="col" className="num">
                  {t('usage.col.budget')}
                </th>
                <th scope="col" className="num">
                  {t('usage.col.used')}
                </th>
                <th scope="col" className="num">
                  {t('usage.col.reserved')}
                </th>
                <th scope="col">{t('overview.utilisation')}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((b) => {
                const scope = b.project ? `${b.tenant}/${b.project}` : b.tenant;
                return (
                  <tr key={scope}>
                    <td>{scope}</td>
                    <td className="num">{formatHours(b.acceleratorHours)}</td>
                    <td className="num">{formatHours(b.usedHours)}</td>
                    <td className="num">{formatHours(b.reservedHours)}</td>
                    <td>
                      <meter
                        min={0}
                        max={Math.max(b.acceleratorHours, 1e-9)}
                        value={b.usedHours + b.reservedHours}
                        high={b.acceleratorHours * 0.9}
                        aria-label={`${scope}: ${formatHours(b.usedHours + b.reservedHours)} / ${formatHours(b.acceleratorHours)}`}
                      />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
