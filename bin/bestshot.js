#!/usr/bin/env node
// Launcher: the compiled CLI when built (dist/), otherwise the TypeScript
// sources through tsx, so `npx bestshot` works straight from a checkout.
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const compiled = new URL('dist/src/cli/main.js', root);
let entry;
if (existsSync(compiled) && process.env.BESTSHOT_FROM_SOURCE !== '1') {
  entry = compiled;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('src/cli/main.ts', root);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
