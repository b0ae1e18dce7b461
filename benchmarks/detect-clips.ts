/**
 * npm run bench -- detect-clips [--every K]
 *
 * Per-clip detection summary on ../shared/data/traffic-clips (D1): every K-th
 * frame through YOLOX-Nano with the traffic class filter; prints counts per
 * class and the share of sampled frames with at least one vehicle, and writes
 * the sampled frame with the most boxes, annotated, to docs/img/detect-<clip>.jpg
 * (into the --results folder instead, when run.ts was given one).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import { encodeJpeg, openCapture } from '../src/capture/index.js';
import { annotate } from '../src/detect/annotate.js';
import { Detector, TRAFFIC_CLASSES, tensorOptionsFor } from '../src/detect/index.js';
import { PROJECT_ROOT, TRAFFIC_CLIPS_DIR } from '../src/paths.js';
import type { Box } from '../src/types.js';
import { benchArgs, benchNumber, givenResultsDir, machine, writeResult } from './util.js';

const USAGE = `npm run bench -- detect-clips [--every K]
  --every K  detect on every K-th frame of each traffic clip (default 5)
Writes benchmarks/results/detect-clips.json and docs/img/detect-<clip>.jpg (both into DIR with --results DIR).`;

const VEHICLES = new Set(['car', 'bus', 'truck', 'motorcycle']);

export default async function (args: string[]): Promise<void> {
  const { values } = benchArgs(args, USAGE, { every: { type: 'string' } });
  const every = benchNumber('positive integer', '--every', values.every, 5);
  const d = await Detector.create({ providers: ['cpu'], classes: [...TRAFFIC_CLASSES], logger: () => {} });
  console.log(`detect-clips — ${machine()}; YOLOX-Nano, score ≥ ${d.manifest.thresholds.score}, classes ${TRAFFIC_CLASSES.join(',')}, every ${every}th frame\n`);
  console.log('| clip | frames (sampled) | sampled frames with a vehicle | boxes per class | image |');
  console.log('|---|---|---|---|---|');
  const results: Record<string, unknown> = {};
  for (const clip of readdirSync(TRAFFIC_CLIPS_DIR).sort()) {
    const src = openCapture({ source: { type: 'file', path: join(TRAFFIC_CLIPS_DIR, clip) }, tensor: tensorOptionsFor(d.manifest) });
    const counts: Record<string, number> = {};
    let index = 0;
    let sampled = 0;
    let withVehicle = 0;
    let best: { width: number; height: number; pixels: Uint8Array; boxes: Box[]; index: number } | undefined;
    for await (const f of src) {
      const i = index++;
      if (i % every !== 0) continue;
      sampled++;
      const boxes = await d.detect({ tensor: f.tensor!, letterbox: f.letterbox!, frameWidth: f.width, frameHeight: f.height });
      for (const b of boxes) counts[b.label] = (counts[b.label] ?? 0) + 1;
      if (boxes.some((b) => VEHICLES.has(b.label))) withVehicle++;
      if (!best || boxes.length > best.boxes.length) {
        const row = f.width * 3;
        const pixels = new Uint8Array(row * f.height);
        for (let y = 0; y < f.height; y++) pixels.set(f.pixels.subarray(y * f.stride, y * f.stride + row), y * row);
        best = { width: f.width, height: f.height, pixels, boxes, index: i };
      }
    }
    src.close();
    const name = basename(clip, extname(clip));
    // The committed docs images are replaced only by a run that writes the committed results.
    const imgPath = join(givenResultsDir() ?? join(PROJECT_ROOT, 'docs', 'img'), `detect-${name}.jpg`);
    if (best) {
      const img = { width: best.width, height: best.height, format: 'BGR' as const, pixels: best.pixels };
      annotate(img, best.boxes);
      writeFileSync(imgPath, await encodeJpeg(img, { quality: 60 }));
    }
    const perClass = Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([l, n]) => `${l} ${n}`).join(', ');
    console.log(`| ${clip} | ${index} (${sampled}) | ${withVehicle} (${((100 * withVehicle) / sampled).toFixed(0)} %) | ${perClass || 'none'} | ${givenResultsDir() === undefined ? relative(PROJECT_ROOT, imgPath) : imgPath} (frame ${best?.index}) |`);
    results[clip] = { frames: index, sampled, withVehicle, counts, annotatedFrame: best?.index };
  }
  await d.close();
  console.log(`\nresult: ${writeResult('detect-clips', results)}`);
}
