/** bestshot track / eval-mot commands end to end on a real sequence (files on disk). */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { parseMot, readSeqInfo } from '../../src/mot/index.js';
import { sharedPath } from '../../src/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'bestshot-mot-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  try {
    const code = await main(argv);
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test('track --mot writes MOTChallenge results that eval-mot scores', async () => {
  const seq = sharedPath('mot15-TUD-Campus');
  const res = join(dir, 'TUD-Campus.txt');
  // The tracker's defaults (docs/tracking.md): above SORT's and the official ByteTrack's MOTA on these detections.
  const t = await capture(['track', '--mot', seq, '--out', res]);
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /^71 frames at 25 fps, \d+ boxes, \d+ tracks/);
  const rows = parseMot(readFileSync(res, 'utf8'));
  assert.ok(rows.length > 200);
  assert.ok(rows.every((r) => r.frame >= 1 && r.frame <= 71 && r.id >= 1 && r.width > 0));
  // One box per id and frame.
  assert.equal(new Set(rows.map((r) => `${r.frame}:${r.id}`)).size, rows.length);
  const e = await capture(['eval-mot', '--gt', join(seq, 'gt', 'gt.txt'), '--res', res, '--json']);
  assert.equal(e.code, 0, e.err);
  const m = JSON.parse(e.out) as { benchmark: string; MOTA: number; IDF1: number; FP: number; FN: number };
  assert.equal(m.benchmark, 'MOT15');
  assert.ok(m.MOTA > 62.7, `MOTA ${m.MOTA}`);
  const text = await capture(['eval-mot', '--gt', join(seq, 'gt', 'gt.txt'), '--res', res]);
  assert.match(text.out, /^MOT15 preprocessing, IoU 0\.5\nHOTA [\d.]+  DetA [\d.]+  AssA [\d.]+  LocA [\d.]+\nMOTA \d+\.\d{3}  MOTP [\d.]+  IDF1 [\d.]+  IDP [\d.]+  IDR [\d.]+\nIDSW \d+  FP \d+  FN \d+  TP \d+  MT \d+  PT \d+  ML \d+  Frag \d+/);
});

test('eval-mot on the TUD sample tracker prints the reference MOTA/IDF1', async () => {
  const seq = sharedPath('mot15-TUD-Stadtmitte');
  const e = await capture(['eval-mot', '--gt', join(seq, 'gt', 'gt.txt'), '--res', join(seq, 'sample_tracker_output', 'TUD-Stadtmitte.txt'), '--json']);
  const m = JSON.parse(e.out) as { MOTA: number; IDF1: number; IDSW: number };
  // Reference: REFERENCE_METRICS_mot15_TUD_sample_tracker_TrackEval.txt (MOTA 56.401, IDF1 64.462, IDSW 7).
  const ref = readFileSync(sharedPath('REFERENCE_METRICS_mot15_TUD_sample_tracker_TrackEval.txt'), 'utf8');
  const clear = /CLEAR:[\s\S]*?\nTUD-Stadtmitte\s+([\d.]+)/.exec(ref)!;
  const id = /Identity:[\s\S]*?\nTUD-Stadtmitte\s+([\d.]+)/.exec(ref)!;
  assert.ok(Math.abs(m.MOTA - Number(clear[1])) < 0.01);
  assert.ok(Math.abs(m.IDF1 - Number(id[1])) < 0.01);
});

test('readSeqInfo and bad input messages', async () => {
  assert.deepEqual(readSeqInfo(sharedPath('mot15-TUD-Campus')), { name: 'TUD-Campus', frameRate: 25, seqLength: 71, imWidth: 640, imHeight: 480 });
  assert.equal(readSeqInfo(dir), null);
  assert.throws(() => parseMot('1,2,3\n', 'x.txt'), { name: 'InputError', message: "x.txt:1: expected 'frame,id,left,top,width,height,...' but read '1,2,3'" });
  const bad = join(dir, 'bad.txt');
  writeFileSync(bad, '1,1,0,0,10,10,1\nnot,a,row\n');
  const e = await capture(['eval-mot', '--gt', bad, '--res', bad]);
  assert.equal(e.code, 2);
  assert.equal(e.err, `bestshot eval-mot: [ERR_INPUT] ${bad}:2: expected 'frame,id,left,top,width,height,...' but read 'not,a,row'`);
  const t = await capture(['track', '--mot', sharedPath('mot15-TUD-Campus'), '--out', join(dir, 'x.txt'), '--track-thresh', 'high']);
  assert.equal(t.err, "bestshot track: [ERR_USAGE] Expected number for --track-thresh but received 'high'");
  assert.equal(t.code, 2, 'a usage error exits 2');
  // Missing input or an output that cannot be written: usage errors (exit 2), before any tracking (README).
  const u = await capture(['track', '--mot', dir, '--out', join(dir, 'y.txt')]);
  assert.equal(u.err, `bestshot track: [ERR_USAGE] no such file: ${join(dir, 'det', 'det.txt')} (--mot: a MOTChallenge sequence folder holds det/det.txt)`);
  assert.equal(u.code, 2);
  // Before: the sequence was tracked, then writing failed with a bare ENOENT (exit 1).
  const o = await capture(['track', '--mot', sharedPath('mot15-TUD-Campus'), '--out', join(bad, 'r.txt')]);
  assert.equal(o.err, `bestshot track: [ERR_USAGE] ${bad} is a file, not a folder: choose another --out`);
  assert.equal(o.code, 2);
  // The tracker's ranges are the flags' (before: exit 1, naming trackBuffer, matchThreshold…).
  const tb = await capture(['track', '--mot', sharedPath('mot15-TUD-Campus'), '--out', join(dir, 'z.txt'), '--track-buffer', '-1']);
  assert.equal(tb.err, 'bestshot track: [ERR_USAGE] Expected non-negative integer for --track-buffer but received -1 of type number');
  assert.equal(tb.code, 2);
  const folder = await capture(['track', '--mot', sharedPath('mot15-TUD-Campus'), '--out', dir]);
  assert.equal(folder.err, `bestshot track: [ERR_USAGE] --out ${dir} is a folder: name the result file, e.g. ${join(dir, 'res.txt')}`);
  assert.equal(folder.code, 2);
  const g = await capture(['eval-mot', '--gt', join(dir, 'none.txt'), '--res', bad]);
  assert.equal(g.err, `bestshot eval-mot: [ERR_USAGE] no such file: ${join(dir, 'none.txt')} (--gt)`);
  assert.equal(g.code, 2);
});

test('eval-mot --benchmark MOT17 on a MOT15 gt (no class column) is refused: it would keep no ground truth', async () => {
  const seq = sharedPath('mot15-TUD-Stadtmitte');
  const gt = join(seq, 'gt', 'gt.txt');
  const e = await capture(['eval-mot', '--gt', gt, '--res', join(seq, 'sample_tracker_output', 'TUD-Stadtmitte.txt'), '--benchmark', 'MOT17']);
  assert.equal(e.code, 2);
  assert.equal(e.out, '');
  assert.equal(
    e.err,
    `bestshot eval-mot: [ERR_USAGE] --benchmark MOT17 scores only gt rows of class 1 (column 8) with a non-zero flag (column 7), and ${gt} has none (MOT15 gt has no class column): use --benchmark MOT15, or leave --benchmark out to have it guessed`,
  );
  const mot15 = await capture(['eval-mot', '--gt', gt, '--res', join(seq, 'sample_tracker_output', 'TUD-Stadtmitte.txt'), '--benchmark', 'MOT15']);
  assert.equal(mot15.code, 0, mot15.err);
});
