/**
 * bestshot eval-mot / track on MOTChallenge files that hold nothing to score or
 * track, a word where a number belongs, or a frame number no sequence has: run
 * as a user runs them (a subprocess), the exit status and the exact message.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PROJECT_ROOT } from '../../src/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'bestshot-mot-bad-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' }, encoding: 'utf8', timeout: 120_000 });

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const gt = file('gt.txt', '1,1,10,10,20,20,1,1,1\n2,1,10,10,20,20,1,1,1\n');

test('eval-mot with an empty gt or result: exit 2 saying there is nothing to evaluate, no table of zeros', () => {
  const empty = file('empty.txt', '');
  const blank = file('blank.txt', '\n  \n');
  for (const [g, res, message] of [
    [empty, empty, `${empty} (--gt) has no rows: there is no ground truth to evaluate against`],
    [blank, gt, `${blank} (--gt) has no rows: there is no ground truth to evaluate against`],
    [gt, empty, `${empty} (--res) has no rows: there is no tracker result to evaluate (were it right, every one of the 2 gt boxes would be a miss)`],
  ] as const) {
    const r = run('eval-mot', '--gt', g, '--res', res);
    assert.equal(r.stdout, '', 'no metrics printed');
    assert.equal(r.stderr, `bestshot eval-mot: [ERR_USAGE] ${message}\n`);
    assert.equal(r.status, 2);
  }
});

test('eval-mot with a gt whose every row preprocessing leaves out (flag 0, not a pedestrian, frame 0): exit 2, not zeros', () => {
  const flag0 = file('flag0.txt', '1,1,10,10,20,20,0,1,1\n');
  const cars = file('cars.txt', '1,1,10,10,20,20,1,3,1\n');
  const r1 = run('eval-mot', '--gt', flag0, '--res', gt);
  assert.equal(r1.stdout, '');
  assert.equal(
    r1.stderr,
    `bestshot eval-mot: [ERR_USAGE] no row of ${flag0} (--gt) is scored: nothing to evaluate (each has a 0 in column 7 (the consider flag) or a class other than 1 (pedestrian) in column 8, or lies outside frames 1..2; MOT17 preprocessing)\n`,
  );
  assert.equal(r1.status, 2);
  const r2 = run('eval-mot', '--gt', cars, '--res', gt);
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /no row of .*cars\.txt \(--gt\) is scored: nothing to evaluate/);
  const zero = file('zero-based-gt.txt', '0,1,10,10,20,20,1\n');
  const r3 = run('eval-mot', '--gt', zero, '--res', gt);
  assert.equal(
    r3.stderr,
    `bestshot eval-mot: warning: ${zero}: 1 row outside frames 1..2 ignored (frame 0); MOTChallenge frames start at 1, so a 0-based file needs 1 added to every frame\n` +
      `bestshot eval-mot: [ERR_USAGE] no row of ${zero} (--gt) is scored: nothing to evaluate (each has a 0 in column 7 (the consider flag), or lies outside frames 1..2; MOT15 preprocessing)\n`,
  );
  assert.equal(r3.status, 2);
});

test('eval-mot on a 0-based result: scored, with a warning that its frame-0 rows were left out', () => {
  const res = file('zero-based-res.txt', '0,1,10,10,20,20,1\n1,1,10,10,20,20,1\n');
  const r = run('eval-mot', '--gt', gt, '--res', res, '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, `bestshot eval-mot: warning: ${res}: 1 row outside frames 1..2 ignored (frame 0); MOTChallenge frames start at 1, so a 0-based file needs 1 added to every frame\n`);
  assert.equal((JSON.parse(r.stdout) as { TP: number }).TP, 1);
});

test('eval-mot on a result that matches no ground-truth object: the fragmentation ratios read n/a, not NaN', () => {
  const far = file('far.txt', '1,7,500,500,20,20,1\n');
  const r = run('eval-mot', '--gt', gt, '--res', far);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\nTracks per GT object n\/a {2}GT objects split 0 of 0 \(n\/a %\)\n$/);
  assert.ok(!r.stdout.includes('NaN'), r.stdout);
});

test('eval-mot on boxes of no size: scored as they were, with a warning that they overlap nothing', () => {
  const flat = file('flat.txt', '1,1,10,10,-20,-20,1\n2,1,10,10,20,20,1\n');
  const r = run('eval-mot', '--gt', flat, '--res', flat, '--json');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(
    r.stderr,
    `bestshot eval-mot: warning: ${flat}: 1 row with zero or negative width or height: such a box overlaps nothing, so it counts as a miss (FN)\n` +
      `bestshot eval-mot: warning: ${flat}: 1 row with zero or negative width or height: such a box overlaps nothing, so it counts as a false positive (FP)\n`,
  );
  const m = JSON.parse(r.stdout) as { TP: number; FN: number; FP: number };
  assert.deepEqual([m.TP, m.FN, m.FP], [1, 1, 1]);
});

test('a word in the score column, or a trailing comma, is not read as a number', () => {
  const word = file('word.txt', '1,1,10,10,20,20,high\n');
  const r = run('eval-mot', '--gt', gt, '--res', word);
  assert.equal(r.stderr, `bestshot eval-mot: [ERR_INPUT] ${word}:1: column 7 (conf) is 'high', not a number, in '1,1,10,10,20,20,high'\n`);
  assert.equal(r.status, 2);
  // Before: Number('') is 0, so a gt row ending in ',' had flag 0 and was silently not scored.
  const trailing = file('trailing.txt', '1,1,10,10,20,20,\n2,1,10,10,20,20,\n');
  const t = run('eval-mot', '--gt', trailing, '--res', gt, '--json');
  assert.equal(t.status, 0, t.stderr);
  assert.equal((JSON.parse(t.stdout) as { TP: number }).TP, 2);
  // track: the word was scored 1 (a high-score box) without a word.
  const seq = join(dir, 'seq-word');
  mkdirSync(join(seq, 'det'), { recursive: true });
  writeFileSync(join(seq, 'det', 'det.txt'), '1,-1,10,10,20,20,abc\n');
  const tr = run('track', '--mot', seq, '--out', join(dir, 'word-res.txt'));
  assert.equal(tr.stderr, `bestshot track: [ERR_INPUT] ${join(seq, 'det', 'det.txt')}:1: column 7 (conf) is 'abc', not a number, in '1,-1,10,10,20,20,abc'\n`);
  assert.equal(tr.status, 2);
  assert.equal(existsSync(join(dir, 'word-res.txt')), false);
});

test('a frame number no sequence has (a stray 10000000) is refused at once, not stepped through for minutes', () => {
  const stray = file('stray.txt', '1,1,10,10,20,20,1\n10000000,1,10,10,20,20,1\n');
  const r = run('eval-mot', '--gt', gt, '--res', stray);
  assert.equal(r.stderr, `bestshot eval-mot: [ERR_INPUT] ${stray}:2: frame 10000000 is above 1000000, the largest frame number read (MOTChallenge frames count images from 1), in '10000000,1,10,10,20,20,1'\n`);
  assert.equal(r.status, 2);
  const frames = run('eval-mot', '--gt', gt, '--res', gt, '--frames', '10000000');
  assert.equal(frames.stderr, "bestshot eval-mot: [ERR_USAGE] Expected positive integer up to 1000000 for --frames but received '10000000'\n");
  assert.equal(frames.status, 2);
  const seq = join(dir, 'seq-long');
  mkdirSync(join(seq, 'det'), { recursive: true });
  writeFileSync(join(seq, 'det', 'det.txt'), '1,-1,10,10,20,20,0.9\n');
  writeFileSync(join(seq, 'seqinfo.ini'), '[Sequence]\nseqLength=1000000000\n');
  const t = run('track', '--mot', seq, '--out', join(dir, 'long-res.txt'));
  assert.equal(t.stderr, `bestshot track: [ERR_INPUT] ${join(seq, 'seqinfo.ini')}: seqLength 1000000000 is above 1000000, the largest frame count read\n`);
  assert.equal(t.status, 2);
});

test('track on an empty det.txt, or one whose every box has no size: exit 2, no result file', () => {
  const seq = join(dir, 'seq-empty');
  mkdirSync(join(seq, 'det'), { recursive: true });
  const det = join(seq, 'det', 'det.txt');
  const out = join(dir, 'empty-res.txt');
  writeFileSync(det, '');
  const r = run('track', '--mot', seq, '--out', out);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `bestshot track: [ERR_USAGE] ${det} has no detections: nothing to track, no result written\n`);
  assert.equal(r.status, 2);
  assert.equal(existsSync(out), false);
  writeFileSync(det, '1,-1,1,1,0,0,1\n');
  const z = run('track', '--mot', seq, '--out', out);
  assert.equal(
    z.stderr,
    `bestshot track: warning: ${det}:1: 1 box with zero or negative width or height skipped (the first on this line)\nbestshot track: [ERR_USAGE] ${det} has no detections: nothing to track, no result written\n`,
  );
  assert.equal(z.status, 2);
  assert.equal(existsSync(out), false);
});

test('track without seqinfo.ini: MOTChallenge\'s rate for a MOT15 sequence, else 30 fps — said, not silent', () => {
  const eth = join(dir, 'ETH-Bahnhof');
  mkdirSync(join(eth, 'det'), { recursive: true });
  writeFileSync(join(eth, 'det', 'det.txt'), '1,-1,10,10,20,20,0.9\n2,-1,11,10,20,20,0.9\n');
  const r = run('track', '--mot', eth, '--out', join(dir, 'eth-res.txt'));
  assert.equal(r.status, 0, r.stderr);
  // Before: 30 fps without a word (the lost-track buffer of a 14 fps sequence counted at 30 fps, unlike replay and eval).
  assert.equal(r.stderr, `bestshot track: warning: ${join(eth, 'seqinfo.ini')}: no such file: 14 fps, MOTChallenge's rate for ETH-Bahnhof\n`);
  assert.match(r.stdout, /^2 frames at 14 fps, /);
  const other = join(dir, 'my-sequence');
  mkdirSync(join(other, 'det'), { recursive: true });
  writeFileSync(join(other, 'det', 'det.txt'), '1,-1,10,10,20,20,0.9\n');
  const o = run('track', '--mot', other, '--out', join(dir, 'other-res.txt'));
  assert.equal(o.status, 0, o.stderr);
  assert.equal(
    o.stderr,
    `bestshot track: warning: ${join(other, 'seqinfo.ini')}: no such file: 30 fps assumed (the lost-track buffer counts frames at this rate); give --frame-rate, or write frameRate=… under [Sequence]\n`,
  );
  const given = run('track', '--mot', other, '--out', join(dir, 'other-res.txt'), '--frame-rate', '10');
  assert.equal(given.stderr, '');
  assert.match(given.stdout, /^1 frames at 10 fps, /);
});

test('eval-mot on a file with one id on two boxes of a frame: refused as TrackEval refuses it (it was scored: MOTA 100)', () => {
  const twoBoxes = file('one-id-two-boxes.txt', '1,1,10,10,20,20,1\n1,1,100,100,20,20,1\n2,1,10,10,20,20,1\n');
  const twoObjects = file('two-objects.txt', '1,1,10,10,20,20,1\n1,2,100,100,20,20,1\n2,1,10,10,20,20,1\n');
  const r = run('eval-mot', '--gt', twoObjects, '--res', twoBoxes);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `bestshot eval-mot: [ERR_INPUT] ${twoBoxes}: id 1 is on 2 boxes of frame 1 (--res): an id is one object, once per frame, as TrackEval requires\n`);
  assert.equal(r.status, 2);
  const g = run('eval-mot', '--gt', twoBoxes, '--res', twoObjects);
  assert.equal(g.stderr, `bestshot eval-mot: [ERR_INPUT] ${twoBoxes}: id 1 is on 2 boxes of frame 1 (--gt): an id is one object, once per frame, as TrackEval requires\n`);
  assert.equal(g.status, 2);
  // A det.txt given as the result (every id -1).
  const det = file('det-as-res.txt', '1,-1,10,10,20,20,0.9\n1,-1,100,100,20,20,0.8\n');
  const d = run('eval-mot', '--gt', twoObjects, '--res', det);
  assert.equal(d.stderr, `bestshot eval-mot: [ERR_INPUT] ${det}: id -1 is on 2 boxes of frame 1 (--res): an id is one object, once per frame, as TrackEval requires (id -1 is a det.txt's: is this a tracker result?)\n`);
  assert.equal(d.status, 2);
});
