/** `npm run eval` on inputs that are not what it expects: one line naming the input, and no NaN in the tables. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { evaluateInput, formatTable, loadMotInput } from '../../src/eval/index.js';
import { PROJECT_ROOT, sharedPath } from '../../src/paths.js';

const root = mkdtempSync(join(tmpdir(), 'bestshot-eval-inputs-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('a file that is not a video ends the eval in one line naming it and the cause, exit 1', { timeout: 120_000 }, () => {
  const clip = join(root, 'x.mp4');
  writeFileSync(clip, 'not a video\n');
  const results = join(PROJECT_ROOT, 'benchmarks', 'results');
  const before = readdirSync(results);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'benchmarks', 'eval.ts'), clip, '--no-cache', '--policies', 'spec'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  // Before: an uncaught CaptureError with its stack trace.
  assert.equal(r.stderr.trim(), `eval: [ERR_CAPTURE] ${clip} is not a video file GStreamer can read (empty, or another kind of file): check the path (Could not determine type of stream. from typefind)`);
  assert.deepEqual(readdirSync(results), before, 'nothing written');
});

test('an input with no objects prints — for tracks per object and the split share, not NaN', () => {
  const dir = join(root, 'no-objects');
  mkdirSync(join(dir, 'det'), { recursive: true });
  cpSync(sharedPath('mot15-TUD-Campus', 'seqinfo.ini'), join(dir, 'seqinfo.ini'));
  writeFileSync(join(dir, 'det', 'det.txt'), '');
  const rep = evaluateInput(loadMotInput(dir), { policies: ['spec'], sendHz: 2 });
  assert.equal(rep.objects.total, 0);
  const table = formatTable(rep);
  assert.doesNotMatch(table, /NaN/);
  assert.match(table.split('\n')[0]!, /objects 0 \(eligible 0, coverable 0\); tracks 0; — tracks per object, — % of objects split$/);
});

const evalCli = (args: string[]): ReturnType<typeof spawnSync> =>
  spawnSync(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'benchmarks', 'eval.ts'), ...args], { cwd: PROJECT_ROOT, encoding: 'utf8' });

test('--out with a path writes PATH.json and PATH.svg there, creating the folder', { timeout: 120_000 }, () => {
  const prefix = join(root, 'out dir', 'run1');
  // Before: ENOENT with a stack, after the whole run (the path was appended to benchmarks/results/eval-).
  const r = evalCli(['sim', '--policies', 'spec', '--out', prefix]);
  assert.equal(r.status, 0, String(r.stderr));
  assert.deepEqual(readdirSync(join(root, 'out dir')).sort(), ['run1.json', 'run1.svg']);
  assert.match(String(r.stdout), new RegExp(`wrote ${prefix}\\.json and ${prefix}\\.svg`));
});

test('a wrong flag value is one line and exit 2 before anything runs, never a stack', () => {
  const cases: [string[], string][] = [
    [['--hz', 'abc'], "eval: Expected positive number for --hz but received 'abc' (usage: npm run eval -- --help)"],
    [['--max-latency', '0'], "eval: Expected positive number of seconds for --max-latency but received '0' (usage: npm run eval -- --help)"],
    [['--set', 'segmentGapFrames=abc'], "for --set but received 'segmentGapFrames=abc' (usage: npm run eval -- --help)"],
    [['--tracker', 'lostgate=1.5'], "eval: Unknown tracker option 'lostgate' (--tracker 'lostgate=1.5') (usage: npm run eval -- --help)"],
    [['--tracker', 'trackBuffer=-1'], "eval: Expected non-negative integer for trackBuffer but received -1 of type number (--tracker 'trackBuffer=-1') (usage: npm run eval -- --help)"],
    [['--out', '/etc/hostname/x'], 'eval: --out /etc/hostname/x: cannot write into /etc/hostname'],
    [['--bogus'], "eval: Unknown option '--bogus'"],
  ];
  for (const [args, message] of cases) {
    const r = evalCli(['sim', '--policies', 'spec', ...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${String(r.stderr)}`);
    const stderr = String(r.stderr).trim();
    assert.ok(stderr.includes(message), `${args.join(' ')}: ${stderr}`);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    assert.equal(String(r.stdout), '', 'nothing ran');
  }
});

test('--tracker sets tracker options over the product\'s, and the JSON records them', { timeout: 120_000 }, () => {
  // The tracker-option comparisons of docs/evaluation.md ("Coverage under the product's tracker") needed a script before.
  const tracks = (args: string[]): { tracks: number; tracker: unknown } => {
    const prefix = join(root, `tud-${args.length}`);
    const r = evalCli(['TUD-Campus', '--policies', 'spec', '--out', prefix, ...args]);
    assert.equal(r.status, 0, String(r.stderr));
    const json = JSON.parse(readFileSync(`${prefix}.json`, 'utf8')) as { tracker: unknown; reports: { tracks: number }[] };
    return { tracks: json.reports[0]!.tracks, tracker: json.tracker };
  };
  const product = tracks([]);
  const noBuffer = tracks(['--tracker', 'trackBuffer=0']);
  assert.deepEqual(product.tracker, {});
  assert.deepEqual(noBuffer.tracker, { trackBuffer: 0 });
  // T2's 30-frame buffer joins people across short misses; without it each miss starts a new track.
  assert.ok(noBuffer.tracks > product.tracks, `${noBuffer.tracks} tracks without a lost buffer, ${product.tracks} with the product's`);
});
