#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's test runner through tsx.
// `node --test` with no file arguments finds only .js files (it ran 0 tests and
// still exited 0 here), so the files are named, and a run of 0 tests fails.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

let files = collect(join(root, 'test')).sort();
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', ...files];
// Tests exercise the TypeScript sources, never a possibly stale dist/ build.
const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' } });
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4000);
});
child.on('close', (code) => {
  const pass = /ℹ pass (\d+)/.exec(tail);
  const fail = /ℹ fail (\d+)/.exec(tail);
  const passed = pass ? Number(pass[1]) : 0;
  const failed = fail ? Number(fail[1]) : 0;
  console.log(`${passed} passed, ${failed} failed`);
  if (passed === 0 && code === 0) {
    console.error('run-tests: no test ran');
    process.exit(1);
  }
  process.exit(code ?? 1);
});
