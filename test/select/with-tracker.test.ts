/**
 * The selector on the real ByteTracker's output (hand-made detections): the
 * tracker reports a track from its second match, removes lost tracks after
 * trackBuffer frames; S1–S7 must still give every object at least one upload.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Selector, createPolicy, type PolicyDecision } from '../../src/select/index.js';
import { ByteTracker } from '../../src/track/index.js';
import type { Box, FrameDetections } from '../../src/types.js';

const W = 1280;
const H = 720;

function det(cx: number, cy: number, w: number, h: number, score: number, classId = 2): Box {
  return { cx, cy, w, h, angle: 0, classId, label: classId === 0 ? 'person' : 'car', score };
}

/** Three objects over 60 frames at 10 Hz: a car crossing, a small distant pedestrian, a car that leaves early. */
function scene(): FrameDetections[] {
  const frames: FrameDetections[] = [];
  for (let i = 0; i < 60; i++) {
    const boxes: Box[] = [];
    // car crossing left → right, growing, score varying
    boxes.push(det(100 + i * 18, 400, 120 + i, 80 + i / 2, 0.75 + 0.15 * Math.sin(i / 3)));
    // distant pedestrian: always under minWidth — only S6 can send it. From the
    // second frame on (ByteTrack confirms tracks born on frame 1 at once).
    if (i >= 1) boxes.push(det(900, 200, 12, 24, 0.8 + 0.05 * Math.cos(i), 0));
    // car leaving after 15 frames
    if (i < 15) boxes.push(det(300, 600 - i * 2, 200, 100, 0.9));
    frames.push({
      cameraId: 'cam0',
      imageId: i + 1,
      timestampNs: 1_700_000_000_000_000_000n + BigInt(i) * 100_000_000n,
      exposureMode: i < 5 ? 'auto' : 'manual',
      cameraPosition: null,
      width: W,
      height: H,
      boxes,
    });
  }
  return frames;
}

describe('selection on ByteTracker output', () => {
  it("S6 + firstSighting 'first-seen': every tracked object yields at least one upload, one per frame at most (S4)", () => {
    const tracker = new ByteTracker({ frameRate: 10, trackBuffer: 10 });
    const selector = new Selector();
    const uploadsPerTrack = new Map<number, number>();
    const seen = new Set<number>();
    const uploadFrames: number[] = [];
    let ended = 0;
    for (const fd of scene()) {
      const tracks = tracker.update(fd);
      for (const t of tracks) seen.add(t.trackId);
      const r = selector.update({ imageId: fd.imageId, timestampNs: fd.timestampNs, width: W, height: H }, tracks);
      if (r.upload) {
        uploadFrames.push(r.imageId);
        for (const id of r.upload.trackIds) uploadsPerTrack.set(id, (uploadsPerTrack.get(id) ?? 0) + 1);
      }
      ended += selector.forget(tracker.removedTracks.map((t) => t.trackId)).length;
    }
    assert.equal(seen.size, 3, 'three objects tracked');
    for (const id of seen) assert.ok((uploadsPerTrack.get(id) ?? 0) >= 1, `track ${id} uploaded`);
    assert.equal(new Set(uploadFrames).size, uploadFrames.length, 'no frame uploaded twice');
    assert.ok(uploadFrames.length < 60, `${uploadFrames.length} uploads for 60 frames`);
    assert.equal(ended, 1, 'the car that left was forgotten when the tracker removed it');
  });

  it("firstSighting 'entry-count' (literal n): the always-small pedestrian, first reported with n = 2, is never sent", () => {
    const tracker = new ByteTracker({ frameRate: 10, trackBuffer: 10 });
    const selector = new Selector({ firstSighting: 'entry-count' });
    const sent = new Set<number>();
    let pedestrian: number | undefined;
    for (const fd of scene()) {
      const tracks = tracker.update(fd);
      for (const t of tracks) if (t.classId === 0) pedestrian = t.trackId;
      const r = selector.update({ imageId: fd.imageId, timestampNs: fd.timestampNs, width: W, height: H }, tracks);
      for (const id of r.upload?.trackIds ?? []) sent.add(id);
    }
    assert.ok(pedestrian !== undefined);
    assert.equal(sent.has(pedestrian), false);
    assert.equal(sent.size, 2);
  });

  it('every policy runs on the same tracks; spec sends far fewer frames than every-frame', () => {
    const counts: Record<string, number> = {};
    for (const name of ['every-frame', 'interval', 'spec', 'replace-queued', 'final-best', 'frigate'] as const) {
      const tracker = new ByteTracker({ frameRate: 10, trackBuffer: 10 });
      const policy = createPolicy(name, { maxLatencyS: 2 });
      const decisions: PolicyDecision[] = [];
      for (const fd of scene()) {
        const tracks = tracker.update(fd);
        decisions.push(...policy.onFrame({ imageId: fd.imageId, timestampNs: fd.timestampNs, width: W, height: H }, tracks));
        decisions.push(...policy.onTrackEnd(tracker.removedTracks.map((t) => t.trackId)));
      }
      decisions.push(...policy.flush());
      const objects = new Set(decisions.flatMap((d) => d.selected.map((s) => s.trackId)));
      assert.equal(objects.size, 3, `${name}: every object in some upload`);
      counts[name] = decisions.length;
    }
    assert.ok(counts['spec']! < counts['every-frame']!, JSON.stringify(counts));
    assert.ok(counts['frigate']! <= 3, JSON.stringify(counts)); // one per object at its end
    assert.ok(counts['final-best']! < counts['spec']!, JSON.stringify(counts));
  });
});
