/** Nodes and their accelerators (model, memory, declared, health, holder); drain/undrain for operators. */
import { useState } from 'react';
import type { NodeView, SuanliClient } from '@suanli/client';
import { useI18n, useSession } from '../context.js';
import { usePoll } from '../poll.js';
import { errorMessage } from '../api.js';
import { Link } from '../router.js';
import { ErrorNote, Updated } from './common.js';
import { can } from '../../lib/roles.js';
import { formatMiB, formatTime } from '../../lib/format.js';

const POLL_MS = 5000;

export function Nodes() {
  const { t } = useI18n();
  const { client, me } = useSession();
  const poll = usePoll(() => client.listNodes(), POLL_MS, [client]);
  const nodes = poll.data?.nodes;
  const fence = poll.data?.confinement;
  return (
    <section aria-labelledby="nodes-title">
      <h1 id="nodes-title">{t('nodes.title')}</h1>
      <Updated at={poll.updatedAt} liveSeconds={POLL_MS / 1000} />
      {fence ? (
        <p
          className={fence.confined ? 'confinement' : 'confinement warn-note'}
          data-testid="confinement"
          data-confined={fence.confined ? 'yes' : 'no'}
        >
          {t(fence.confined ? 'nodes.confined' : 'nodes.notConfined', { detail: fence.detail })}
        </p>
      ) : null}
      {poll.error ? <ErrorNote error={errorMessage(poll.error)} /> : null}
      {!nodes ? (
        <p className="muted" role="status">
          {t('common.loading')}
        </p>
      ) : nodes.length === 0 ? (
        <p className="muted">{t('overview.noNodes')}</p>
      ) : (
        nodes.map((n) => (
          <NodeCard
            key={n.name}
            node={n}
            client={client}
            mayDrain={can(me.role, 'node.drain')}
            onChanged={poll.refresh}
          />
        ))
      )}
    </section>
  );
}

function NodeCard({
  node: n,
  client,
  mayDrain,
  onChanged,
}: {
  node: NodeView;
  client: SuanliClient;
  mayDrain: boolean;
  onChanged: () => void;
}) {
  const { t, lang } = useI18n();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Drained by an operator or by a failed health check (adminState unhealthy): either way undrain returns it.
  const draining = n.adminState !== null || n.state === 'draining';
  const byHealth = n.adminReason?.startsWith('health: ') ?? false;
  const act = async () => {
    setBusy(true);
    setError(null);
    try {
      if (draining) await client.undrainNode(n.name);
      else await client.drainNode(n.name, reason.trim() || undefined);
      setReason('');
      onChanged();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const titleId = `node-${n.name}`;
  return (
    <section className="card node" aria-labelledby={titleId} data-node={n.name}>
      <div className="row-between">
        <h2 id={titleId}>
          {n.name} <span className={`badge node-${n.state}`}>{n.state}</span>
        </h2>
        {mayDrain ? (
          <form
            className="inline-controls"
            onSubmit={(e) => {
              e.preventDefault();
              void act();
            }}
          >
            {!draining ? (
              <label>
                <span className="sr-only">{t('nodes.drainReason', { node: n.name })}</span>
                <input
                  type="text"
                  placeholder={t('nodes.reason')}
                  aria-label={t('nodes.drainReason', { node: n.name })}
                  value={reason}
                  maxLength={500}
                  onChange={(e) => setReason(e.target.value)}
                />
              </label>
            ) : null}
            <button
              type="submit"
              className={draining ? 'secondary' : 'warn'}
              disabled={busy}
              title={draining ? undefined : t('nodes.drainHint')}
              data-testid={draining ? 'undrain' : 'drain'}
            >
              {draining ? t('nodes.undrain') : t('nodes.drain')}
            </button>
          </form>
        ) : null}
      </div>
      {error ? <ErrorNote error={error} /> : null}
      {byHealth && n.adminState !== null ? (
        <p className="warn-note" data-testid="health-drained">
          {t('nodes.healthDrained')}
        </p>
      ) : null}
      <dl className="facts inline">
        {n.adminReason ? (
          <>
            <dt>{t('nodes.reason')}</dt>
            <dd>{n.adminReason}</dd>
          </>
        ) : null}
        <dt>{t('nodes.health')}</dt>
        <dd data-testid="node-health" data-health={n.health.state}>
          <span
            className={
              n.health.state === 'failing' ? 'badge bad' : n.health.state === 'healthy' ? 'badge ok' : 'badge'
            }
          >
            {n.health.state === 'failing'
              ? t('nodes.health.failing', { reason: n.health.reason ?? '' })
              : t(`nodes.health.${n.health.state}`)}
          </span>
          {n.health.drains > 0 ? (
            <span className="muted"> · {t('nodes.health.drains', { n: n.health.drains })}</span>
          ) : null}
        </dd>
        <dt>{t('nodes.cpu')}</dt>
        <dd>{n.cpuMillis / 1000}</dd>
        <dt>{t('nodes.memory')}</dt>
        <dd>{formatMiB(n.memoryMiB)}</dd>
        <dt>{t('nodes.topology')}</dt>
        <dd className="mono">
          {Object.entries(n.topology)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ') || '—'}
        </dd>
        <dt>{t('nodes.updated')}</dt>
        <dd>{formatTime(n.updatedAt, lang)}</dd>
      </dl>
      <div className="table-scroll">
        <table className="table compact" aria-label={t('nodes.acc.table', { node: n.name })}>
          <thead>
            <tr>
              <th scope="col">{t('nodes.acc.index')}</th>
              <th scope="col">{t('nodes.acc.id')}</th>
              <th scope="col">{t('nodes.acc.type')}</th>
              <th scope="col">{t('nodes.acc.model')}</th>
              <th scope="col">{t('nodes.acc.memory')}</th>
              <th scope="col">{t('nodes.acc.declared')}</th>
              <th scope="col">{t('nodes.acc.healthy')}</th>
              <th scope="col">{t('nodes.acc.heldBy')}</th>
            </tr>
          </thead>
          <tbody>
            {n.accelerators.map((a) => (
              <tr key={a.id} data-accelerator={a.id}>
                <td>{a.index}</td>
                <td className="mono">{a.id}</td>
                <td>{a.type}</td>
                <td>{a.model ?? '—'}</td>
                <td>{formatMiB(a.memoryMiB)}</td>
                <td
                  title={
                    a.declared ? t('nodes.acc.declaredYes') : t('nodes.acc.declaredNo', { source: a.source })
                  }
                >
                  {a.declared ? t('common.yes') : t('common.no')}
                </td>
                <td>
                  <span className={a.healthy ? 'badge ok' : 'badge bad'}>
                    {a.healthy ? t('common.yes') : t('common.no')}
                  </span>
                </td>
                <td className="mono">
                  {a.allocatedTo ? (
                    <Link href={`/jobs/${a.allocatedTo}`}>{a.allocatedTo}</Link>
                  ) : (
                    <span className="muted">{t('nodes.acc.free')}</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
