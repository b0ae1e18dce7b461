/** The HTML report of a run with several cameras: an object is a camera's track, never two cameras' tracks of the same id. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReport, type ReportUpload } from '../../src/runtime/report.js';
import { BASE_NS, entryAt, makeJpeg } from '../upload/helpers.js';

test('two cameras whose trackers both have a track 7: two objects, each named with its camera, in the gallery and the timeline', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-report-'));
  try {
    const jpeg = await makeJpeg(2, 64, 48);
    const upload = (cameraId: string, imageId: number): ReportUpload => ({
      idempotencyKey: `${cameraId}:${imageId}`,
      cameraId,
      imageId,
      route: 'cached',
      timestampNs: BASE_NS + BigInt(imageId) * 100_000_000n,
      bytes: jpeg.length,
      width: 640,
      height: 480,
      selectedTrackIds: [7],
      tracks: [{ trackId: 7, entry: entryAt(imageId, BASE_NS + BigInt(imageId) * 100_000_000n, 7) }],
      jpeg,
    });
    const summary = {
      title: 't', source: 's', cameraId: 'cam-a, cam-b', policy: 'shared-best', framesCaptured: 2, framesProcessed: 2, framesDropped: 0, objectsTracked: 2,
      packagesImmediate: 0, packagesCached: 3, bytesSent: 3 * jpeg.length, bytesEveryFrame: 0, everyFrameMethod: '', delivered: 3, latencyMs: { p50: 0, p99: 0 }, durationS: 1,
    };
    const html = readFileSync(writeReport(dir, summary, [upload('cam-a', 1), upload('cam-b', 1), upload('cam-a', 2)]), 'utf8');
    assert.match(html, /data-objects="2"/);
    const cards = [...html.matchAll(/<figure class="card" data-camera="([^"]+)" data-track="(\d+)">/g)].map((m) => `${m[1]}/${m[2]}`);
    assert.deepEqual(cards, ['cam-a/7', 'cam-b/7']);
    assert.match(html, /<b>cam-a #7<\/b>[^]*2 uploads/);
    assert.match(html, /<b>cam-b #7<\/b>[^]*1 upload:/);
    assert.match(html, />cam-b #7 car<\/text>/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
