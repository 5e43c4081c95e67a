/**
 * Where the CLI finds its server and credentials, in order: `SUANLI_URL` / `SUANLI_TOKEN`; the
 * token saved by `suanli login` in the user's config directory; the admin token of a local data
 * directory (`./.suanli/admin-token`), so `npm start` + `npx suanli …` work with no setup.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_URL = 'http://127.0.0.1:8470';

export function configDir(): string {
  return process.env['XDG_CONFIG_HOME']
    ? join(process.env['XDG_CONFIG_HOME'], 'suanli')
    : join(homedir(), '.config', 'suanli');
}

function readTrimmed(path: string): string | undefined {
  try {
    const s = readFileSync(path, 'utf8').trim();
    return s.length > 0 ? s : undefined;
  } catch {
    return undefined;
  }
}

export function resolveConnection(): { url: string; token: string | undefined } {
  const url = process.env['SUANLI_URL'] || readTrimmed(join(configDir(), 'url')) || DEFAULT_URL;
  const token =
    process.env['SUANLI_TOKEN'] ||
    readTrimmed(join(configDir(), 'token')) ||
    readTrimmed(join(process.env['SUANLI_DATA_DIR'] ?? '.suanli', 'admin-token'));
  return { url, token };
}
