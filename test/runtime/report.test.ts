/** The HTML report of a run with several cameras: an object is a camera's track, never two cameras' tracks of the same id. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeReport, type ReportUpload } from '../../src/runtime/report.js';
import { RunImages } from '../../src/runtime/run-images.js';
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
      packagesImmediate: 0, packagesCached: 3, bytesSelected: 3 * jpeg.length, bytesEveryFrame: 0, everyFrameMethod: '', delivered: 3, latencyMs: { p50: 0, p99: 0, frames: 0 }, durationS: 1,
    };
    const html = readFileSync(writeReport(dir, summary, [upload('cam-a', 1), upload('cam-b', 1), upload('cam-a', 2)]), 'utf8');
    assert.match(html, /data-objects="2"/);
    const cards = [...html.matchAll(/<figure class="card" data-camera="([^"]+)" data-track="(\d+)">/g)].map((m) => `${m[1]}/${m[2]}`);
    assert.deepEqual(cards, ['cam-a/7', 'cam-b/7']);
    assert.match(html, /<b>cam-a #7<\/b>.*?2 uploads/s);
    assert.match(html, /<b>cam-b #7<\/b>.*?1 upload:/s);
    assert.match(html, />cam-b #7 car<\/text>/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a run's report keeps its newest report.maxImages images, one copy each, and refreshing it reads none of them", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-run-images-'));
  try {
    const images = new RunImages(join(dir, 'images'), 3);
    const jpeg = await makeJpeg(3, 64, 48);
    for (let i = 1; i <= 5; i++) {
      const t = BASE_NS + BigInt(i) * 100_000_000n;
      images.add({
        cameraId: 'cam', imageId: i, idempotencyKey: `cam:${i}`, route: 'cached', kind: 'upload', timestampNs: t, bytes: jpeg.length, selectedTrackIds: [i],
        tracks: [{ trackId: i, entry: entryAt(i, t, i) }], replacesImageIds: [], submittedAtMs: 0, width: 640, height: 480, jpeg,
      });
    }
    assert.deepEqual(readdirSync(join(dir, 'images')).sort(), ['cam_3.jpg', 'cam_4.jpg', 'cam_5.jpg']);
    const uploads = images.uploads();
    assert.deepEqual(uploads.map((u) => u.imageId), [3, 4, 5]);
    assert.ok(uploads.every((u) => u.jpeg === undefined), 'no image read back for a refresh');
    const summary = {
      title: 't', source: 's', cameraId: 'cam', policy: 'spec', framesCaptured: 5, framesProcessed: 5, framesDropped: 0, objectsTracked: 5,
      packagesImmediate: 0, packagesCached: 5, bytesSelected: 5 * jpeg.length, bytesEveryFrame: 0, everyFrameMethod: '', delivered: 5, latencyMs: { p50: 0, p99: 0, frames: 0 }, durationS: 1,
    };
    const html = readFileSync(writeReport(dir, summary, uploads), 'utf8');
    assert.match(html, /data-uploads="3"/);
    assert.match(html, /<img src="images\/cam_5\.jpg"/);
    assert.deepEqual(readdirSync(join(dir, 'images')).sort(), ['cam_3.jpg', 'cam_4.jpg', 'cam_5.jpg'], 'one copy of each image');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a full disk while the report is refreshed leaves the last complete report.html, never a cut-off page', { skip: process.getuid?.() === 0 ? false : 'needs root to mount a small tmpfs' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-report-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
  try {
    const summary = {
      title: 't', source: 's', cameraId: 'cam', policy: 'spec', framesCaptured: 1, framesProcessed: 1, framesDropped: 0, objectsTracked: 0,
      packagesImmediate: 0, packagesCached: 0, bytesSelected: 0, bytesEveryFrame: 0, everyFrameMethod: '', delivered: 0, latencyMs: { p50: 0, p99: 0, frames: 0 }, durationS: 1,
    };
    writeReport(dir, summary, []);
    const before = readFileSync(join(dir, 'report.html'), 'utf8');
    // Fill the rest of the disk, then a refresh with a title far larger than what is left.
    for (let i = 0, size = 16384; size >= 512; i++) {
      try {
        writeFileSync(join(dir, `filler-${i}`), Buffer.alloc(size));
      } catch {
        rmSync(join(dir, `filler-${i}`), { force: true });
        size >>= 1;
      }
    }
    assert.throws(() => writeReport(dir, { ...summary, title: 'x'.repeat(before.length + 64 * 1024) }, []), /ENOSPC/);
    assert.equal(readFileSync(join(dir, 'report.html'), 'utf8'), before);
    assert.ok(!readdirSync(dir).some((n) => n.endsWith('.tmp')), 'no temp file left');
  } finally {
    execFileSync('umount', ['-l', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("upload.content 'crops': the report shows each object's own crop where it lies in the frame, and RunImages keeps and trims the crops with their package", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-report-crops-'));
  try {
    const images = new RunImages(join(dir, 'report', 'images'), 1);
    const crop = await makeJpeg(4, 104, 78);
    const add = (imageId: number): void => {
      const t = BASE_NS + BigInt(imageId) * 100_000_000n;
      // Tracks 7 and 9 (boxes 80×60 at cx 327 / 329, cy 240), each with its crop: the box plus 15 % a side.
      const rect = (trackId: number) => ({ x: 320 + trackId - 52, y: 240 - 39, width: 104, height: 78 });
      images.add({
        cameraId: 'cam', imageId, idempotencyKey: `cam:${imageId}`, route: 'cached', kind: 'upload', timestampNs: t, bytes: 2 * crop.length, selectedTrackIds: [7, 9],
        tracks: [7, 9].map((id) => ({ trackId: id, entry: entryAt(imageId, t, id) })), replacesImageIds: [], submittedAtMs: 0, width: 640, height: 480,
        jpeg: crop, content: 'crops', crops: [7, 9].map((id) => ({ trackId: id, rect: rect(id), jpeg: crop })),
      });
    };
    add(1);
    add(2);
    // maxImages 1: the older package goes with both its crops; no frame image was written (there is none).
    assert.deepEqual(readdirSync(join(dir, 'report', 'images')).sort(), ['cam_2_t7.jpg', 'cam_2_t9.jpg']);
    const summary = {
      title: 't', source: 's', cameraId: 'cam', policy: 'shared-best', framesCaptured: 2, framesProcessed: 2, framesDropped: 0, objectsTracked: 2,
      packagesImmediate: 0, packagesCached: 2, bytesSelected: 4 * crop.length, bytesEveryFrame: 0, everyFrameMethod: '', delivered: 2, latencyMs: { p50: 0, p99: 0, frames: 0 }, durationS: 1,
    };
    const html = readFileSync(writeReport(join(dir, 'report'), summary, images.uploads()), 'utf8');
    // Each card: its own crop, the whole image in view (the view is the crop's rectangle), the box inside at the margin.
    for (const id of [7, 9]) {
      const card = new RegExp(`<figure class="card" data-camera="cam" data-track="${id}"><a class="crop" href="#f-cam_2" style="aspect-ratio:1\\.3333"><img src="images/cam_2_t${id}\\.jpg" alt="#${id} car 0\\.91" style="width:100\\.000%;left:0\\.000%;top:0\\.000%"><div class="bx" style="left:11\\.538%;top:11\\.538%;width:76\\.923%;height:76\\.923%`);
      assert.match(html, card, `card of track ${id}`);
    }
    // The frame view: no frame image (none was sent), the crops placed where they lie in the 640×480 frame.
    assert.doesNotMatch(html, /src="images\/cam_2\.jpg"/);
    assert.match(html, /<img src="images\/cam_2_t7\.jpg" alt="image 2 track 7" style="width:16\.250%;left:42\.969%;top:41\.875%">/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a report says what was delivered and what is still queued, and that a replay was interrupted (it showed queued images as sent)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-report-interrupted-'));
  try {
    const summary = {
      title: 't', source: 's', cameraId: 'cam', policy: 'spec', framesCaptured: 332, framesProcessed: 120, framesDropped: 0, objectsTracked: 5,
      packagesImmediate: 3, packagesCached: 33, bytesSelected: 0, bytesEveryFrame: 0, everyFrameMethod: '', delivered: 9, stillQueued: 27, interrupted: 'SIGTERM',
      latencyMs: { p50: 0, p99: 0, frames: 0 }, durationS: 5,
    };
    const html = readFileSync(writeReport(dir, summary, []), 'utf8');
    assert.match(html, /<b id="interrupted">interrupted by SIGTERM<\/b> before the recording ended/);
    assert.match(html, /<b id="delivered">9<\/b>delivered to the endpoint \(<span id="still-queued">27<\/span> still queued, sent at the next start\)/);
    assert.match(html, /<b id="packages-cached">33<\/b>selected for the queue/);
    // The captured count mixed decoded and taken frames across cameras: only what was dropped is said.
    assert.match(html, /<b>120<\/b>frames processed \(0 dropped\)/);
    const whole = readFileSync(writeReport(dir, { ...summary, stillQueued: 0, interrupted: undefined }, []), 'utf8');
    assert.doesNotMatch(whole, /interrupted|still queued/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a box at the top edge of its view has its label inside the box (above it, the view cut it off)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-report-tag-'));
  try {
    const jpeg = await makeJpeg(2, 64, 48);
    const at = (cy: number, imageId: number): ReportUpload => {
      const entry = entryAt(imageId, BASE_NS + BigInt(imageId) * 100_000_000n, imageId);
      entry.box = { ...entry.box, cy };
      return { idempotencyKey: `cam:${imageId}`, cameraId: 'cam', imageId, route: 'cached', timestampNs: entry.timestampNs, bytes: jpeg.length, width: 640, height: 480, selectedTrackIds: [imageId], tracks: [{ trackId: imageId, entry }], jpeg };
    };
    const summary = {
      title: 't', source: 's', cameraId: 'cam', policy: 'spec', framesCaptured: 2, framesProcessed: 2, framesDropped: 0, objectsTracked: 2,
      packagesImmediate: 0, packagesCached: 2, bytesSelected: 2 * jpeg.length, bytesEveryFrame: 0, everyFrameMethod: '', delivered: 2, latencyMs: { p50: 0, p99: 0, frames: 0 }, durationS: 1,
    };
    // Track 1's box touches the frame's top (its card's view starts there); track 2's is mid-frame.
    const html = readFileSync(writeReport(dir, summary, [at(30, 1), at(240, 2)]), 'utf8');
    const cardTag = (track: number): string | undefined => new RegExp(`data-track="${track}">.*?<span class="(tag[^"]*)"`, 's').exec(html)?.[1];
    assert.equal(cardTag(1), 'tag in');
    assert.equal(cardTag(2), 'tag');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
