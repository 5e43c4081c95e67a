#!/usr/bin/env node
/**
 * The simulator's command line (usable before `suanli sim` lands; same flags):
 *
 *   node packages/sim/dist/bin/sim.js --trace FILE --format generic|philly|openb|pollux
 *     [--from DATE|S] [--to DATE|S]
 *     (--nodes N --accelerators-per-node K [--accelerator-type T] | --cluster FILE.json|yaml)
 *     [--policy all|NAME[,NAME…]] [--policy-file FILE.json|yaml] [--guarantees proportional|equal|none]
 *     [--restart-cost S] [--restart-cost-large S] [--time-limit-factor F]
 *     [--json] [--plots DIR] [--bench]
 *   node packages/sim/dist/bin/sim.js --packing openb --trace openb_pod_list_default.csv
 *     --node-list openb_node_list_all_node.csv [--seeds 42..51] [--json]
 */
import { main } from '../cli.js';

process.exitCode = main(
  process.argv.slice(2),
  (s) => process.stdout.write(s),
  (s) => process.stderr.write(s),
);
