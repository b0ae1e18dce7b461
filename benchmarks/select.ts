/**
 * npm run bench -- select [--frames N] [--tracks 10,50,200]
 *
 * Per-frame cost of each selection policy (S1–S7 and the alternatives) on
 * synthetic tracks: `tracks` objects crossing a 1920×1080 frame with noisy
 * scores and boxes, each living ~80 frames, entries capped at 600 like the
 * tracker. Prints µs per frame (p50/p90/p99) and uploads per 100 frames
 * (how many were immediate, and how many queued packages replace-queued
 * replaced).
 */
import { POLICY_NAMES, createPolicy, type PolicyDecision } from '../src/select/index.js';
import type { Track } from '../src/types.js';
import { benchArgs, benchNumber, benchNumbers, fmt, machine, summary, writeResult } from './util.js';

const USAGE = `npm run bench -- select [--frames N] [--tracks 10,50,200]
  --frames N         frames per run (default 3000)
  --tracks 10,50,200 objects alive at once, one run each (default 10,50,200)
Writes benchmarks/results/select.json.`;

const W = 1920;
const H = 1080;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

export default async function (args: string[]): Promise<void> {
  const { values } = benchArgs(args, USAGE, { frames: { type: 'string' }, tracks: { type: 'string' } });
  const frames = benchNumber('positive integer', '--frames', values.frames, 3000);
  const sizes = benchNumbers('positive integer', '--tracks', values.tracks ?? '10,50,200');
  console.log(`select benchmark: ${frames} frames per run, ${machine()}`);
  const results: Record<string, unknown>[] = [];
  for (const nTracks of sizes) {
    for (const name of POLICY_NAMES) {
      const rnd = rng(42);
      const policy = createPolicy(name);
      const live = new Map<number, { track: Track; vx: number; x: number; y: number; size: number; born: number }>();
      let nextId = 1;
      const times: number[] = [];
      let uploads = 0;
      let immediate = 0;
      let replaced = 0;
      const count = (ds: PolicyDecision[]): void => {
        uploads += ds.length;
        for (const d of ds) {
          if (d.route === 'immediate') immediate++;
          if (d.kind === 'replace') replaced += d.replacesImageIds.length;
        }
      };
      for (let f = 0; f < frames; f++) {
        const ts = BigInt(f) * 100_000_000n;
        while (live.size < nTracks) {
          const size = 20 + rnd() * 200;
          live.set(nextId, { track: { trackId: nextId, classId: 2, entries: [] }, vx: 10 + rnd() * 20, x: -size / 2, y: 100 + rnd() * (H - 200), size, born: f });
          nextId++;
        }
        const ended: number[] = [];
        const tracks: Track[] = [];
        for (const [id, o] of live) {
          o.x += o.vx;
          if (o.x > W + o.size || f - o.born > 120) {
            ended.push(id);
            continue;
          }
          const grow = 1 + (f - o.born) / 200;
          o.track.entries.push({
            timestampNs: ts,
            imageId: f,
            exposureMode: rnd() < 0.02 ? 'auto' : 'manual',
            cameraPosition: null,
            box: { cx: o.x, cy: o.y, w: o.size * grow * (0.95 + rnd() * 0.1), h: o.size * 0.7 * grow, angle: 0, classId: 2, label: 'car', score: 0.4 + rnd() * 0.55 },
            worldPosition: null,
          });
          if (o.track.entries.length > 600) o.track.entries.shift();
          tracks.push(o.track);
        }
        for (const id of ended) live.delete(id);
        const t0 = process.hrtime.bigint();
        count(policy.onFrame({ imageId: f, timestampNs: ts, width: W, height: H }, tracks));
        count(policy.onTrackEnd(ended));
        times.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
      count(policy.flush());
      const s = summary(times.slice(100));
      console.log(
        `tracks ${String(nTracks).padStart(4)}  ${name.padEnd(15)} µs/frame p50 ${fmt(s.p50, 1).padStart(7)}  p90 ${fmt(s.p90, 1).padStart(7)}  p99 ${fmt(s.p99, 1).padStart(7)}  uploads/100 frames ${fmt((uploads / frames) * 100, 1).padStart(5)} (immediate ${fmt((immediate / frames) * 100, 1)}, replacing ${fmt((replaced / frames) * 100, 1)} queued)`,
      );
      results.push({ tracks: nTracks, policy: name, usPerFrame: s, uploadsPer100Frames: (uploads / frames) * 100, immediatePer100Frames: (immediate / frames) * 100, replacedPer100Frames: (replaced / frames) * 100, objects: nextId - 1 });
    }
  }
  console.log('wrote', writeResult('select', { frames, results }));
}
