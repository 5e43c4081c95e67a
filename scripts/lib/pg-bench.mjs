// PostgreSQL for the benchmark scripts: where the server is, and a schema of the run's own.
import { readFile } from 'node:fs/promises';
import pg from 'pg';

/** SUANLI_TEST_PG_URL, or the URL `bash scripts/pg-ci.sh up` wrote; null when neither is there. */
export async function pgUrl() {
  if (process.env.SUANLI_TEST_PG_URL) return process.env.SUANLI_TEST_PG_URL;
  try {
    return (await readFile('/run/suanli-pg/url', 'utf8')).trim();
  } catch {
    return null;
  }
}

/**
 * A fresh schema `<prefix>_<pid>` (reached through search_path in the returned URL), so earlier
 * data does not skew the run; `drop()` removes it afterwards.
 */
export async function freshPgSchema(url, prefix) {
  const name = `${prefix}_${process.pid}`;
  const run = async (sql) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await run(`DROP SCHEMA IF EXISTS ${name} CASCADE; CREATE SCHEMA ${name}`);
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${name}`);
  return { url: u.toString(), drop: () => run(`DROP SCHEMA IF EXISTS ${name} CASCADE`) };
}
