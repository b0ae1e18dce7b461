/**
 * `npm run bench -- <name> [args]` refuses a wrong argument in one line (exit
 * 2) and answers --help (exit 0) before any work: nothing runs, nothing in
 * benchmarks/results/ is written. Before: `fleet --help` ran the fleet with
 * N=NaN and overwrote the committed fleet.json; unknown flags and `memory
 * --only 99` were ignored and the bench ran (and wrote its file) anyway.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../src/paths.js';

const RESULTS = join(PROJECT_ROOT, 'benchmarks', 'results');

/** Every result file's bytes and mtime. */
function snapshot(): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of readdirSync(RESULTS)) {
    const p = join(RESULTS, f);
    const st = statSync(p);
    if (st.isFile()) out.set(f, `${st.mtimeMs} ${readFileSync(p).toString('base64')}`);
  }
  return out;
}

function bench(...args: string[]): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t0 = performance.now();
  // A bench that started its work would run for minutes: the timeout ends it, and the status (null) fails the test.
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'benchmarks', 'run.ts'), ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}

test('--help prints the bench usage and exits 0; a wrong argument is one line on stderr and exit 2; nothing runs or is written', { timeout: 120_000 }, () => {
  const before = snapshot();
  assert.ok(before.has('fleet.json'), 'the committed fleet.json is there to compare');

  for (const [name, usage] of [
    ['fleet', /^npm run bench -- fleet \[sizes\] \[durationS\] \[ratePerUnit\] \[consumers\] \[get\|head\]\n {2}sizes /],
    ['receiver', /^npm run bench -- receiver \[uploads\] \[concurrency\]\n {2}uploads /],
  ] as const) {
    const r = bench(name, '--help');
    assert.equal(r.status, 0, `${name} --help: ${r.stderr}`);
    assert.match(r.stdout, usage);
    assert.equal(r.stderr, '');
  }
  assert.equal(bench('memory', '-h').status, 0);

  const refused: Array<[string[], string | RegExp]> = [
    [['fleet', 'abc'], "bench fleet: Expected positive integer for sizes but received 'abc'"],
    [['fleet', '100', 'x'], "bench fleet: Expected positive number for durationS but received 'x'"],
    [['capture', '--bogus'], "bench capture: Unknown option '--bogus'. Run 'npm run bench -- capture --help' for its options."],
    [['capture', '--pairs', 'two'], "bench capture: Expected positive integer for --pairs but received 'two'"],
    [['all', '--bogus-flag'], "bench all: Unknown option '--bogus-flag'. Run 'npm run bench -- all --help' for its options."],
    [['memory', '--only', '99'], /^bench memory: --only 99: no variant '99'; the ids are 0 to \d+ \(npm run bench -- memory --help names them\)\n$/],
    [['track', '--frames', 'x'], "bench track: Expected positive integer for --frames but received 'x'"],
    [['capture-rate', '--seconds', 'x'], "bench capture-rate: Expected positive number for --seconds but received 'x'"],
    [['receiver', '10', '5', '1'], "bench receiver: unexpected argument '1' (takes at most uploads concurrency). Run 'npm run bench -- receiver --help' for its options."],
  ];
  for (const [args, line] of refused) {
    const r = bench(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    if (typeof line === 'string') assert.equal(r.stderr, `${line}\n`, args.join(' '));
    else assert.match(r.stderr, line, args.join(' '));
    assert.equal(r.stdout, '', `${args.join(' ')}: nothing ran`);
    // Seconds, not the minutes of a run: the argument was refused before any work.
    assert.ok(r.ms < 15_000, `${args.join(' ')} took ${r.ms} ms`);
  }

  assert.deepEqual(snapshot(), before, 'no result file written or touched (fleet.json included)');
});
