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
