#!/usr/bin/env node
// Launcher. A release bundle runs the compiled CLI (dist/). A checkout runs
// the compiled CLI only while it is current; when any source under src/ is
// newer than the build (or BESTSHOT_FROM_SOURCE=1), it runs the TypeScript
// sources through tsx, so `npx bestshot` never runs stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('..', import.meta.url);
const compiled = new URL('dist/src/cli/main.js', root);
const sources = fileURLToPath(new URL('src', root));

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function compiledIsCurrent() {
  if (!existsSync(compiled)) return false;
  if (!existsSync(sources)) return true; // a release bundle ships dist/ only
  return statSync(compiled).mtimeMs >= newestMtime(sources);
}

let entry;
if (process.env.BESTSHOT_FROM_SOURCE !== '1' && compiledIsCurrent()) {
  entry = compiled;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  entry = new URL('src/cli/main.ts', root);
}
const { main } = await import(entry.href);
const argv = process.argv.slice(2);
const code = await main(argv);
// The commands that stop on a signal (`run`, `replay`, `demo`, `receiver`, `ingest`) end with
// process.exit once their stop is done: left to end by itself, Node's teardown closes the signal
// handles (the default action back) and then stops the worker threads, a window of 20-300 ms in
// which a second SIGTERM (GNU timeout sends two; systemd's stop after a kill) ended the process with
// 143 instead of the exit code the command chose. process.exit() keeps the handles: a signal then
// is taken and dropped, and the process exits with `code`.
if (['run', 'replay', 'demo', 'receiver', 'ingest'].includes(argv[0])) process.exit(code);
process.exitCode = code;
