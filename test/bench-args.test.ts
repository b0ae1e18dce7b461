/**
 * `npm run bench -- <name> [args]` refuses a wrong argument in one line (exit
 * 2) and answers --help (exit 0) before any work: nothing runs, nothing in
 * benchmarks/results/ is written. Before: `fleet --help` ran the fleet with
 * N=NaN and overwrote the committed fleet.json; unknown flags and `memory
 * --only 99` were ignored and the bench ran (and wrote its file) anyway.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
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

const root = mkdtempSync(join(tmpdir(), 'bestshot-bench-args-'));
after(() => rmSync(root, { recursive: true, force: true }));

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

test('eval: a wrong --set value or --budget is one line and exit 2 before any input is read', { timeout: 120_000 }, () => {
  // Before: --set budgetBytesPerS=-5 printed "eval: 1 input(s)…" and died with a RangeError stack from the policy's
  // constructor; --budget abc evaluated the whole input, then died in runBudget (NaN); on a MOT target it was ignored (exit 0).
  const out = join(root, 'eval-out');
  const usage = ' (usage: npm run eval -- --help)\n';
  const refused: Array<[string[], string]> = [
    [['mot15-TUD-Campus', '--set', 'budgetBytesPerS=-5'], "eval: Expected positive number for budgetBytesPerS but received -5 of type number (--set 'budgetBytesPerS=-5')"],
    [['sim', '--budget', 'abc', '--policies', 'shared-best,budget'], "eval: Expected positive number for --budget but received 'abc'"],
    [['mot15-TUD-Campus', '--budget', 'abc'], "eval: Expected positive number for --budget but received 'abc'"],
    [['sim', '--budget', '-5'], "eval: Expected positive number for --budget but received '-5'"],
    [['sim', '--budget=0'], "eval: Expected positive number for --budget but received '0'"],
    // Checked whichever policies run: 'spec' reads no shareCandidates, the value is wrong all the same.
    [['sim', '--policies', 'spec', '--set', 'shareCandidates=1.5'], "eval: Expected positive integer for shareCandidates but received 1.5 of type number (--set 'shareCandidates=1.5')"],
    [['sim', '--policies', 'final-best', '--set', 'weightSize=1,reSendQualityGrowth=0.5'], "eval: Expected number ≥ 1 for reSendQualityGrowth but received 0.5 of type number (--set 'reSendQualityGrowth=0.5')"],
    [['sim', '--max-latency', 'Infinity'], "eval: Expected positive number of seconds for --max-latency but received 'Infinity'"],
  ];
  for (const [args, line] of refused) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'benchmarks', 'eval.ts'), ...args, '--out', join(out, 'x')], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, `${line}${usage}`, args.join(' '));
    assert.equal(r.stdout, '', `${args.join(' ')}: nothing ran`);
    assert.ok(performance.now() - t0 < 15_000, `${args.join(' ')}: refused before the work`);
    assert.equal(existsSync(out), false, `${args.join(' ')}: not even the --out folder is made`);
  }
});

test('bench --results DIR and queue --dir must name existing folders: one line and exit 2, nothing made', { timeout: 120_000 }, () => {
  const before = snapshot();
  const missing = join(root, 'missing', 'x');
  const file = join(root, 'a-file');
  writeFileSync(file, '');
  const refused: Array<[string[], string]> = [
    // Before: the folder was made (mkdir -p) and the bench ran.
    [['queue', '--dir', missing, '--results', root], `bench queue: no such folder: ${missing} (--dir)`],
    [['queue', '--dir', file, '--results', root], `bench queue: ${file} is a file, not a folder (--dir)`],
    [['queue', '--results', missing], `bench queue: no such folder: ${missing} (--results)`],
    [['fleet', '100', `--results=${missing}`], `bench fleet: no such folder: ${missing} (--results)`],
    [['queue', '--results', file], `bench queue: ${file} is a file, not a folder (--results)`],
    [['queue', '--results'], "bench queue: Option '--results <dir>' argument missing. Run 'npm run bench -- queue --help' for its options."],
    [['queue', '--results', '--n', '3'], "bench queue: Option '--results <dir>' argument missing. Run 'npm run bench -- queue --help' for its options."],
  ];
  for (const [args, line] of refused) {
    const r = bench(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, `${line}\n`, args.join(' '));
    assert.equal(r.stdout, '', `${args.join(' ')}: nothing ran`);
    assert.equal(existsSync(join(root, 'missing')), false, `${args.join(' ')}: no folder made`);
  }
  assert.deepEqual(snapshot(), before, 'no result file written or touched');
});

test('bench --results DIR sends the result JSON there; benchmarks/results/ is left as it was', { timeout: 120_000 }, () => {
  const before = snapshot();
  const results = join(root, 'results');
  const dir = join(root, 'db');
  mkdirSync(results);
  mkdirSync(dir);
  // Before: --results was an unknown option, and there was no way to keep a run off the committed queue.json.
  const r = bench('queue', '--n', '3', '--repeat', '1', '--size-kb', '1', '--results', results, '--dir', dir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`written ${join(results, 'queue.json')}\n$`));
  assert.deepEqual(readdirSync(results), ['queue.json']);
  assert.equal((JSON.parse(readFileSync(join(results, 'queue.json'), 'utf8')) as { n: number }).n, 3);
  assert.deepEqual(readdirSync(dir), [], 'the temporary database folder made in --dir is removed');
  assert.deepEqual(snapshot(), before, 'no committed result file written or touched');
});

test('--help documents --results (every bench) and what queue --dir must be', { timeout: 60_000 }, () => {
  const top = bench('--help');
  assert.equal(top.status, 0);
  assert.match(top.stdout, /^usage: npm run bench -- <[^>]+> \[--results DIR\] \[args\]/);
  assert.match(top.stdout, /\n {2}--results DIR {2}write the result files into DIR, an existing folder, instead of benchmarks\/results\/ \(every bench\)\n$/);
  const queue = bench('queue', '--help');
  assert.equal(queue.status, 0, queue.stderr);
  assert.match(queue.stdout, /--dir <dir> {4}existing folder to put the databases in/);
  assert.match(queue.stdout, /\n {2}--results DIR {2}write the result files into DIR/);
  // --help is answered whatever else is on the line, a wrong --results included: nothing is written.
  assert.equal(bench('queue', '--results', join(root, 'missing'), '--help').status, 0);
});
