/**
 * The PostgreSQL password without a command line: libpq's conventions, so an operator configures
 * suanli as every other PostgreSQL client. In order: a password in the URL; `PGPASSWORD`; the
 * passfile (`PGPASSFILE`, else `~/.pgpass`). The `pg` driver reads PGPASSWORD itself and reads
 * passfiles only through a deprecated path (to be removed in pg 9), so the passfile is read here.
 *
 * Passfile lines are `hostname:port:database:username:password`; `*` matches anything in the first
 * four fields; `\:` and `\\` escape; `#` starts a comment line; the first matching line wins. As
 * libpq does, a passfile that the group or others may read is ignored (with a warning), since the
 * password in it is then not secret.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface PassfileTarget {
  readonly host: string;
  readonly port: string;
  readonly database: string;
  readonly user: string;
}

/** Splits one passfile line into its five fields, honouring `\:` and `\\`; null when malformed. */
export function parsePassfileLine(line: string): string[] | null {
  const fields: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i]!;
    } else if (c === ':' && fields.length < 4) {
      fields.push(cur);
      cur = '';
    } else cur += c;
  }
  fields.push(cur);
  return fields.length === 5 ? fields : null;
}

/** The password for `target` in the passfile text, or null. */
export function passwordFromPassfileText(text: string, target: PassfileTarget): string | null {
  for (const raw of text.split(/\r?\n/)) {
    if (raw === '' || raw.startsWith('#')) continue;
    const f = parsePassfileLine(raw);
    if (f === null) continue;
    const [host, port, database, user, password] = f as [string, string, string, string, string];
    const want = [target.host, target.port, target.database, target.user];
    if ([host, port, database, user].every((v, i) => v === '*' || v === want[i])) return password;
  }
  return null;
}

/** What the URL leaves out, filled in as libpq does (PGHOST, PGPORT, PGDATABASE, PGUSER, defaults). */
export function passfileTarget(
  connectionString: string,
  env: NodeJS.ProcessEnv = process.env,
): PassfileTarget {
  const url = new URL(connectionString);
  const user = decodeURIComponent(url.username) || env['PGUSER'] || userInfo().username;
  const host = url.hostname || url.searchParams.get('host') || env['PGHOST'] || 'localhost';
  return {
    host: host.replace(/^\[|\]$/g, ''),
    port: url.port || env['PGPORT'] || '5432',
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || env['PGDATABASE'] || user,
    user,
  };
}

/**
 * The password to connect with when the URL has none: PGPASSWORD, else the passfile's matching
 * line, else undefined (the server may not need one). `warn` hears about an ignored passfile.
 */
export function resolvePostgresPassword(
  connectionString: string,
  env: NodeJS.ProcessEnv = process.env,
  warn: (message: string) => void = (m) => process.emitWarning(m),
): string | undefined {
  const url = new URL(connectionString);
  if (url.password !== '') return decodeURIComponent(url.password);
  const fromEnv = env['PGPASSWORD'];
  if (fromEnv !== undefined) return fromEnv;
  const file = env['PGPASSFILE'] || join(env['HOME'] || homedir(), '.pgpass');
  let mode: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) return undefined;
    mode = st.mode;
  } catch {
    return undefined; // no passfile: nothing to read
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    warn(`password file "${file}" is readable by group or others and is ignored; chmod 600 it`);
    return undefined;
  }
  return (
    passwordFromPassfileText(readFileSync(file, 'utf8'), passfileTarget(connectionString, env)) ?? undefined
  );
}
