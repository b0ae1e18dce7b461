/**
 * npm run bench -- track-quality: what each tracker option contributes, on
 * identical detections (docs/tracking.md).
 *
 * 1. MOTChallenge sequences with ground truth and detections (TUD-Campus,
 *    TUD-Stadtmitte: SORT's Faster R-CNN det.txt), scored as TrackEval:
 *    ByteTrack (the seed, and at its best setting), each option alone on top
 *    of ByteTrack, and the defaults — per sequence and pooled.
 * 2. How the defaults were chosen (rule fixed before the figures): class
 *    groups (SPEC T1) and the duplicate rule at YOLOX's NMS IoU are on; the
 *    other switches are tuned on the first half of every shared input's
 *    frames and reported on the second halves. Objective: pooled MOTA + IDF1
 *    on the MOT first halves (ties: fewer ID switches, then grid order),
 *    among the combinations whose coverage on the traffic clips' first
 *    halves is no lower than ByteTrack's. The script checks that the
 *    tracker's defaults are the winner.
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
import { BYTETRACK_OPTIONS, type TrackerOptions, resolveTrackerOptions } from '../src/track/index.js';
import { machine, writeResult } from './util.js';

const SEQUENCES = ['mot15-TUD-Campus', 'mot15-TUD-Stadtmitte'];
const B = BYTETRACK_OPTIONS;

/** The rows of section 1: name, options. */
const VARIANTS: Array<[string, TrackerOptions]> = [
  ['ByteTrack (seed, trackThresh 0.5)', { ...B }],
  ['ByteTrack, trackThresh 0.7 (its best)', { ...B, trackThresh: 0.7 }],
  ['+ class groups', { ...B, classGroups: 'default' }],
  ['+ duplicate rule', { ...B, duplicateIou: 0.45 }],
  ['+ minHits 3', { ...B, minHits: 3 }],
  ['+ BoT-SORT Kalman (xywh)', { ...B, kalman: 'xywh' }],
  ['+ OCM (momentum 0.2)', { ...B, momentum: 0.2 }],
  ['+ ORU (reupdate)', { ...B, reupdate: true }],
  ['+ OCR (recovery)', { ...B, recovery: true }],
  ['defaults', {}],
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

const SWITCHES = (() => {
  const out: Array<[string, TrackerOptions]> = [];
  for (const kalman of ['xyah', 'xywh'] as const)
    for (const momentum of [0, 0.2])
      for (const reupdate of [false, true])
        for (const recovery of [false, true])
          for (const minHits of [2, 3]) {
            const name = [kalman, momentum ? 'OCM' : '', reupdate ? 'ORU' : '', recovery ? 'OCR' : '', `minHits ${minHits}`].filter(Boolean).join(' ');
            out.push([name, { kalman, momentum, reupdate, recovery, minHits }]);
          }
  return out;
})();

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

export default async function main(): Promise<void> {
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

  console.log('\n2. Defaults: every switch combination on the first halves (tuning), the winner on the second halves (report)\n');
  const clips = await clipInputs();
  const firstHalves = clips.map((c) => halfInput(c, 1));
  const secondHalves = clips.map((c) => halfInput(c, 2));
  const seedCoverage = clipScore(firstHalves, { ...B }).covered;
  let best: { name: string; opts: TrackerOptions; key: number; idsw: number } | undefined;
  const tuning: Array<{ name: string; first: string; traffic: string; ok: boolean }> = [];
  for (const [name, switches] of SWITCHES) {
    const opts: TrackerOptions = { classGroups: 'default', duplicateIou: 0.45, ...switches };
    const m = combineMetrics(scoreSequences(opts, 1));
    const t = clipScore(firstHalves, opts);
    const ok = t.covered >= seedCoverage;
    tuning.push({ name, first: cell(m), traffic: t.text, ok });
    const key = m.MOTA + m.IDF1;
    if (ok && (!best || key > best.key + 1e-9 || (Math.abs(key - best.key) <= 1e-9 && m.IDSW < best.idsw))) best = { name, opts, key, idsw: m.IDSW };
  }
  console.log(`| switches | MOT first halves, pooled | traffic first halves: tracks/object, split, covered (ByteTrack covers ${seedCoverage}) |`);
  console.log('|---|---|---|');
  for (const t of tuning) console.log(`| ${t.name}${t.name === best!.name ? ' **← chosen**' : ''} | ${t.first} | ${t.traffic}${t.ok ? '' : ' (coverage lost)'} |`);
  const chosen = best!;
  console.log(`\n| half | ${SEQUENCES.map((s) => s.replace('mot15-', '')).join(' | ')} | pooled |`);
  console.log(sep);
  console.log(row(`first (tuning): ${chosen.name}`, scoreSequences(chosen.opts, 1)).text);
  console.log(row(`second (report): ${chosen.name}`, scoreSequences(chosen.opts, 2)).text);
  console.log(row('second: ByteTrack (seed)', scoreSequences({ ...B }, 2)).text);
  console.log(row('second: ByteTrack, trackThresh 0.7', scoreSequences({ ...B, trackThresh: 0.7 }, 2)).text);
  console.log(`\ntraffic second halves (report): ByteTrack ${clipScore(secondHalves, { ...B }).text}; ${chosen.name}: ${clipScore(secondHalves, chosen.opts).text}`);
  const d = resolveTrackerOptions();
  const c = resolveTrackerOptions(chosen.opts);
  const same = (['kalman', 'momentum', 'reupdate', 'recovery', 'minHits'] as const).every((k) => d[k] === c[k]);
  console.log(`\ntracker defaults equal the tuned choice: ${same ? 'yes' : 'NO'}`);

  console.log('\n3. Traffic clips: tracks per object / objects split / spec-policy coverage (detector-fallback ground truth)\n');
  const traffic: Record<string, unknown> = {};
  if (clips.length > 0) {
    console.log(`| tracker | ${clips.map((c) => c.name).join(' | ')} | pooled |`);
    console.log(`|---|${clips.map(() => '---').join('|')}|---|`);
    for (const [name, opts] of VARIANTS.filter(([n]) => !n.includes('0.7'))) {
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
  const file = writeResult('track-quality', { section1, chosen: chosen.name, defaultsEqualChosen: same, traffic });
  console.log(`\nwrote ${file}`);
}
