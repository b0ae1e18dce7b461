/**
 * End to end: simulated camera → its ground-truth boxes as
 * detections → ByteTracker → SPEC selection (S1–S7) → JPEG package → uploader
 * (U1 immediate, U2 queue) → the reference receiver running as its own
 * process on loopback. Every object in the scene yields at least one stored
 * image; no image is stored twice; every stored metadata validates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedCamera, groundTruthBoxes, encodeJpeg } from '../../src/capture/index.js';
import { ByteTracker, createIdAllocator } from '../../src/track/index.js';
import { createPolicy, FrameRing } from '../../src/select/index.js';
import { Uploader, buildPackage, validatePackageMetadata } from '../../src/upload/index.js';
import type { Box, FrameDetections, TrackEntry } from '../../src/types.js';
import { PROJECT_ROOT } from '../../src/paths.js';

function iou(a: Box, b: Box): number {
  const x0 = Math.max(a.cx - a.w / 2, b.cx - b.w / 2);
  const y0 = Math.max(a.cy - a.h / 2, b.cy - b.h / 2);
  const x1 = Math.min(a.cx + a.w / 2, b.cx + b.w / 2);
  const y1 = Math.min(a.cy + a.h / 2, b.cy + b.h / 2);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  return inter / (a.w * a.h + b.w * b.h - inter);
}

test('simulated scene → tracker → selector → uploader → receiver process: every object stored, once, valid', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-e2e-'));
  const receiver = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'receiver', '--port', '0', '--dir', join(dir, 'store'), '--token', 's3cret', '--quiet'], {
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      receiver.stdout.on('data', (d) => {
        out += d;
        const m = /receiver listening on (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      receiver.on('exit', (c) => reject(new Error(`receiver exited ${c}`)));
    });

    const cam = new SimulatedCamera({ width: 640, height: 360, fps: 10, seed: 11 });
    cam.setManual(1000, 4); // A2's outcome: frames are 'manual' (S2 requires it)
    const tracker = new ByteTracker({ frameRate: 30 }, { ids: createIdAllocator(1) });
    const ring = new FrameRing<{ pixels: Uint8Array }>({ capacity: 40 });
    const policy = createPolicy('spec', { refs: ring });
    const uploader = new Uploader({ sender: { url: `${url}/packages`, token: 's3cret' }, queue: { path: join(dir, 'queue.db') }, sendHz: 50 });
    const logged: string[] = [];
    // Ground truth: scene object (id, pass) → its boxes by imageId.
    const truth = new Map<string, Map<number, Box>>();
    const entriesAt = new Map<number, Array<{ trackId: number; entry: TrackEntry }>>();
    const wall0 = 1_800_000_000_000_000_000n;
    for (let imageId = 1; imageId <= 200; imageId++) {
      const f = cam.capture();
      const timestampNs = wall0 + f.ptsNs;
      const boxes: Box[] = [];
      for (const o of f.objects) {
        const [b] = groundTruthBoxes([o], f.width, f.height, 0.5);
        if (!b) continue;
        boxes.push(b);
        const key = `${o.id}/${o.pass}`;
        if (!truth.has(key)) truth.set(key, new Map());
        // Only unclipped sightings count as the object being visible (the evaluation's coverage rule, docs/evaluation.md).
        if (o.inFrame >= 0.999 && o.occluded < 0.5) truth.get(key)!.set(imageId, b);
      }
      ring.put(imageId, { pixels: f.pixels });
      const det: FrameDetections = { cameraId: 'sim', imageId, timestampNs, exposureMode: f.exposure.mode, cameraPosition: null, width: f.width, height: f.height, boxes };
      const tracks = tracker.update(det);
      entriesAt.set(imageId, tracks.map((t) => ({ trackId: t.trackId, entry: t.entries[t.entries.length - 1]! })));
      const decisions = [
        ...policy.onFrame({ imageId, timestampNs, width: f.width, height: f.height }, tracks),
        ...policy.onTrackEnd(tracker.removedTracks.map((t) => t.trackId)),
      ];
      for (const d of decisions) {
        const frame = ring.get(d.imageId)!;
        const jpeg = await encodeJpeg({ width: 640, height: 360, format: 'BGR', pixels: frame.pixels });
        const pkg = buildPackage({
          cameraId: 'sim',
          imageId: d.imageId,
          timestampNs: d.timestampNs,
          width: 640,
          height: 360,
          exposure: f.exposure,
          cameraPosition: null,
          jpeg,
          tracks: entriesAt.get(d.imageId) ?? [],
          selection: { route: d.route, trackIds: d.selected.map((s) => s.trackId), policy: 'spec' },
        });
        uploader.submit(pkg, d.route);
        logged.push(pkg.idempotencyKey);
        ring.release(d.imageId);
      }
    }
    for (let i = 0; i < 600; i++) {
      const s = uploader.stats();
      if (s.queueDepth + s.immediateInFlight + s.immediatePending === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await uploader.close();
    cam.close();

    const auth = { Authorization: 'Bearer s3cret' };
    const listing = (await (await fetch(`${url}/packages`, { headers: auth })).json()) as { packages: Array<{ key: string; imageId: number; duplicates: number }> };
    const stored = listing.packages;
    assert.equal(new Set(logged).size, logged.length, 'the selector sent a frame twice');
    assert.deepEqual(stored.map((p) => p.key).sort(), [...logged].sort(), 'receiver store differs from what was sent');
    assert.ok(stored.length > 0);
    // Metadata valid, and each object seen unclipped is in at least one stored image.
    const storedIds = new Set<number>();
    for (const p of stored) {
      const meta = (await (await fetch(`${url}/packages/${encodeURIComponent(p.key)}/metadata.json`, { headers: auth })).json()) as unknown;
      assert.deepEqual(validatePackageMetadata(meta), [], p.key);
      storedIds.add(p.imageId);
    }
    const missed: string[] = [];
    for (const [key, byImage] of truth) {
      if (byImage.size === 0) continue; // never fully in view
      const covered = [...storedIds].some((imageId) => {
        const gt = byImage.get(imageId);
        return gt !== undefined && (entriesAt.get(imageId) ?? []).some((t) => iou(t.entry.box, gt) >= 0.5);
      });
      if (!covered) missed.push(key);
    }
    const objects = [...truth.values()].filter((m) => m.size > 0).length;
    assert.ok(objects >= 5, `scene too empty: ${objects} objects`);
    assert.deepEqual(missed, [], `objects without a stored image: ${missed.join(', ')} of ${objects}`);
  } finally {
    receiver.kill('SIGTERM');
  }
});
