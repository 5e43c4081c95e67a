/**
 * Identity, audit and metering commands: `suanli login|logout|whoami`, `org`, `project`,
 * `member`, `token`, `audit`, `usage`, `invoice`, `budget`, `price`. Thin: parse → client → print
 * a table, or with --json / --csv / --jsonl the server's document as it is.
 */
import type { Command } from 'commander';
import { mkdir, rm, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { SuanliClient, type MemberView } from '@suanli/client';
import { parseDurationSeconds } from '@suanli/core';
import { configDir, resolveConnection } from '../config.js';
import { memory, table } from '../format.js';

const ROLES = ['admin', 'operator', 'tenant-admin', 'member', 'viewer'] as const;

/** A duration flag ("30d", "12h", "1d12h", "90m" or seconds; the job spec's syntax) → seconds. */
export function durationSeconds(v: string): number {
  const s = parseDurationSeconds(v);
  if (s === null) throw new Error(`"${v}" is not a duration (e.g. 30d, 12h, 1d12h, 90m, 3600)`);
  return s;
}

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

export function registerIdentityCommands(
  program: Command,
  client: () => SuanliClient,
  print: (s: string) => void,
): void {
  const json = (v: unknown) => print(JSON.stringify(v, null, 2));

  program
    .command('login')
    .description(
      'verify a token with the server and save it (and the URL) for later commands, readable by you only',
    )
    .option('--url <url>', 'server URL (default: SUANLI_URL or the saved one)')
    .option(
      '--token <token>',
      'API token (asked for when absent; prefer the prompt: shell history keeps arguments)',
    )
    .action(async (opts: { url?: string; token?: string }) => {
      const url = opts.url ?? resolveConnection().url;
      const token = opts.token ?? (await ask('API token: '));
      if (!token) throw new Error('no token given');
      const who = await new SuanliClient({ url, token }).whoami();
      const dir = configDir();
      await mkdir(dir, { recursive: true, mode: 0o700 });
      for (const [name, value] of [
        ['token', token],
        ['url', url],
      ] as const) {
        const file = join(dir, name);
        await writeFile(file, value + '\n', { mode: 0o600 });
        await chmod(file, 0o600); // an existing file keeps its old mode otherwise
      }
      print(`logged in to ${url} as ${who.subject} (${who.role}, tenant ${who.tenant}); saved in ${dir}`);
    });

  program
    .command('logout')
    .description('forget the saved token')
    .action(async () => {
      await rm(join(configDir(), 'token'), { force: true });
      print('logged out');
    });

  program
    .command('whoami')
    .description('who the current token acts as')
    .option('--json', 'one JSON document')
    .action(async (opts: { json?: boolean }) => {
      const w = await client().whoami();
      if (opts.json) json(w);
      else print(`${w.subject} (${w.role}, tenant ${w.tenant})`);
    });

  // --- orgs, projects, members ---
  const org = program.command('org').description('tenants (organisations)');
  org
    .command('list')
    .option('--json', 'one JSON document')
    .action(async (opts: { json?: boolean }) => {
      const r = await client().listOrgs();
      if (opts.json) return json(r);
      print(
        table(
          ['NAME', 'DISPLAY NAME', 'CREATED'],
          r.tenants.map((t) => [t.name, t.displayName, t.createdAt]),
        ),
      );
    });
  org
    .command('create <name>')
    .option('--display-name <text>', 'human-readable name')
    .action(async (name: string, opts: { displayName?: string }) => {
      const t = await client().createOrg(name, opts.displayName);
      print(`created tenant ${t.name}`);
    });

  const project = program.command('project').description("a tenant's projects");
  project
    .command('list <org>')
    .option('--json', 'one JSON document')
    .action(async (o: string, opts: { json?: boolean }) => {
      const r = await client().listProjects(o);
      if (opts.json) return json(r);
      print(
        table(
          ['TENANT', 'PROJECT', 'CREATED'],
          r.projects.map((p) => [p.tenant, p.name, p.createdAt]),
        ),
      );
    });
  project.command('create <org> <name>').action(async (o: string, name: string) => {
    await client().createProject(o, name);
    print(`created project ${o}/${name}`);
  });

  const member = program.command('member').description("a tenant's members and roles");
  member
    .command('list <org>')
    .option('--json', 'one JSON document')
    .action(async (o: string, opts: { json?: boolean }) => {
      const r = await client().listMembers(o);
      if (opts.json) return json(r);
      print(
        table(
          ['SUBJECT', 'ROLE', 'RUNS AS', 'SINCE'],
          r.members.map((m) => [
            m.subject,
            m.role,
            m.unixUser ?? `${m.runsAs} (tenant account)`,
            m.createdAt,
          ]),
        ),
      );
    });
  member
    .command('set <org> <subject> <role>')
    .description(`add a member or change a role (${ROLES.join(', ')})`)
    .option(
      '--unix-user <name>',
      "operators: run the member's jobs as this existing Unix account ('' returns them to the tenant's account)",
    )
    .option('--no-unix-user', "operators: run the member's jobs as the tenant's account again")
    .action(async (o: string, subject: string, role: string, opts: { unixUser?: string | false }) => {
      if (!(ROLES as readonly string[]).includes(role))
        throw new Error(`role must be one of ${ROLES.join(', ')}`);
      // undefined: leave the mapping as it is; false or '': clear it.
      const unixUser =
        opts.unixUser === undefined
          ? undefined
          : opts.unixUser === false || opts.unixUser === ''
            ? null
            : opts.unixUser;
      const m = await client().setMember(
        o,
        subject,
        role as MemberView['role'],
        unixUser !== undefined ? { unixUser } : {},
      );
      print(
        `${m.subject} is ${m.role} in ${m.tenant}; their jobs run as ${m.unixUser ?? `the tenant's account ${m.runsAs}`}`,
      );
    });
  member.command('remove <org> <subject>').action(async (o: string, subject: string) => {
    await client().removeMember(o, subject);
    print(`removed ${subject} from ${o}; their tokens there no longer work`);
  });

  // --- tokens ---
  const token = program.command('token').description('API tokens');
  token
    .command('list')
    .option('--tenant <tenant>', 'operators: one tenant')
    .option('--json', 'one JSON document')
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      const r = await client().listTokens(opts.tenant);
      if (opts.json) return json(r);
      print(
        table(
          ['ID', 'NAME', 'SUBJECT', 'TENANT', 'EXPIRES', 'REVOKED'],
          r.tokens.map((t) => [t.id, t.name, t.subject, t.tenant, t.expiresAt ?? 'never', t.revokedAt ?? '']),
        ),
      );
    });
  token
    .command('create <name>')
    .description('create a token; its secret is printed this once')
    .option('--subject <subject>', 'for another member (tenant admins, operators)')
    .option('--tenant <tenant>', 'in another tenant (operators)')
    .option('--expires <duration>', 'e.g. 30d, 12h')
    .option('--json', 'one JSON document')
    .action(
      async (name: string, opts: { subject?: string; tenant?: string; expires?: string; json?: boolean }) => {
        const r = await client().createToken({
          name,
          ...(opts.subject ? { subject: opts.subject } : {}),
          ...(opts.tenant ? { tenant: opts.tenant } : {}),
          ...(opts.expires ? { expiresInSeconds: durationSeconds(opts.expires) } : {}),
        });
        if (opts.json) return json(r);
        print(r.token);
        process.stderr.write(
          `token ${r.info.id} for ${r.info.subject} in ${r.info.tenant}${r.info.expiresAt ? `, expires ${r.info.expiresAt}` : ''}: store it now, it is not shown again\n`,
        );
      },
    );
  token.command('revoke <id>').action(async (id: string) => {
    const t = await client().revokeToken(id);
    print(`revoked ${t.id} (${t.name})`);
  });

  // --- audit ---
  program
    .command('audit')
    .description('the audit log (operators): who did what, when, from where, with what outcome')
    .option('--from <time>', 'ISO-8601 or epoch ms')
    .option('--to <time>', 'ISO-8601 or epoch ms (exclusive)')
    .option('--subject <subject>')
    .option('--tenant <tenant>')
    .option('--limit <n>', 'entries (≤ 10000)', '1000')
    .option('--json', 'one JSON document')
    .option('--jsonl', 'JSON lines (export)')
    .option('--csv', 'CSV (export)')
    .action(
      async (opts: {
        from?: string;
        to?: string;
        subject?: string;
        tenant?: string;
        limit: string;
        json?: boolean;
        jsonl?: boolean;
        csv?: boolean;
      }) => {
        const q = {
          ...(opts.from ? { from: opts.from } : {}),
          ...(opts.to ? { to: opts.to } : {}),
          ...(opts.subject ? { subject: opts.subject } : {}),
          ...(opts.tenant ? { tenant: opts.tenant } : {}),
          limit: Number(opts.limit),
        };
        if (opts.jsonl || opts.csv) return print(await client().exportAudit(q, opts.csv ? 'csv' : 'jsonl'));
        const r = await client().listAudit(q);
        if (opts.json) return json(r);
        print(
          table(
            ['AT', 'WHO', 'IP', 'METHOD', 'ROUTE', 'TARGET', 'STATUS'],
            r.entries.map((e) => [
              e.at,
              e.subject ?? '(anonymous)',
              e.ip,
              e.method,
              e.route,
              e.target ?? '',
              `${e.status}${e.errorCode ? ` ${e.errorCode}` : ''}`,
            ]),
          ),
        );
      },
    );

  // --- usage, invoice, budgets, prices ---
  program
    .command('usage')
    .description('accelerator usage from the ledger (default: this month, by tenant)')
    .option('--from <time>', 'ISO-8601 or epoch ms (default: start of this UTC month)')
    .option('--to <time>', 'exclusive (default: start of next month)')
    .option('--by <group>', 'tenant | project | type | job', 'tenant')
    .option('--tenant <tenant>', 'operators: one tenant')
    .option('--json', 'one JSON document')
    .option('--csv', 'CSV for a spreadsheet')
    .action(
      async (opts: {
        from?: string;
        to?: string;
        by: string;
        tenant?: string;
        json?: boolean;
        csv?: boolean;
      }) => {
        if (!['tenant', 'project', 'type', 'job'].includes(opts.by))
          throw new Error('--by must be tenant, project, type or job');
        const q = {
          ...(opts.from ? { from: opts.from } : {}),
          ...(opts.to ? { to: opts.to } : {}),
          ...(opts.tenant ? { tenant: opts.tenant } : {}),
          groupBy: opts.by as 'tenant',
        };
        if (opts.csv) return print(await client().usageCsv(q));
        const r = await client().usage(q);
        if (opts.json) return json(r);
        const fmt = (x: number) => x.toFixed(3);
        print(`usage ${r.from} .. ${r.to} by ${r.groupBy}`);
        print(
          table(
            [
              'TENANT',
              'PROJECT',
              'TYPE',
              'JOB',
              'ATTEMPTS',
              'ACCEL-HOURS',
              'ACCEL-SECONDS',
              'CPU-HOURS',
              'PEAK MEM',
            ],
            [...r.rows, { ...r.total, tenant: 'TOTAL' }].map((x) => [
              x.tenant ?? '',
              x.project ?? '',
              x.acceleratorType ?? '',
              x.jobId ?? '',
              String(x.attempts),
              fmt(x.acceleratorHours),
              fmt(x.acceleratorSeconds),
              fmt(x.cpuTimeSeconds / 3600),
              memory(x.peakMemoryBytes),
            ]),
          ),
        );
      },
    );

  program
    .command('invoice')
    .description('accelerator-hours per tenant and type at the operator-set prices')
    .option('--from <time>')
    .option('--to <time>')
    .option('--tenant <tenant>')
    .option('--json', 'one JSON document')
    .option('--csv', 'CSV')
    .action(async (opts: { from?: string; to?: string; tenant?: string; json?: boolean; csv?: boolean }) => {
      const q = {
        ...(opts.from ? { from: opts.from } : {}),
        ...(opts.to ? { to: opts.to } : {}),
        ...(opts.tenant ? { tenant: opts.tenant } : {}),
      };
      if (opts.csv) return print(await client().invoiceCsv(q));
      const r = await client().invoice(q);
      if (opts.json) return json(r);
      print(
        table(
          ['TENANT', 'TYPE', 'ACCEL-HOURS', 'PRICE/H', 'AMOUNT'],
          r.lines.map((l) => [
            l.tenant,
            l.acceleratorType,
            l.acceleratorHours.toFixed(3),
            l.perAcceleratorHour === null ? 'no price' : `${l.perAcceleratorHour} ${l.currency ?? ''}`,
            l.amount.toFixed(2),
          ]),
        ),
      );
      for (const t of r.totals) print(`total ${t.tenant}: ${t.amount.toFixed(2)} ${t.currency ?? ''}`);
      if (r.unpricedTypes.length) print(`no price set for: ${r.unpricedTypes.join(', ')}`);
    });

  const budget = program.command('budget').description('monthly accelerator-hour budgets');
  budget
    .command('list')
    .option('--tenant <tenant>')
    .option('--json', 'one JSON document')
    .action(async (opts: { tenant?: string; json?: boolean }) => {
      const r = await client().listBudgets(opts.tenant);
      if (opts.json) return json(r);
      print(
        table(
          ['TENANT', 'PROJECT', 'BUDGET (H)', 'USED (H)', 'RESERVED (H)'],
          r.budgets.map((b) => [
            b.tenant,
            b.project ?? '(all)',
            String(b.acceleratorHours),
            b.usedHours.toFixed(3),
            b.reservedHours.toFixed(3),
          ]),
        ),
      );
    });
  budget
    .command('set <tenant> <acceleratorHours>')
    .option('--project <project>', 'a project budget instead of the tenant-wide one')
    .action(async (tenant: string, hours: string, opts: { project?: string }) => {
      const b = await client().setBudget({
        tenant,
        acceleratorHours: Number(hours),
        ...(opts.project ? { project: opts.project } : {}),
      });
      print(
        `budget ${b.tenant}${b.project ? `/${b.project}` : ''}: ${b.acceleratorHours} accelerator-hours per month`,
      );
    });
  budget
    .command('remove <tenant>')
    .option('--project <project>')
    .action(async (tenant: string, opts: { project?: string }) => {
      await client().deleteBudget(tenant, opts.project);
      print('budget removed');
    });

  const price = program.command('price').description('prices per accelerator-hour');
  price
    .command('list')
    .option('--json', 'one JSON document')
    .action(async (opts: { json?: boolean }) => {
      const r = await client().listPrices();
      if (opts.json) return json(r);
      print(
        table(
          ['TYPE', 'PER ACCEL-HOUR', 'CURRENCY'],
          r.prices.map((p) => [p.acceleratorType, String(p.perAcceleratorHour), p.currency]),
        ),
      );
    });
  price
    .command('set <acceleratorType> <perAcceleratorHour>')
    .option('--currency <code>', 'ISO 4217', 'CNY')
    .action(async (type: string, perHour: string, opts: { currency: string }) => {
      const p = await client().setPrice(type, Number(perHour), opts.currency);
      print(`${p.acceleratorType}: ${p.perAcceleratorHour} ${p.currency} per accelerator-hour`);
    });
}
