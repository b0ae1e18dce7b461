/**
 * The evaluator against TrackEval's printed metrics (the reference files in
 * ../shared/data say which TrackEval commit and settings produced them).
 * Expected values are read from those files, not copied here.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { type MotCounts, type MotRow, combineMetrics, evaluateMot, readMotFile, readSeqInfo } from '../../src/mot/index.js';
import { sharedPath } from '../../src/paths.js';

type Table = Map<string, Map<string, number>>;

/** Parse TrackEval's stdout tables ("CLEAR: tracker-class  MOTA ..." header, one row per sequence). */
function parseReference(path: string): Record<'HOTA' | 'CLEAR' | 'Identity' | 'Count', Table> {
  const out = { HOTA: new Map(), CLEAR: new Map(), Identity: new Map(), Count: new Map() } as Record<'HOTA' | 'CLEAR' | 'Identity' | 'Count', Table>;
  let current: { table: Table; cols: string[] } | null = null;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const header = /^(CLEAR|Identity|Count|HOTA): \S+\s+(.*)$/.exec(line);
    if (header) {
      const name = header[1] as 'CLEAR' | 'Identity' | 'Count' | 'HOTA';
      current = { table: out[name], cols: header[2]!.trim().split(/\s+/) };
      continue;
    }
    if (!current || line.trim() === '') {
      if (line.trim() === '') current = null;
      continue;
    }
    const [seq, ...vals] = line.trim().split(/\s+/);
    current.table.set(seq!, new Map(current.cols.map((c, k) => [c, Number(vals[k])])));
  }
  return out;
}

interface Case {
  seq: string;
  dir: string;
  res: string;
}

const tud: Case[] = ['TUD-Campus', 'TUD-Stadtmitte'].map((seq) => ({ seq, dir: `mot15-${seq}`, res: `sample_tracker_output/${seq}.txt` }));
const mot17: Case[] = ['02', '04', '05', '10', '11'].map((n) => ({
  seq: `MOT17-${n}-FRCNN`,
  dir: `mot17-train-gt-mpntrack/MOT17-${n}-FRCNN`,
  res: `reference_tracker_MPNTrack/MOT17-${n}-FRCNN.txt`,
}));

function check(ref: ReturnType<typeof parseReference>, seq: string, m: ReturnType<typeof evaluateMot>): void {
  const clear = ref.CLEAR.get(seq)!;
  const id = ref.Identity.get(seq)!;
  const hota = ref.HOTA.get(seq)!;
  assert.ok(clear && id && hota, `reference has ${seq}`);
  for (const k of ['HOTA', 'DetA', 'AssA', 'DetRe', 'DetPr', 'AssRe', 'AssPr', 'LocA', 'OWTA', 'HOTA(0)', 'LocA(0)', 'HOTALocA(0)'] as const) {
    assert.ok(Math.abs(m[k] - hota.get(k)!) < 0.01, `${seq} ${k}: ${m[k]} vs ${hota.get(k)}`);
  }
  // Within 0.1 for the ratios (TrackEval prints 5 significant digits), exact for counts.
  for (const [ours, theirs] of [['MOTA', 'MOTA'], ['MOTP', 'MOTP'], ['recall', 'CLR_Re'], ['precision', 'CLR_Pr'], ['sMOTA', 'sMOTA']] as const) {
    assert.ok(Math.abs(m[ours] - clear.get(theirs)!) < 0.1, `${seq} ${theirs}: ${m[ours]} vs ${clear.get(theirs)}`);
  }
  for (const [ours, theirs] of [['IDF1', 'IDF1'], ['IDR', 'IDR'], ['IDP', 'IDP']] as const) {
    assert.ok(Math.abs(m[ours] - id.get(theirs)!) < 0.1, `${seq} ${theirs}: ${m[ours]} vs ${id.get(theirs)}`);
  }
  const counts: Array<[keyof MotCounts, number]> = [
    ['TP', clear.get('CLR_TP')!], ['FN', clear.get('CLR_FN')!], ['FP', clear.get('CLR_FP')!], ['IDSW', clear.get('IDSW')!],
    ['MT', clear.get('MT')!], ['PT', clear.get('PT')!], ['ML', clear.get('ML')!], ['Frag', clear.get('Frag')!],
    ['IDTP', id.get('IDTP')!], ['IDFN', id.get('IDFN')!], ['IDFP', id.get('IDFP')!],
    ['gtDets', ref.Count.get(seq)!.get('GT_Dets')!], ['trackerDets', ref.Count.get(seq)!.get('Dets')!],
    ['gtIds', ref.Count.get(seq)!.get('GT_IDs')!], ['trackerIds', ref.Count.get(seq)!.get('IDs')!],
  ];
  for (const [k, v] of counts) assert.equal(m[k], v, `${seq} ${k}`);
}

function run(c: Case): ReturnType<typeof evaluateMot> {
  const info = readSeqInfo(sharedPath(c.dir));
  return evaluateMot(readMotFile(sharedPath(c.dir, 'gt', 'gt.txt')), readMotFile(sharedPath(c.dir, c.res)), { numFrames: info?.seqLength });
}

describe('eval-mot matches TrackEval', () => {
  test('MOT15 mode: TUD sample tracker outputs, per sequence and combined (HOTA, CLEAR, Identity, Count)', () => {
    const ref = parseReference(sharedPath('REFERENCE_METRICS_mot15_TUD_sample_tracker_TrackEval.txt'));
    const all = tud.map((c) => {
      const m = run(c);
      check(ref, c.seq, m);
      return m;
    });
    check(ref, 'COMBINED', { ...combineMetrics(all), Frag: ref.CLEAR.get('COMBINED')!.get('Frag')!, gtIds: all.reduce((s, m) => s + m.gtIds, 0), trackerIds: all.reduce((s, m) => s + m.trackerIds, 0) });
  });

  test('MOT17 preprocessing: MPNTrack on MOT17-02/04/05/10/11, per sequence and combined (HOTA, CLEAR, Identity, Count)', () => {
    const ref = parseReference(sharedPath('mot17-train-gt-mpntrack', 'REFERENCE_METRICS_TrackEval.txt'));
    const all = mot17.map((c) => {
      const m = run(c);
      check(ref, c.seq, m);
      return m;
    });
    const combined = combineMetrics(all);
    const clear = ref.CLEAR.get('COMBINED')!;
    assert.ok(Math.abs(combined.MOTA - clear.get('MOTA')!) < 0.1);
    assert.ok(Math.abs(combined.IDF1 - ref.Identity.get('COMBINED')!.get('IDF1')!) < 0.1);
    assert.ok(Math.abs(combined.HOTA - ref.HOTA.get('COMBINED')!.get('HOTA')!) < 0.01);
    assert.equal(combined.IDSW, clear.get('IDSW'));
    assert.equal(combined.FP, clear.get('CLR_FP'));
    assert.equal(combined.FN, clear.get('CLR_FN'));
  });

  test('MOT17 preprocessing: tracker boxes on distractors (classes 2, 7, 8, 12) are removed, in MOT15 mode they are FP', () => {
    const ref = parseReference(sharedPath('mot17-train-gt-mpntrack', 'REFERENCE_METRICS_TrackEval.txt'));
    const c = mot17[0]!;
    const gt = readMotFile(sharedPath(c.dir, 'gt', 'gt.txt'));
    const res = readMotFile(sharedPath(c.dir, c.res));
    // A tracker that also reports every distractor exactly where the gt has it.
    const distractors = gt.filter((r) => [2, 7, 8, 12].includes(r.classId)).map((r) => ({ ...r, id: 100000 + r.id, conf: 1, classId: -1 }));
    assert.ok(distractors.length > 1000, `${distractors.length} distractor boxes`);
    const a = evaluateMot(gt, [...res, ...distractors], { benchmark: 'MOT17', numFrames: 600 });
    check(ref, c.seq, { ...a, trackerDets: a.trackerDets, trackerIds: ref.Count.get(c.seq)!.get('IDs')! });
    const b = evaluateMot(gt, [...res, ...distractors], { benchmark: 'MOT15', numFrames: 600 });
    // MOT17 mode removed every added box; MOT15 mode scores them (mostly FP).
    assert.equal(b.trackerDets - a.trackerDets, distractors.length);
    assert.ok(b.FP - a.FP > 0.9 * distractors.length, `${b.FP - a.FP} extra FP`);
  });
});

describe('CLEAR and identity on hand-made cases', () => {
  const box = (frame: number, id: number, left: number, extra: Partial<MotRow> = {}): MotRow => ({
    frame, id, left, top: 0, width: 10, height: 10, conf: 1, classId: -1, visibility: -1, ...extra,
  });

  test('an identity switch is counted once and the previous-frame pair is kept (continuity bonus)', () => {
    // gt 1 walks right; tracker ids 7 then 8 cover it; frame 3 both trackers overlap, 8 continues.
    const gt = [box(1, 1, 0), box(2, 1, 0), box(3, 1, 0)];
    const res = [box(1, 7, 0), box(2, 8, 0), box(3, 8, 1), box(3, 7, 0)];
    const m = evaluateMot(gt, res, { benchmark: 'MOT15' });
    assert.equal(m.TP, 3);
    assert.equal(m.IDSW, 1);
    assert.equal(m.FP, 1);
    // Frame 3: 7 has IoU 1 and 8 has IoU 9/11; continuity keeps 8 (no second switch).
    assert.equal(m.FN, 0);
    // Identity: gt 1 ↔ best single tracker id, 2 of 3 frames (id 8: frames 2,3; id 7: frames 1,3).
    assert.equal(m.IDTP, 2);
    assert.equal(m.IDFN, 1);
    assert.equal(m.IDFP, 2);
  });

  test('IoU below 0.5 is no match; zero-flag gt is ignored', () => {
    const gt = [box(1, 1, 0), box(1, 2, 100, { conf: 0 })];
    const res = [box(1, 5, 6), box(1, 6, 100)];
    const m = evaluateMot(gt, res, { benchmark: 'MOT15' });
    // IoU(0..10, 6..16) = 4/16 = 0.25 < 0.5 → FN 1, FP 2 (the box on the ignored gt is a FP in MOT15 mode).
    assert.deepEqual([m.TP, m.FN, m.FP, m.gtIds], [0, 1, 2, 1]);
    assert.equal(m.MOTA, -200); // (TP − FP − IDSW) / gt = (0 − 2 − 0) / 1
  });

  test('MOT17: a tracker box on a distractor gt is removed, not a FP', () => {
    const gt = [box(1, 1, 0, { classId: 1 }), box(1, 2, 100, { classId: 7 }), box(1, 3, 200, { classId: 3 })];
    const res = [box(1, 5, 0), box(1, 6, 100), box(1, 7, 200)];
    const m = evaluateMot(gt, res, { benchmark: 'MOT17' });
    // 6 sits on a static person (7): removed. 7 sits on a car (3): not a distractor → FP.
    assert.deepEqual([m.TP, m.FN, m.FP, m.trackerDets], [1, 0, 1, 2]);
  });
});
