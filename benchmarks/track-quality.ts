/**
 * npm run bench -- track-quality: what each tracker option contributes, on
 * identical detections (docs/tracking.md).
 *
 * 1. MOTChallenge sequences with ground truth and detections (TUD-Campus,
 *    TUD-Stadtmitte: SORT's Faster R-CNN det.txt), scored as TrackEval:
 *    ByteTrack (the seed, and at its best setting), each option alone on top
 *    of ByteTrack, and the defaults — per sequence and pooled.
 * 2. The defaults, fixed by a rule stated before any figure: every number
 *    from a published tracker, none fitted here — BoT-SORT's thresholds and
 *    Kalman state, ByteTrack's two-stage association (SPEC T2), SPEC T1's
 *    class groups, the duplicate-box rule (YOLOX's NMS IoU) and graded
 *    births (SORT's min_hits 3 for a box between BoT-SORT's high and
 *    new-track scores); OC-SORT's stages are options. Reported on each
 *    sequence's second half too.
 * 3. Traffic clips (detections cached by `npm run eval`; a clip without a
 *    cache is skipped): tracks per ground-truth object, share of objects
 *    split into several tracks, coverage of the 'spec' policy against the
 *    detector-fallback ground truth.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateInput, loadClipInput, type EvalInput } from '../src/eval/index.js';
import { type MotCounts, type MotRow, combineMetrics, evaluateMot, readMotFile, trackMotSequence } from '../src/mot/index.js';
import { SHARED_DATA_DIR } from '../src/paths.js';
import { BYTETRACK_OPTIONS, type TrackerOptions } from '../src/track/index.js';
import { benchArgs, machine, writeResult } from './util.js';

const USAGE = `npm run bench -- track-quality
  (no options) each tracker option on identical detections: MOT sequences, their second halves, traffic clips (docs/tracking.md)
Writes benchmarks/results/track-quality.json.`;

const SEQUENCES = ['mot15-TUD-Campus', 'mot15-TUD-Stadtmitte'];
const B = BYTETRACK_OPTIONS;

/** This round's appearance-free cues (BoostTrack, Hybrid-SORT, SparseTrack, lost-track gate), all at once. */
const ALL_CUES: TrackerOptions = { boost: true, confidenceBoost: 0.65, heightIou: true, scoreCue: 1, depthLevels: 3, lostGate: 1.5, lostMinScore: 0.7 };
/** The combination with the highest pooled IDF1 on the two first halves (grid over the seven cues; docs/tracking.md). */
const BEST_FIRST_HALVES: TrackerOptions = { boost: true, heightIou: true, lostGate: 1.5, lostMinScore: 0.7 };

/** This round's cue options (src/track/cues.ts), each on the defaults, then together: rows of both tables. */
const CUE_VARIANTS: Array<[string, TrackerOptions]> = [
  ['defaults + BoostTrack similarity boost', { boost: true }],
  ['defaults + BoostTrack DLO boost 0.65', { confidenceBoost: 0.65 }],
  ['defaults + Hybrid-SORT HMIoU', { heightIou: true }],
  ['defaults + Hybrid-SORT TCM 1', { scoreCue: 1 }],
  ['defaults + SparseTrack depth levels 3', { depthLevels: 3 }],
  ['defaults + lost gate 1.5', { lostGate: 1.5 }],
  ['defaults + lost min score 0.7', { lostMinScore: 0.7 }],
  ['defaults + all seven cues', { ...ALL_CUES }],
  ['defaults + best on first halves (boost, HMIoU, lost gate 1.5, lost min score 0.7)', { ...BEST_FIRST_HALVES }],
];

/** The rows of section 1: name, options. */
const VARIANTS: Array<[string, TrackerOptions]> = [
  ['ByteTrack (seed, trackThresh 0.5)', { ...B }],
  ['ByteTrack, trackThresh 0.7 (its best)', { ...B, trackThresh: 0.7 }],
  ['+ class groups', { ...B, classGroups: 'default' }],
  ['+ duplicate rule', { ...B, duplicateIou: 0.45 }],
  ['+ minHits 3', { ...B, minHits: 3 }],
  ['+ BoT-SORT Kalman (xywh)', { ...B, kalman: 'xywh' }],
  ['+ BoT-SORT thresholds (0.6 / 0.7)', { ...B, trackThresh: 0.6, newTrackThresh: 0.7 }],
  ['+ OCM (momentum 0.2)', { ...B, momentum: 0.2 }],
  ['+ ORU (reupdate)', { ...B, reupdate: true }],
  ['+ OCR (recovery)', { ...B, recovery: true }],
  ['+ graded births (tentativeMinHits 3)', { ...B, tentativeMinHits: 3 }],
  ['BoT-SORT preset (0.6 / 0.7, xywh) + class groups + duplicate rule', { tentativeMinHits: 0 }],
  ['defaults (BoT-SORT preset + graded births)', {}],
  ['defaults + ORU + OCR', { reupdate: true, recovery: true }],
  ['+ NSA Kalman', { ...B, nsa: true }],
  ['+ lost tracks after tracked', { ...B, lostMatching: 'after' }],
  ['+ DeepSORT cascade', { ...B, lostMatching: 'cascade' }],
  ['ByteTrack 0.7 + NSA Kalman', { ...B, trackThresh: 0.7, nsa: true }],
  ['ByteTrack 0.7 + DeepSORT cascade', { ...B, trackThresh: 0.7, lostMatching: 'cascade' }],
  ['defaults + NSA Kalman', { nsa: true }],
  ['defaults + lost tracks after tracked', { lostMatching: 'after' }],
  ['defaults + DeepSORT cascade', { lostMatching: 'cascade' }],
  ['defaults + no fuse_score (mot20)', { fuseScore: false }],
  ['defaults + NSA + cascade + no fuse_score', { nsa: true, lostMatching: 'cascade', fuseScore: false }],
  ...CUE_VARIANTS,
];

/** Section 2 rows besides the seed and the defaults: the options of this round on their own, on the defaults. */
const HALF_VARIANTS: Array<[string, TrackerOptions]> = [
  ['defaults + NSA Kalman', { nsa: true }],
  ['defaults + DeepSORT cascade', { lostMatching: 'cascade' }],
  ['defaults + no fuse_score (mot20)', { fuseScore: false }],
  ['defaults + NSA + cascade + no fuse_score', { nsa: true, lostMatching: 'cascade', fuseScore: false }],
  ...CUE_VARIANTS,
];

interface Scored {
  counts: MotCounts[];
  text: string;
}

/** Rows of frames [first, last] renumbered from 1 (a window of a sequence). */
function windowRows(rows: readonly MotRow[], first: number, last: number): MotRow[] {
  return rows.filter((r) => r.frame >= first && r.frame <= last).map((r) => ({ ...r, frame: r.frame - first + 1 }));
}

/** Track each sequence (whole, or one half of its frames: the tracker sees only that half) and score it. */
function scoreSequences(tracker: TrackerOptions, half?: 1 | 2): MotCounts[] {
  return SEQUENCES.map((seq) => {
    const dir = join(SHARED_DATA_DIR, seq);
    const gt = readMotFile(join(dir, 'gt', 'gt.txt'));
    const whole = trackMotSequence(dir, { tracker });
    if (half === undefined) return evaluateMot(gt, whole.rows, { numFrames: whole.numFrames, benchmark: 'MOT15' });
    const mid = Math.floor(whole.numFrames / 2);
    const [first, last] = half === 1 ? [1, mid] : [mid + 1, whole.numFrames];
    const part = trackMotSequence(dir, { tracker, frames: [first, last] });
    return evaluateMot(windowRows(gt, first, last), windowRows(part.rows, first, last), { numFrames: last - first + 1, benchmark: 'MOT15' });
  });
}

const cell = (m: ReturnType<typeof combineMetrics>): string =>
  `${m.MOTA.toFixed(1)} / ${m.IDF1.toFixed(1)} / ${m.HOTA.toFixed(1)} / ${m.IDSW} / ${m.tracksPerObject.toFixed(2)}`;

function row(name: string, counts: MotCounts[]): Scored {
  const per = counts.map((c) => cell(combineMetrics([c])));
  return { counts, text: `| ${name} | ${per.join(' | ')} | ${cell(combineMetrics(counts))} |` };
}

async function clipInputs(): Promise<EvalInput[]> {
  const cacheDir = new URL('./results/cache/', import.meta.url).pathname;
  const dir = join(SHARED_DATA_DIR, 'traffic-clips');
  if (!existsSync(dir)) return [];
  const out: EvalInput[] = [];
  for (const file of readdirSync(dir).sort()) {
    const name = file.replace(/\.[^.]+$/, '');
    if (!existsSync(cacheDir) || !readdirSync(cacheDir).some((c) => c.startsWith(`${name}-`))) {
      console.log(`  (skipped ${name}: no cached detections; run \`npm run eval -- ${name}\` first)`);
      continue;
    }
    out.push(await loadClipInput(join(dir, file), { hz: 10, cacheDir, detector: () => Promise.reject(new Error('cache miss')) }));
  }
  return out;
}

/** One half of a clip's frames, imageIds renumbered from 0 (ground truth as computed on the whole clip). */
function halfInput(input: EvalInput, half: 1 | 2): EvalInput {
  const mid = Math.floor(input.frames.length / 2);
  const frames = half === 1 ? input.frames.slice(0, mid) : input.frames.slice(mid);
  return { ...input, frames: frames.map((f, i) => ({ ...f, imageId: i })) };
}

/** Pooled fragmentation and 'spec' coverage of a tracker over clips. */
function clipScore(inputs: readonly EvalInput[], tracker: TrackerOptions): { covered: number; text: string } {
  let objects = 0;
  let tracks = 0;
  let split = 0;
  let covered = 0;
  let eligible = 0;
  for (const input of inputs) {
    const r = evaluateInput(input, { tracker, policies: ['spec'] });
    objects += r.fragments.objects;
    tracks += r.fragments.objectTracks;
    split += r.fragments.split;
    covered += r.policies.find((p) => p.policy === 'spec')!.covered;
    eligible += r.objects.eligible;
  }
  return { covered, text: `${(tracks / objects).toFixed(3)} / ${((100 * split) / objects).toFixed(1)} % / ${covered} of ${eligible}` };
}

export default async function main(args: string[]): Promise<void> {
  benchArgs(args, USAGE, {});
  console.log(`track-quality: ${machine()}`);
  const head = `| tracker | ${SEQUENCES.map((s) => s.replace('mot15-', '')).join(' | ')} | pooled |`;
  const sep = `|---|${SEQUENCES.map(() => '---').join('|')}|---|`;
  console.log('\n1. MOTA / IDF1 / HOTA / IDSW / tracks per GT object (SORT Faster R-CNN detections, Kalman boxes written, seqinfo frame rate)\n');
  console.log(head);
  console.log(sep);
  const section1: Record<string, MotCounts[]> = {};
  for (const [name, opts] of VARIANTS) {
    const r = row(name, scoreSequences(opts));
    section1[name] = r.counts;
    console.log(r.text);
  }

  console.log('\n2. Defaults (fixed by rule) on the second half of each sequence (the tracker sees only that half)\n');
  const clips = await clipInputs();
  console.log(head);
  console.log(sep);
  console.log(row('second half: ByteTrack (seed)', scoreSequences({ ...B }, 2)).text);
  console.log(row('second half: ByteTrack, trackThresh 0.7', scoreSequences({ ...B, trackThresh: 0.7 }, 2)).text);
  console.log(row('second half: defaults', scoreSequences({}, 2)).text);
  for (const [name, opts] of HALF_VARIANTS) {
    console.log(row(`first half: ${name}`, scoreSequences(opts, 1)).text);
    console.log(row(`second half: ${name}`, scoreSequences(opts, 2)).text);
  }
  console.log(row('first half: defaults', scoreSequences({}, 1)).text);
  const secondHalves = clips.map((c) => halfInput(c, 2));
  if (clips.length > 0) console.log(`\ntraffic second halves: ByteTrack ${clipScore(secondHalves, { ...B }).text}; defaults ${clipScore(secondHalves, {}).text}`);
  for (const [name, opts] of HALF_VARIANTS) if (clips.length > 0) console.log(`traffic second halves: ${name} ${clipScore(secondHalves, opts).text}`);

  console.log('\n3. Traffic clips: tracks per object / objects split / spec-policy coverage (detector-fallback ground truth)\n');
  const traffic: Record<string, unknown> = {};
  if (clips.length > 0) {
    console.log(`| tracker | ${clips.map((c) => c.name).join(' | ')} | pooled |`);
    console.log(`|---|${clips.map(() => '---').join('|')}|---|`);
    for (const [name, opts] of VARIANTS.filter(([n]) => !n.startsWith('ByteTrack, trackThresh 0.7'))) {
      let objects = 0;
      let tracks = 0;
      let split = 0;
      let covered = 0;
      let eligible = 0;
      const cells: string[] = [];
      for (const input of clips) {
        const r = evaluateInput(input, { tracker: opts, policies: ['spec'] });
        const spec = r.policies.find((p) => p.policy === 'spec')!;
        objects += r.fragments.objects;
        tracks += r.fragments.objectTracks;
        split += r.fragments.split;
        covered += spec.covered;
        eligible += r.objects.eligible;
        cells.push(`${r.fragments.tracksPerObject.toFixed(2)} / ${r.fragments.split} of ${r.fragments.objects} / ${spec.covered} of ${r.objects.eligible}`);
      }
      traffic[name] = { objects, tracks, split, covered, eligible };
      console.log(`| ${name} | ${cells.join(' | ')} | ${(tracks / objects).toFixed(3)} / ${((100 * split) / objects).toFixed(1)} % / ${covered} of ${eligible} |`);
    }
  }
  const file = writeResult('track-quality', { section1, defaultsRule: 'published constants only: BoT-SORT thresholds and Kalman state, ByteTrack association, SPEC T1 class groups, duplicate rule, graded births with SORT min_hits', traffic });
  console.log(`\nwrote ${file}`);
}
