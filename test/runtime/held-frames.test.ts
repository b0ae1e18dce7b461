/**
 * cameras[].heldFrames (camera-runner.ts): a frame the selection policy still
 * holds past the ring's window keeps its package JPEG instead of its pixels.
 * `bestshot replay` of a real clip with the real model, twice — 'jpeg' (the
 * default) and 'pixels' — into the real receiver: the same packages, each
 * image byte for byte the same, and only 'jpeg' gave held pixels back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { replayClip } from '../helpers/replay.js';
import { TRAFFIC_CLIPS_DIR } from '../../src/paths.js';
import type { ReplaySummary } from '../../src/runtime/replay.js';

const CLIP = join(TRAFFIC_CLIPS_DIR, 'motorway-overpass-light.mp4');

function replay(heldFrames: 'jpeg' | 'pixels'): { summary: ReplaySummary; images: Map<string, Buffer> } {
  // shared-best holds each object's candidate frames up to maxLatencyS (10 s): far past the ring's window.
  const { out, packages: root } = replayClip(CLIP, { cameraId: 'held', camera: `heldFrames: ${heldFrames}\nselection: { policy: shared-best }`, upload: '{ sendHz: 50 }' });
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as ReplaySummary;
  const images = new Map<string, Buffer>();
  for (const k of readdirSync(root)) images.set(k, readFileSync(join(root, k, 'image.jpg')));
  return { summary, images };
}

test("heldFrames 'jpeg' sends the same images as 'pixels', and gives the held frames' pixels back", { timeout: 300_000 }, () => {
  const jpeg = replay('jpeg');
  const pixels = replay('pixels');
  assert.ok(jpeg.images.size > 0, 'nothing stored');
  assert.equal(jpeg.summary.undelivered, 0);
  // Packages sent after 1 s of holding exist (shared-best waits up to 10 s), so frames were compacted.
  assert.ok(jpeg.summary.framesHeldAsJpeg > 0, `framesHeldAsJpeg ${jpeg.summary.framesHeldAsJpeg}`);
  assert.equal(pixels.summary.framesHeldAsJpeg, 0);
  // Two replays of a clip may select a frame or two apart (two inference workers); a frame both sent is the same image.
  const common = [...jpeg.images.keys()].filter((k) => pixels.images.has(k));
  assert.ok(common.length >= 0.7 * Math.max(jpeg.images.size, pixels.images.size), `only ${common.length} of ${jpeg.images.size} / ${pixels.images.size} packages in common`);
  for (const k of common) {
    const a = jpeg.images.get(k)!;
    const b = pixels.images.get(k)!;
    assert.ok(a.equals(b), `${k}: the image differs (${a.length} vs ${b.length} bytes)`);
  }
});
