#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's test runner through tsx.
// `node --test` with no file arguments finds only .js files (it ran 0 tests and
// still exited 0 here), so the files are named, and a run of 0 tests fails.
//
// Files run two at a time (BESTSHOT_TEST_CONCURRENCY to change it). Measured
// on a 2-core VM, file by file: the suite's CPU time equals its wall time
// (1421 s of CPU in 1434 s), so one file at a time leaves a core idle —
// many tests wait on subprocesses, timers and sockets — and two at a time
// keeps both busy. The slowest files start first, so the two lanes end
// together instead of one long file running alone at the end.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

// Wall seconds, one file at a time on the 2-core VM (2026-12-07); the order matters, not the figures.
const SLOWEST_FIRST = [
  ['test/cli/run-as-user.test.ts', 238],
  ['test/runtime/rss-trend.test.ts', 56],
  ['test/runtime/replay.test.ts', 52],
  ['test/cli/slow-camera.test.ts', 44],
  ['test/cli/run-kill9.test.ts', 43],
  ['test/cli/clock-step.test.ts', 42],
  ['test/cli/double-sigterm.test.ts', 38],
  ['test/capture/frame-source.test.ts', 36],
  ['test/cli/recording-gap.test.ts', 35],
  ['test/ota/rollback.test.ts', 31],
  ['test/upload/fleet-kill9.test.ts', 30],
  ['test/ota/crash.test.ts', 29],
];

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const concurrency = Number(process.env.BESTSHOT_TEST_CONCURRENCY ?? 2);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`run-tests: BESTSHOT_TEST_CONCURRENCY must be a whole number ≥ 1, not ${process.env.BESTSHOT_TEST_CONCURRENCY}`);
  process.exit(2);
}
const seconds = new Map(SLOWEST_FIRST);
let files = collect(join(root, 'test'))
  .sort()
  .sort((a, b) => (seconds.get(b) ?? 0) - (seconds.get(a) ?? 0));
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, ...files];
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
