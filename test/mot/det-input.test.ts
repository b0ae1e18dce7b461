/**
 * What `bestshot track --mot` and `bestshot replay <MOT dir>` do with det.txt
 * files that are not the clean shared ones: each case is a variant of
 * TUD-Campus built in a temp dir, and the CLI runs as a subprocess.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
