/**
 * A5: the one warning a source slower than captureHz gets names the right
 * fix. A live camera that sends enough while the unit, short of CPU, takes
 * fewer was told to raise its frame rate — more work for a unit already
 * behind (test/cli/overload.test.ts runs it as a user would; on a quiet
 * machine the loop keeps up there, so the choice is held here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slowSourceWarning } from '../../src/runtime/rate-warning.js';

test('a live camera sending enough, fewer taken: the unit is short of CPU, not the camera', () => {
  assert.equal(
    slowSourceWarning({ hz: 80.8, sentHz: 1029.3, captureHz: 1000 }),
    'camera sends 1029.3 frames/s, but only 80.8 a second were taken, fewer than captureHz 1000: the unit is short of CPU, not the camera; lower captureHz, the number of cameras or their resolution, or use a smaller model',
  );
  // At 90 % of captureHz sent, still the unit's CPU.
  assert.match(slowSourceWarning({ hz: 5, sentHz: 9, captureHz: 10 }), /^camera sends 9\.0 frames\/s, but only 5\.0/);
});

test('a live camera sending too few (or not measured yet): raise its frame rate or lower captureHz', () => {
  const slow = "camera delivers 2.0 frames/s, fewer than captureHz 10: each frame it sends is analysed, but objects are seen less often than configured; raise the camera's frame rate or lower captureHz";
  assert.equal(slowSourceWarning({ hz: 2, sentHz: 2.1, captureHz: 10 }), slow);
  assert.equal(slowSourceWarning({ hz: 2, captureHz: 10 }), slow);
});

test('a recording with fewer frames per second: its rate, nothing to fix', () => {
  assert.equal(
    slowSourceWarning({ recording: '/data/clip5.mp4', hz: 5, sentHz: 5, captureHz: 10 }),
    'recording /data/clip5.mp4 has 5.0 frames/s, fewer than captureHz 10: each of its frames is analysed, but objects are seen less often than configured',
  );
});

test('T2: a lost-track buffer shorter than two of the frames that come is said, with the captureHz to set', () => {
  // A 24 fps recording at captureHz 1000: 30 periods are 30 ms, one frame gap is 42 ms.
  assert.equal(
    slowSourceWarning({ recording: '/data/clip24.mp4', hz: 24, captureHz: 1000, lostBufferPeriods: 30 }),
    'recording /data/clip24.mp4 has 24.0 frames/s, fewer than captureHz 1000: each of its frames is analysed, but objects are seen less often than configured; the tracker keeps a lost track for 30 capture periods (T2), 30 ms, less than two of these frames, so every missed detection ends a track and its object is sent again: set captureHz to at most 24.0',
  );
  // A live camera too: 5 frames/s at captureHz 100 (300 ms < 400 ms).
  assert.match(slowSourceWarning({ hz: 5, captureHz: 100, lostBufferPeriods: 30 }), /; the tracker keeps a lost track for 30 capture periods \(T2\), 300 ms, .*: set captureHz to at most 5\.0$/);
  // Two frames or more inside the buffer: nothing added (24 fps at 30 Hz: 1 s; 2 frames/s at 10 Hz: 3 s; exactly two frames: 30 periods at 60 Hz for 4 frames/s).
  for (const [hz, captureHz] of [[24, 30], [2, 10], [4, 60]] as const) {
    assert.doesNotMatch(slowSourceWarning({ hz, captureHz, lostBufferPeriods: 30 }), /tracker/);
  }
  assert.doesNotMatch(slowSourceWarning({ recording: '/data/clip24.mp4', hz: 24, captureHz: 1000 }), /tracker/);
});
