/**
 * A5 → T2: the runner hands the tracking worker each frame's capture-grid tick
 * (FrameDetections.gridTick), so the tracker counts frames by the grid, not by
 * rounded timestamp gaps. A 12.5 fps recording (a real videotestsrc pipeline,
 * 80 ms pts) at captureHz 10 is taken 160, 80, 80, 80 ms apart with no tick
 * missed: each frame must reach the worker one tick after the previous one.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Piscina } from 'piscina';
import { parseConfig } from '../../src/config/index.js';
import { DetectorPool, tensorOptionsFor } from '../../src/detect/index.js';
import { SHARED_DIR } from '../../src/paths.js';
import { CameraRunner } from '../../src/runtime/camera-runner.js';
import type { CameraTask } from '../../src/runtime/camera-worker.js';
import { TrackingShards } from '../../src/runtime/shards.js';
import { workerInitFor } from '../../src/runtime/service.js';
import { openSource } from '../../src/runtime/sources.js';
import type { FrameDetections } from '../../src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'bestshot-ticks-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a 12.5 fps recording at captureHz 10: the runner gives the tracker one grid tick per frame taken, 160 ms gaps included', { timeout: 60_000 }, async () => {
  const yaml = `
model: { providers: [cpu] }
cameras:
  - { id: ticks, source: { type: test }, captureHz: 10, selection: { policy: spec } }
upload: { endpoint: "http://127.0.0.1:9/in", token: { env: TOK } }
queue: { path: q.sqlite }
`;
  const cam = parseConfig(yaml, { baseDir: dir, env: { BESTSHOT_SHARED_DIR: SHARED_DIR, TOK: 't' } }).config.cameras[0]!;
  const detect = await DetectorPool.create({ providers: ['cpu'], intraOpNumThreads: 1, logger: () => {} });
  const shards = new TrackingShards(1);
  try {
    const shard = shards.forCamera(cam.id);
    const seen: FrameDetections[] = [];
    // The real tracking worker, with the frames it is given noted on the way.
    const noting = { run: (task: CameraTask, o?: object) => (task.detections && seen.push(task.detections), shard.run(task, o)) } as unknown as Piscina;
    const runner = new CameraRunner(
      {
        cameraId: cam.id,
        captureHz: 10,
        mode: 'offline',
        jpegQuality: 85,
        exposure: () => ({ mode: 'manual', exposureTimeUs: 1000, gain: 1 }),
        position: () => null,
        workerInit: workerInitFor(cam, 'frame'),
      },
      { detect, shard: noting, sink: { submit: () => {} }, imageIds: { next: (() => { let n = 0; return () => n++; })() } },
    );
    const opened = openSource({ type: 'test', pattern: 'smpte', width: 320, height: 240, framerate: 12.5, numBuffers: 40, live: false }, tensorOptionsFor(detect.manifest), 16, undefined, 0, 'I420');
    try {
      await runner.run(opened.source, false);
    } finally {
      opened.close();
    }
    const gaps = seen.slice(1).map((f, i) => Number(f.timestampNs - seen[i]!.timestampNs) / 1e6);
    assert.ok(gaps.includes(160) && gaps.includes(80), `the grid's gaps: ${gaps.join(', ')}`);
    assert.deepEqual(seen.map((f) => f.gridTick?.index), seen.map((_, k) => k), 'ticks 0, 1, 2 … one per frame');
    assert.equal(new Set(seen.map((f) => f.gridTick?.grid)).size, 1, 'one grid for the opening');
  } finally {
    await shards.close();
    await detect.close();
  }
});
