/// <reference types="node" />
/**
 * The slurmrestd client's HTTP behaviour against a loopback server of the test's own: a kept-alive
 * socket that the server resets is retried once on a new socket; a reset of a fresh socket is an
 * error, not a retry loop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SlurmApiError, SlurmRestClient } from './client.js';

/** A server that answers `{}` but resets (RST) the sockets `reset` picks, on their n-th request. */
async function server(reset: (socketRequests: number, socketIndex: number) => boolean) {
  const sockets = new Map<Socket, number>();
  let answered = 0;
  const s = http.createServer((req, res) => {
    const n = (sockets.get(req.socket) ?? 0) + 1;
    sockets.set(req.socket, n);
    if (reset(n, [...sockets.keys()].indexOf(req.socket))) {
      req.socket.resetAndDestroy();
      return;
    }
    answered++;
    res.setHeader('Content-Type', 'application/json');
    res.end('{"errors":[]}');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    sockets: () => sockets.size,
    answered: () => answered,
    close: () => new Promise((r) => s.close(r)),
  };
}

const client = (url: string) =>
  new SlurmRestClient({ url, auth: { kind: 'token', user: 'u', token: 't' }, requestTimeoutMs: 5_000 });

void test('a kept-alive socket reset by slurmrestd is retried once on a new socket', async () => {
  // the first socket is reset on its second request (what an idle timeout on the server side does)
  const srv = await server((n, i) => i === 0 && n === 2);
  const c = client(srv.url);
  try {
    await c.request('GET', '/ping');
    await c.request('POST', '/job/submit', { job: { name: 'x' } });
    assert.equal(srv.answered(), 2, 'each request answered once');
    assert.equal(srv.sockets(), 2, 'the retry went over a new socket');
  } finally {
    c.close();
    await srv.close();
  }
});

void test('a reset of a fresh socket is reported, not retried', async () => {
  const srv = await server(() => true);
  const c = client(srv.url);
  try {
    await assert.rejects(
      c.request('GET', '/ping'),
      (e: unknown) => e instanceof SlurmApiError && /cannot reach slurmrestd/.test(e.message),
    );
    assert.equal(srv.sockets(), 1);
  } finally {
    c.close();
    await srv.close();
  }
});
