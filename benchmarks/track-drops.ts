/**
 * npm run bench -- track-drops: the tracker when frames are dropped (an
 * overloaded unit, a recording with frames missing) — each update() counted
 * as one frame (the tracker before time-aware steps, `framePeriodNs: 0`) vs
 * the frame periods between the frames' timestamps (src/track/frame-steps.ts,
 * what `track --mot` and the runtime do). docs/tracking.md, "Dropped frames".
 *
 * Two bases: every frame of the sequence (25 fps), and the frames the
 * runtime takes at captureHz 10 (A5's grid, as `bestshot replay`: the first
 * frame at or after each 100 ms tick — frames 1, 4, 6, 9, 11, …; the lost-track
 * buffer at frameRate 10). The traffic clips are tracked as `npm run eval`
 * tracks them: as `bestshot run` does (productTrackerOptions). Drop rules on the base's
 * frames, fixed before any figure: none; every 2nd frame; 30 % at random
 * (each frame by a seeded generator, seed 1); bursts of 3 (frames 4, 5, 6 of
 * every 10). The tracker sees only the kept frames; the ground truth is
 * scored on the kept frames only, renumbered 1..K — what a user of the unit
 * gets, a sequence at the rate it was processed.
 *
 * Traffic clips (detections cached by `npm run eval`; skipped without): the
 * same rules on the 10 Hz frames, tracks per ground-truth object, share of
 * objects split and 'spec' coverage against the detector-fallback ground
 * truth (computed on all frames, as `npm run eval`).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type EvalInput, evaluateInput, loadClipInput } from '../src/eval/index.js';
import { type MotCounts, type MotRow, combineMetrics, evaluateMot, readMotFile, trackMotSequence } from '../src/mot/index.js';
import { SHARED_DATA_DIR } from '../src/paths.js';
import { BYTETRACK_OPTIONS, type TrackerOptions } from '../src/track/index.js';
import { mulberry32 } from '../src/capture/sim/scene.js';
import { benchArgs, machine, writeResult } from './util.js';

const USAGE = `npm run bench -- track-drops
  (no options) MOT15 TUD sequences with frames dropped by fixed rules, per-call vs time-aware tracker (docs/tracking.md)
Writes benchmarks/results/track-drops.json.`;

const SEQUENCES = ['mot15-TUD-Campus', 'mot15-TUD-Stadtmitte'];

/** Bases: name, frames (1-based) the tracker is given of a sequence of n frames at 25 fps, frame period in frames, frameRate for the buffer. */
const BASES: Array<[string, (n: number) => number[], number, number]> = [
  ['25 fps', (n) => Array.from({ length: n }, (_, k) => k + 1), 1, 25],
  [
    '10 Hz grid',
    (n) => {
      const out: number[] = [];
      // Frame f is at (f − 1) × 40 ms; tick k at k × 100 ms: the first frame at or after it is ceil(2.5 k) + 1.
      for (let k = 0; Math.ceil(2.5 * k) + 1 <= n; k++) out.push(Math.ceil(2.5 * k) + 1);
      return out;
    },
    2.5,
    10,
  ],
];

/** Drop rules: name → the set of dropped positions among 1..n (the base's frames, in order). */
const RULES: Array<[string, (n: number) => Set<number>]> = [
  ['none', () => new Set()],
  ['every 2nd', (n) => new Set(Array.from({ length: n }, (_, k) => k + 1).filter((f) => f % 2 === 0))],
  [
    'random 30 % (seed 1)',
    (n) => {
      const rand = mulberry32(1);
      return new Set(Array.from({ length: n }, (_, k) => k + 1).filter(() => rand() < 0.3));
    },
  ],
  ['bursts of 3 (4–6 of 10)', (n) => new Set(Array.from({ length: n }, (_, k) => k + 1).filter((f) => [4, 5, 6].includes(f % 10)))],
];

const TRACKERS: Array<[string, TrackerOptions]> = [
  ['defaults', {}],
  ['ByteTrack (seed)', { ...BYTETRACK_OPTIONS }],
];

/** Rows of the kept frames, renumbered 1..K in order. */
function keptRows(rows: readonly MotRow[], renumber: ReadonlyMap<number, number>): MotRow[] {
  const out: MotRow[] = [];
  for (const r of rows) {
    const f = renumber.get(r.frame);
    if (f !== undefined) out.push({ ...r, frame: f });
  }
  return out;
}

function score(seq: string, tracker: TrackerOptions, base: (n: number) => number[], dropped: (n: number) => Set<number>): MotCounts {
  const dir = join(SHARED_DATA_DIR, seq);
  const gt = readMotFile(join(dir, 'gt', 'gt.txt'));
  const n = trackMotSequence(dir, { tracker, frames: [1, 0] }).numFrames;
  const frames = base(n);
  const drop = dropped(frames.length);
  const renumber = new Map<number, number>();
  frames.forEach((f, k) => {
    if (!drop.has(k + 1)) renumber.set(f, renumber.size + 1);
  });
  const r = trackMotSequence(dir, { tracker, dropFrame: (f) => !renumber.has(f) });
  return evaluateMot(keptRows(gt, renumber), keptRows(r.rows, renumber), { numFrames: renumber.size, benchmark: 'MOT15' });
}

const cell = (m: ReturnType<typeof combineMetrics>): string => `${m.MOTA.toFixed(1)} / ${m.IDF1.toFixed(1)} / ${m.IDSW} / ${m.tracksPerObject.toFixed(2)}`;

async function clipInputs(): Promise<EvalInput[]> {
  const cacheDir = new URL('./results/cache/', import.meta.url).pathname;
  const dir = join(SHARED_DATA_DIR, 'traffic-clips');
  if (!existsSync(dir) || !existsSync(cacheDir)) return [];
  const out: EvalInput[] = [];
  for (const file of readdirSync(dir).sort()) {
    const name = file.replace(/\.[^.]+$/, '');
    if (!readdirSync(cacheDir).some((c) => c.startsWith(`${name}-`))) continue;
    out.push(await loadClipInput(join(dir, file), { hz: 10, cacheDir, detector: () => Promise.reject(new Error('cache miss')) }));
  }
  return out;
}

/** The clip without the dropped frames (positions 1..n), imageIds renumbered from 0 (evaluateInput indexes frames by imageId). */
function keptInput(input: EvalInput, dropped: (n: number) => Set<number>): EvalInput {
  const drop = dropped(input.frames.length);
  const frames = input.frames.filter((_, k) => !drop.has(k + 1));
  return { ...input, frames: frames.map((f, i) => ({ ...f, imageId: i })) };
}

export default async function main(args: string[]): Promise<void> {
  benchArgs(args, USAGE, {});
  console.log(`track-drops: ${machine()}`);
  console.log('\nMOTA / IDF1 / IDSW / tracks per GT object, scored on the kept frames (SORT Faster R-CNN detections, Kalman boxes)\n');
  console.log(`| tracker | base | drops | steps | ${SEQUENCES.map((s) => s.replace('mot15-', '')).join(' | ')} | pooled |`);
  console.log(`|---|---|---|---|${SEQUENCES.map(() => '---').join('|')}|---|`);
  const results: Array<{ tracker: string; base: string; drops: string; steps: string; perSequence: unknown[]; pooled: unknown }> = [];
  for (const [tname, topts] of TRACKERS) {
    for (const [bname, base, period, frameRate] of BASES) {
      for (const [rule, dropped] of RULES) {
        for (const [mode, framePeriodNs] of [['per call', 0], ['time-aware', period]] as const) {
          const counts = SEQUENCES.map((s) => score(s, { ...topts, framePeriodNs, frameRate }, base, dropped));
          const per = counts.map((c) => combineMetrics([c]));
          const pooled = combineMetrics(counts);
          results.push({ tracker: tname, base: bname, drops: rule, steps: mode, perSequence: per, pooled });
          console.log(`| ${tname} | ${bname} | ${rule} | ${mode} | ${per.map(cell).join(' | ')} | ${cell(pooled)} |`);
        }
      }
    }
  }
  const clips = await clipInputs();
  const traffic: Array<{ tracker: string; drops: string; steps: string; objects: number; tracks: number; split: number; covered: number; eligible: number }> = [];
  if (clips.length === 0) console.log('\n(traffic clips skipped: no cached detections; run `npm run eval -- all` first)');
  else {
    console.log(`\nTraffic clips at 10 Hz (${clips.map((c) => c.name).join(', ')}), pooled: tracks per object / objects split / spec coverage\n`);
    console.log('| tracker | drops | per call | time-aware |');
    console.log('|---|---|---|---|');
    for (const [tname, topts] of TRACKERS) {
      for (const [rule, dropped] of RULES) {
        const cells: string[] = [];
        for (const [mode, framePeriodNs] of [['per call', 0], ['time-aware', 100_000_000]] as const) {
          const acc = { objects: 0, tracks: 0, split: 0, covered: 0, eligible: 0 };
          for (const clip of clips) {
            const r = evaluateInput(keptInput(clip, dropped), { tracker: { ...topts, framePeriodNs }, policies: ['spec'] });
            acc.objects += r.fragments.objects;
            acc.tracks += r.fragments.objectTracks;
            acc.split += r.fragments.split;
            acc.covered += r.policies.find((p) => p.policy === 'spec')!.covered;
            acc.eligible += r.objects.eligible;
          }
          traffic.push({ tracker: tname, drops: rule, steps: mode, ...acc });
          cells.push(`${(acc.tracks / acc.objects).toFixed(3)} / ${((100 * acc.split) / acc.objects).toFixed(1)} % / ${acc.covered} of ${acc.eligible}`);
        }
        console.log(`| ${tname} | ${rule} | ${cells.join(' | ')} |`);
      }
    }
  }
  const file = writeResult('track-drops', { rules: RULES.map(([r]) => r), bases: BASES.map(([b]) => b), results, traffic });
  console.log(`\nwrote ${file}`);
}
