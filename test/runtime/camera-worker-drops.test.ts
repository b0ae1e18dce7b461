/**
 * T2/A5 with frames dropped: the runtime hands the tracking worker each
 * frame's capture timestamp and, through the camera's tracker options, its
 * captureHz period (config/adapters.ts trackerOptions → service.ts
 * workerInitFor → camera-worker.ts → ByteTracker). A frame taken three
 * periods after the previous one (two dropped as busy) is predicted three
 * steps, so an object moving at constant speed keeps its track — and its one
 * upload (S6) — instead of a new track after every gap.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { StreamGrid, capturePeriodNs } from '../../src/capture/fixed-rate.js';
import { parseConfig } from '../../src/config/index.js';
import { SHARED_DIR } from '../../src/paths.js';
import run, { type CameraWorkerInit } from '../../src/runtime/camera-worker.js';
import { workerInitFor } from '../../src/runtime/service.js';
import type { FrameDetections } from '../../src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'bestshot-drops-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function init(id: string): CameraWorkerInit {
  const yaml = `
model: { providers: [cpu] }
cameras:
  - { id: ${id}, source: { type: test }, captureHz: 10, selection: { policy: spec } }
upload: { endpoint: "http://127.0.0.1:9/in", token: { env: TOK } }
queue: { path: q.sqlite }
`;
  const config = parseConfig(yaml, { baseDir: dir, env: { BESTSHOT_SHARED_DIR: SHARED_DIR, TOK: 't' } }).config;
  return { ...workerInitFor(config.cameras[0]!, config.upload.content), trackIdFloor: 1 };
}

test('a car seen every third frame at captureHz 10 (two of three dropped) keeps one track through the worker', () => {
  const cam = init('drops');
  // 100 ms periods; 15 px per period, a 40 px wide box: two periods of under-shoot leave IoU 0.14.
  const periods = [...Array.from({ length: 10 }, (_, k) => k), ...Array.from({ length: 10 }, (_, k) => 12 + 3 * k)];
  const ids: number[][] = [];
  const ended: number[] = [];
  for (const [imageId, p] of periods.entries()) {
    const detections: FrameDetections = {
      cameraId: cam.cameraId,
      imageId, // consecutive, as the runtime numbers the frames it admits
      timestampNs: BigInt(p) * 100_000_000n,
      exposureMode: 'manual',
      cameraPosition: null,
      width: 1280,
      height: 720,
      boxes: [{ cx: 100 + 15 * p, cy: 300, w: 40, h: 100, angle: 0, classId: 2, label: 'car', score: 0.9 }],
    };
    const r = run({ op: 'frame', init: cam, detections });
    ids.push(r.frameTracks.map((t) => t.trackId));
    ended.push(...r.endedTrackIds);
  }
  run({ op: 'drop-state', init: cam });
  assert.deepEqual(ids, periods.map(() => [1]), 'track 1 in every frame');
  assert.deepEqual(ended, []);
});

test('a 12.5 fps recording at captureHz 10: the worker counts the grid ticks the frames carry, so a car unseen for 30 ticks (3 s) is found again', () => {
  const cam = init('ticks');
  // The runner's StreamGrid over 80 ms frames: taken frames are 160, 80, 80, 80 ms apart, one tick each.
  // Counted by rounded timestamp gaps the 30 ticks were 37 frames, past T2's 30-frame buffer.
  const grid = new StreamGrid(capturePeriodNs(10));
  const ids: number[][] = [];
  const ended: number[] = [];
  for (let i = 0, imageId = 0; i < 45; i++) {
    const pts = BigInt(i) * 80_000_000n;
    if (!grid.take(pts)) continue;
    const tick = grid.tick;
    if (tick > 32) break;
    const detections: FrameDetections = {
      cameraId: cam.cameraId,
      imageId: imageId++,
      timestampNs: pts,
      exposureMode: 'manual',
      cameraPosition: null,
      width: 1280,
      height: 720,
      // Seen on ticks 0 and 1, unseen on ticks 2–31 (parked behind a truck), seen on tick 32.
      boxes: tick <= 1 || tick === 32 ? [{ cx: 300, cy: 300, w: 60, h: 40, angle: 0, classId: 2, label: 'car', score: 0.9 }] : [],
      gridTick: { grid: grid.id, index: tick },
    };
    const r = run({ op: 'frame', init: cam, detections });
    ids.push(r.frameTracks.map((t) => t.trackId));
    ended.push(...r.endedTrackIds);
  }
  run({ op: 'drop-state', init: cam });
  assert.deepEqual(ended, [], 'the track never ended');
  assert.deepEqual(ids.at(-1), [1], 'the car is track 1 again');
});
