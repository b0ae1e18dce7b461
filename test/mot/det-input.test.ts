/**
 * What `bestshot track --mot` and `bestshot replay <MOT dir>` do with det.txt
 * files that are not the clean shared ones: each case is a variant of
 * TUD-Campus built in a temp dir, and the CLI runs as a subprocess.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseMotDetections } from '../../src/mot/index.js';
import { PROJECT_ROOT, sharedPath } from '../../src/paths.js';

const root = mkdtempSync(join(tmpdir(), 'bestshot-det-input-'));
after(() => rmSync(root, { recursive: true, force: true }));
const shared = sharedPath('mot15-TUD-Campus');

/** A copy of TUD-Campus named `name`, its det.txt lines passed through `edit`; `seqinfo: false` leaves seqinfo.ini out. */
function variant(name: string, edit: (lines: string[]) => string[], seqinfo = true): string {
  const dir = join(root, name);
  cpSync(join(shared, 'gt'), join(dir, 'gt'), { recursive: true });
  if (seqinfo) cpSync(join(shared, 'seqinfo.ini'), join(dir, 'seqinfo.ini'));
  const lines = readFileSync(join(shared, 'det', 'det.txt'), 'utf8').trim().split('\n');
  cpSync(join(shared, 'det'), join(dir, 'det'), { recursive: true });
  writeFileSync(join(dir, 'det', 'det.txt'), `${edit(lines).join('\n')}\n`);
  return dir;
}

/** Replace column `col` (0-based) of a CSV line. */
const setColumn = (line: string, col: number, value: string): string => line.split(',').map((x, i) => (i === col ? value : x)).join(',');

function bestshot(...argv: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), ...argv], {
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' },
    encoding: 'utf8',
  });
}

test('boxes of zero or negative width or height are skipped with one warning naming the first line', { timeout: 60_000 }, () => {
  const dir = variant('zero-size', (lines) => lines.map((l, i) => (i === 3 ? setColumn(l, 4, '0') : i === 8 ? setColumn(l, 5, '-3') : l)));
  const det = join(dir, 'det', 'det.txt');
  const warning = `${det}:4: 2 boxes with zero or negative width or height skipped (the first on this line)`;
  const t = bestshot('track', '--mot', dir, '--out', join(root, 'zero-size.txt'));
  assert.equal(t.status, 0, t.stderr);
  assert.equal(t.stderr, `bestshot track: warning: ${warning}\n`);
  assert.match(t.stdout, /^71 frames at 25 fps, \d+ boxes, \d+ tracks/);
  const r = bestshot('replay', dir, '--out', join(root, 'zero-size-replay'));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, `bestshot replay: warning: ${warning}\n`);
  const summary = JSON.parse(readFileSync(join(root, 'zero-size-replay', 'summary.json'), 'utf8')) as { warnings: string[] };
  assert.deepEqual(summary.warnings, [warning]);
});

test('parseMotDetections keeps clean rows as parseMot reads them, with no warning', () => {
  const text = readFileSync(join(shared, 'det', 'det.txt'), 'utf8');
  const d = parseMotDetections(text, 'det.txt');
  assert.deepEqual(d.warnings, []);
  assert.equal(d.rows.length, 321);
  assert.deepEqual(parseMotDetections('1,-1,0,0,0,10,0.9\n', 'det.txt'), {
    rows: [],
    warnings: ['det.txt:1: 1 box with zero or negative width or height skipped (the first on this line)'],
  });
});

test('scores of -1 everywhere (unknown) are taken as 1, with a warning; a file without the score column likewise', { timeout: 60_000 }, () => {
  const unknown = variant('unknown-scores', (lines) => lines.map((l) => setColumn(l, 6, '-1')));
  const t = bestshot('track', '--mot', unknown, '--out', join(root, 'unknown.txt'));
  assert.equal(t.status, 0, t.stderr);
  assert.equal(t.stderr, `bestshot track: warning: ${join(unknown, 'det', 'det.txt')}: every score is -1 (unknown): every box is scored 1 (a high-score detection for the tracker)\n`);
  // Before: "0 boxes, 0 tracks" (every box at or below the low threshold).
  assert.match(t.stdout, /^71 frames at 25 fps, [1-9]\d* boxes, [1-9]\d* tracks/);
  const sixColumns = variant('six-columns', (lines) => lines.map((l) => l.split(',').slice(0, 6).join(',')));
  const s = bestshot('track', '--mot', sixColumns, '--out', join(root, 'six.txt'));
  assert.equal(s.status, 0, s.stderr);
  assert.equal(s.stderr, `bestshot track: warning: ${join(sixColumns, 'det', 'det.txt')}:1: 321 of 321 rows have no score column: they are scored 1 (a high-score detection for the tracker)\n`);
});

test('negative scores and scores above 1 are kept as they are, with a warning saying what to do', () => {
  const negative = parseMotDetections('1,-1,0,0,10,10,-0.5\n2,-1,0,0,10,10,-2\n', 'det.txt');
  assert.deepEqual(
    negative.rows.map((r) => r.conf),
    [-0.5, -2],
  );
  assert.deepEqual(negative.warnings, [
    "det.txt: every score is negative (-2 to -0.5): the tracker's thresholds (0.1 and up by default) drop every box; rescale the scores to 0..1, or write -1 in every row if they are unknown",
  ]);
  const percent = parseMotDetections('1,-1,0,0,10,10,99.5\n1,-1,20,0,10,10,0.5\n', 'det.txt');
  assert.deepEqual(
    percent.rows.map((r) => r.conf),
    [99.5, 0.5],
  );
  assert.deepEqual(percent.warnings, [
    "det.txt: 1 of 2 scores are above 1 (up to 99.5): the tracker's thresholds assume 0..1, so each of these counts as high-score; rescale the scores to 0..1 (a 0..100 scale: divide by 100)",
  ]);
  // Some −1 among real scores is a score like any other (DPM's run below 0).
  assert.deepEqual(parseMotDetections('1,-1,0,0,10,10,-1\n1,-1,20,0,10,10,0.5\n', 'det.txt').warnings, []);
});

test('replay refuses a sequence whose frame rate or image size is not known, naming seqinfo.ini and what to write there', { timeout: 60_000 }, () => {
  const dir = variant('no-seqinfo', (lines) => lines, false);
  const out = join(root, 'no-seqinfo-replay');
  const r = bestshot('replay', dir, '--out', out);
  assert.equal(r.status, 2);
  assert.equal(
    r.stderr,
    `bestshot replay: [ERR_INPUT] ${join(dir, 'seqinfo.ini')}: frameRate, imWidth and imHeight are needed and not known for this sequence (no such file): write them there under [Sequence], e.g. frameRate=30, imWidth=1920, imHeight=1080\n`,
  );
  assert.equal(existsSync(out), false, 'refused before anything is written');
  writeFileSync(join(dir, 'seqinfo.ini'), '[Sequence]\nframeRate=25\nseqLength=71\n');
  const partial = bestshot('replay', dir, '--out', out);
  assert.equal(partial.status, 2);
  assert.match(partial.stderr, /needed and not known for this sequence \(missing: imWidth, imHeight\)/);
});

test('det rows outside frames 1..seqLength (a 0-based file) are counted in a warning', { timeout: 60_000 }, () => {
  const dir = variant('zero-based', (lines) => lines.map((l) => setColumn(l, 0, String(Number(l.split(',')[0]) - 1))));
  const det = join(dir, 'det', 'det.txt');
  const frame0 = readFileSync(join(shared, 'det', 'det.txt'), 'utf8').split('\n').filter((l) => l.startsWith('1,')).length;
  const warning = `${det}: ${frame0} rows outside frames 1..71 ignored (frame 0); MOTChallenge frames start at 1, so a 0-based file needs 1 added to every frame`;
  const t = bestshot('track', '--mot', dir, '--out', join(root, 'zero-based.txt'));
  assert.equal(t.status, 0, t.stderr);
  assert.equal(t.stderr, `bestshot track: warning: ${warning}\n`);
  const r = bestshot('replay', dir, '--out', join(root, 'zero-based-replay'));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, `bestshot replay: warning: ${warning}\n`);
  // Beyond seqLength: the last frame's rows of an untouched det.txt against a seqinfo.ini that says 70 frames.
  const long = variant('beyond-seqlength', (lines) => lines);
  writeFileSync(join(long, 'seqinfo.ini'), readFileSync(join(shared, 'seqinfo.ini'), 'utf8').replace('seqLength=71', 'seqLength=70'));
  const frame71 = readFileSync(join(shared, 'det', 'det.txt'), 'utf8').split('\n').filter((l) => l.startsWith('71,')).length;
  const l = bestshot('track', '--mot', long, '--out', join(root, 'long.txt'));
  assert.equal(l.stderr, `bestshot track: warning: ${join(long, 'det', 'det.txt')}: ${frame71} rows outside frames 1..70 ignored (frame 71)\n`);
});

test('replay of a MOTChallenge folder without det/det.txt names the missing file, as track --mot does (it said "is a folder, not a video file")', { timeout: 60_000 }, () => {
  const dir = variant('no-det', (lines) => lines);
  rmSync(join(dir, 'det'), { recursive: true });
  const out = join(root, 'no-det-replay');
  const r = bestshot('replay', dir, '--out', out);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, `bestshot replay: [ERR_USAGE] no such file: ${join(dir, 'det', 'det.txt')} (a MOTChallenge sequence folder is replayed from its det/det.txt; this one has none)\n`);
  assert.equal(existsSync(out), false);
});
