#!/usr/bin/env node
// The `suanli` command. Runs the compiled CLI; `npm install` builds it (the `prepare` script).
import { main } from '../dist/main.js';

main(process.argv).catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
