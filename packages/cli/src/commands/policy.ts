/**
 * `suanli policy show|apply` and `suanli tenants`: manage tenants, projects and quotas through the
 * policy document (policy as data), and see who holds what against their guarantees.
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import type { SuanliClient } from '@suanli/client';
import { table } from '../format.js';

export function registerPolicyCommands(
  program: Command,
  client: () => SuanliClient,
  print: (s: string) => void,
): void {
  const policy = program
    .command('policy')
    .description('the scheduling policy: tenants, quotas, weights, priority classes, preemption');
  policy
    .command('show')
    .description('print the policy document in force (YAML)')
    .option('--json', 'the compiled policy as JSON')
    .action(async (opts: { json?: boolean }) => {
      const p = await client().getPolicy();
      print(opts.json ? JSON.stringify(p.policy, null, 2) : p.document);
    });
  policy
    .command('apply <file>')
    .description('replace the policy with a YAML file (operators); takes effect at the next scheduling cycle')
    .action(async (file: string) => {
      const text = await readFile(file, 'utf8');
      await client().putPolicy(text);
      print(`policy from ${file} is in force`);
    });

  program
    .command('tenants')
    .description('tenants with their weights, quotas per accelerator type and what they hold now')
    .option('--json', 'one JSON document')
    .action(async (opts: { json?: boolean }) => {
      const { tenants } = await client().listTenants();
      if (opts.json) return print(JSON.stringify({ tenants }, null, 2));
      const rows: string[][] = [];
      for (const t of tenants) {
        const types = new Set([...Object.keys(t.quotas), ...Object.keys(t.running)]);
        if (types.size === 0) rows.push([t.name, String(t.weight), t.cohort ?? '-', '-', '-', '-', '-', '0']);
        for (const ty of [...types].sort()) {
          const q = t.quotas[ty];
          rows.push([
            t.name,
            String(t.weight),
            t.cohort ?? '-',
            ty,
            String(q?.guaranteed ?? 0),
            q?.borrowingLimit === null || q === undefined ? 'unlimited' : String(q.borrowingLimit),
            q?.lendingLimit === null || q === undefined ? 'all' : String(q.lendingLimit),
            String(t.running[ty] ?? 0),
          ]);
        }
      }
      print(table(['TENANT', 'WEIGHT', 'COHORT', 'TYPE', 'GUARANTEED', 'BORROW', 'LEND', 'RUNNING'], rows));
    });
}
