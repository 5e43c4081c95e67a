/**
 * Serves the built console (dist/console: index.html + hashed assets) from a Fastify instance.
 *
 * - Files under /assets/ are immutable (content-hashed names) and cached for a year.
 * - Any other GET that accepts text/html and is not under /api/ or /healthz gets index.html
 *   (the console routes on the client: /jobs/j-…, /nodes, …). Everything else falls through to the
 *   instance's own not-found handler, so API 404s keep their coded error body.
 * - `proxyApiTo` forwards /api/* and /healthz to a suanli server elsewhere: for serving the console
 *   on its own (tests, a separate front end). Leave it out when the API routes live on `app`.
 *
 * Register it before `listen()`. The console needs no authentication to be fetched (it holds no
 * data); every API call it makes carries the user's token.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface ConsoleOptions {
  /** The built console (folder with index.html). Default: this package's dist/console. */
  readonly root?: string;
  /** Base URL of a suanli server to forward /api/* and /healthz to, e.g. http://127.0.0.1:8470. */
  readonly proxyApiTo?: string;
}

/** Where `npm run build -w packages/web` puts the console. */
export function defaultConsoleRoot(): string {
  return fileURLToPath(new URL('./console/', import.meta.url));
}

/**
 * The page may load scripts, styles, images and data only from its own origin; inline styles are
 * allowed because ECharts and React set element styles. No framing (clickjacking).
 */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const PROXY_TIMEOUT_MS = 60_000;
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
]);

function wantsHtml(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  return accept.includes('text/html');
}

function isApiPath(url: string): boolean {
  return (
    url === '/api' ||
    url.startsWith('/api/') ||
    url.startsWith('/api?') ||
    url === '/healthz' ||
    url.startsWith('/healthz?') ||
    url === '/metrics'
  );
}

export async function registerConsole(app: FastifyInstance, opts: ConsoleOptions = {}): Promise<void> {
  const root = resolve(opts.root ?? defaultConsoleRoot());
  const indexFile = join(root, 'index.html');
  if (!existsSync(indexFile))
    throw new Error(`the console is not built: ${indexFile} is missing (run: npm run build -w packages/web)`);
  // Read once: the build is immutable while the server runs.
  const indexHtml = readFileSync(indexFile, 'utf8');

  const sendIndex = (reply: FastifyReply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(indexHtml);

  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false, // one route per built file, found at start; unknown paths reach our fallback
    index: false,
    serveDotFiles: false,
    cacheControl: false, // set below: immutable for hashed assets, revalidate for the rest
    setHeaders(res, path) {
      res.setHeader('x-content-type-options', 'nosniff');
      if (path.startsWith(join(root, 'assets') + sep))
        res.setHeader('cache-control', 'public, max-age=31536000, immutable');
      else res.setHeader('cache-control', 'no-cache');
    },
  });

  if (opts.proxyApiTo) {
    const upstream = new URL(opts.proxyApiTo);
    const forward = (req: FastifyRequest, reply: FastifyReply) =>
      new Promise<void>((done) => {
        const headers: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(req.headers as IncomingHttpHeaders))
          if (v !== undefined && !HOP_BY_HOP.has(k)) headers[k] = v;
        const body =
          req.body === undefined
            ? undefined
            : typeof req.body === 'string' || Buffer.isBuffer(req.body)
              ? req.body
              : JSON.stringify(req.body);
        if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
        const out = httpRequest(
          {
            protocol: upstream.protocol,
            hostname: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers,
            timeout: PROXY_TIMEOUT_MS,
          },
          (res) => {
            const h: Record<string, string | string[]> = {};
            for (const [k, v] of Object.entries(res.headers))
              if (v !== undefined && !HOP_BY_HOP.has(k) && k !== 'content-length') h[k] = v;
            void reply
              .status(res.statusCode ?? 502)
              .headers(h)
              .send(res);
            res.on('end', done).on('error', done);
          },
        );
        out.on('timeout', () => out.destroy(new Error('upstream timed out')));
        out.on('error', (err) => {
          if (!reply.sent)
            void reply.status(502).send({
              error: {
                code: 'UPSTREAM_UNREACHABLE',
                message: `the suanli server at ${upstream.origin} did not answer: ${err.message}`,
              },
            });
          done();
        });
        out.end(body);
      });
    // Keep bodies as raw strings so they are forwarded byte for byte (JSON and YAML alike).
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, parsed) => parsed(null, body));
      scope.all('/api/*', forward);
      scope.all('/healthz', forward);
    });
  }

  app.get('/', (_req, reply) => sendIndex(reply));
  app.get('/*', (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    // A missing file (a stale asset name, favicon.ico) is a 404, not the page.
    if (
      isApiPath(req.url) ||
      !wantsHtml(req) ||
      path.startsWith('/assets/') ||
      /\.[A-Za-z0-9]{1,8}$/.test(path)
    )
      return reply.callNotFound();
    return sendIndex(reply);
  });
}
