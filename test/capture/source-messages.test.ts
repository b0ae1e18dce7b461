/**
 * What a source that cannot work says, through real pipelines where GStreamer
 * produces the error: NVIDIA elements missing off a Jetson, a bare audio
 * stream (WAV, FLAC) named like a video, a PNG cut short, a V4L2 path that is
 * no camera; and the URIs the command line refuses, named as typed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jpegCutShort, jpegEnd } from '../../src/capture/file-format.js';
import { describePipelineError, missingElementsMessage, openCapture } from '../../src/capture/frame-source.js';
import { sourceFromUri } from '../../src/capture/uri.js';
import { CaptureError } from '../../src/errors.js';
import { SHARED_DATA_DIR } from '../../src/paths.js';

const onJetson = existsSync('/etc/nv_tegra_release');
const FIX_V4L2 = "give a camera's video node, /dev/videoN (v4l2-ctl --list-devices lists each camera's nodes, its video first)";

test('missing NVIDIA elements are said to come with JetPack, not with a package to install; others point at setup.sh and README "Quick start"', () => {
  assert.equal(
    missingElementsMessage(['nvarguscamerasrc', 'nvvidconv'], false),
    "Missing GStreamer elements: nvarguscamerasrc, nvvidconv (NVIDIA's, from the NVIDIA L4T GStreamer plugins that come with JetPack on a Jetson; this machine is not a Jetson and lacks them: an argus (CSI) camera works only on a Jetson; use a USB (v4l2) or RTSP camera here)",
  );
  assert.equal(
    missingElementsMessage(['nvarguscamerasrc', 'nvvidconv'], true),
    "Missing GStreamer elements: nvarguscamerasrc, nvvidconv (NVIDIA's, from the NVIDIA L4T GStreamer plugins that come with JetPack on a Jetson; this Jetson lacks them: install nvidia-l4t-gstreamer (in a container, start it with NVIDIA's container runtime))",
  );
  assert.equal(
    missingElementsMessage(['x264enc'], false),
    'Missing GStreamer element: x264enc (install the GStreamer plugin package that provides it; scripts/setup.sh installs those bestshot uses, see README "Quick start")',
  );
  assert.equal(
    missingElementsMessage(['nvv4l2decoder', 'x264enc'], false),
    'Missing GStreamer elements: nvv4l2decoder, x264enc (x264enc: install the GStreamer plugin package that provides it; scripts/setup.sh installs those bestshot uses, see README "Quick start"; ' +
      "nvv4l2decoder: NVIDIA's, from the NVIDIA L4T GStreamer plugins that come with JetPack on a Jetson; this machine is not a Jetson and lacks it: run this source on a Jetson)",
  );
  // The README section named is there (it once pointed at a "Set-up" section that does not exist).
  assert.match(readFileSync(new URL('../../README.md', import.meta.url), 'utf8'), /^## Quick start$/m);
});

test('an argus source off a Jetson is refused with the JetPack message', { skip: onJetson && 'a Jetson has the NVIDIA elements' }, () => {
  assert.throws(
    () => openCapture({ source: { type: 'argus', width: 1280, height: 720, framerate: 30 } }),
    (err: unknown) => err instanceof CaptureError && err.code === 'ERR_CAPTURE_ELEMENT_MISSING' && err.message === missingElementsMessage(['nvarguscamerasrc', 'nvvidconv'], false),
  );
});

test('a bare audio stream named .mp4 (WAV, FLAC) says "has no video stream", as audio-only MP4/OGG do', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-audio-'));
  try {
    for (const [name, encoder, parser] of [
      ['wav.mp4', ['wavenc'], 'wavparse'],
      ['flac.mp4', ['flacenc'], 'flacparse'],
    ] as const) {
      const path = join(dir, name);
      const made = spawnSync('gst-launch-1.0', ['-q', 'audiotestsrc', 'num-buffers=20', '!', 'audioconvert', '!', ...encoder, '!', 'filesink', `location=${path}`]);
      assert.equal(made.status, 0, String(made.stderr));
      // Now and then the pipeline reports no error at all on such a file (the race frame-source.test.ts
      // describes for audio-only MP4): the first-frame limit says so, and the file is opened again.
      let message = '';
      for (let attempt = 0; attempt < 5; attempt++) {
        const source = openCapture({ source: { type: 'file', path }, firstFrameTimeoutMs: 3000 });
        try {
          await source.next();
          assert.fail(`${name}: a frame from an audio file`);
        } catch (err) {
          assert.ok(err instanceof CaptureError, String(err));
          message = err.message;
        } finally {
          source.close();
          await source.released;
        }
        if (!message.includes('gave no frame within')) break;
      }
      assert.match(
        message,
        new RegExp(`^${path} (has no video stream \\(an audio-only file\\?\\): give a recording with video \\(Internal data stream error\\. from ${parser}\\d+\\)|gave no frame within 3 s of start .*)$`),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a parser's not-linked error counts as no video stream; a decoder's does not", () => {
  const m = (source: string) => ({ message: 'Internal data stream error.', debug: 'streaming stopped, reason not-linked (-1)', source });
  const file = { type: 'file', path: 'a.mp4' } as const;
  assert.equal(describePipelineError(m('wavparse0'), file), 'a.mp4 has no video stream (an audio-only file?): give a recording with video (Internal data stream error. from wavparse0)');
  assert.equal(describePipelineError(m('avdec_h264-0'), file), 'Internal data stream error. (from avdec_h264-0)');
});

test('a PNG cut short is said to be damaged or cut short, not "No valid frames found"', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-png-'));
  try {
    const whole = join(dir, 'whole.png');
    const made = spawnSync('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=1', 'pattern=ball', '!', 'video/x-raw,width=320,height=240', '!', 'pngenc', '!', 'filesink', `location=${whole}`]);
    assert.equal(made.status, 0, String(made.stderr));
    const path = join(dir, 'cut.png');
    const bytes = readFileSync(whole);
    writeFileSync(path, bytes.subarray(0, bytes.length - 40));
    // pngparse's error or, when it comes first, decodebin's ("general stream error", "all streams without buffers"): both said the same.
    for (let attempt = 0; attempt < 4; attempt++) {
      const source = openCapture({ source: { type: 'file', path }, firstFrameTimeoutMs: 10_000 });
      try {
        await assert.rejects(source.next(), (err: unknown) => {
          assert.ok(err instanceof CaptureError);
          assert.match(
            err.message,
            /^\S+cut\.png is damaged or cut short \(it holds no complete frame\): copy it again \((No valid frames found before end of stream from pngparse|GStreamer encountered a general stream error\. from decodebin)\d+\)$/,
          );
          return true;
        });
      } finally {
        source.close();
        await source.released;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a V4L2 source whose path is no capture device says what the path is, not GStreamer\'s "Check if it is a v4l1 driver"', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-v4l2-'));
  try {
    for (const [device, what] of [
      ['/dev/null', 'a device of another kind'],
      [join(dir, 'hostname'), 'a regular file'],
      [dir, 'a folder'],
    ] as const) {
      if (device.endsWith('hostname')) writeFileSync(device, 'box\n');
      assert.throws(
        () => openCapture({ source: { type: 'v4l2', device } }),
        (err: unknown) => err instanceof CaptureError && err.code === 'ERR_CAPTURE' && err.message === `${device} is not a V4L2 video capture device (it is ${what}): ${FIX_V4L2}`,
        device,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('source URIs that name no source are refused naming the URI as typed', () => {
  const patterns = /smpte, snow, .*, smpte-rp-219/.source;
  for (const [uri, expected] of [
    ['argus://abc', /^Expected argus:\/\/<sensor-id>, a non-negative integer \(argus:\/\/0 is the first CSI sensor\), for uri but received 'argus:\/\/abc' of type string$/],
    ['argus://-1', /received 'argus:\/\/-1' of type string$/],
    ['argus://1.5', /received 'argus:\/\/1\.5' of type string$/],
    ['rtsp://', /^Expected rtsp or rtsps URL with a host \(rtsp:\/\/<host>\[:<port>\]\/<path>\) for uri but received 'rtsp:\/\/' of type string$/],
    ['rtsps://admin:secret@:554/live', /received 'rtsps:\/\/admin:\*\*\*@:554\/live' of type string$/],
    ['test://nonsense', new RegExp(`^Expected test://<pattern> with a pattern of ${patterns} for uri but received 'test://nonsense' of type string$`)],
    ['v4l2://', /^Expected v4l2:\/\/\/dev\/videoN, the camera's device node after v4l2:\/\/ for uri but received 'v4l2:\/\/' of type string$/],
    ['v4l2://video0', /received 'v4l2:\/\/video0' of type string$/],
  ] as const) {
    assert.throws(() => sourceFromUri(uri), (err: unknown) => err instanceof TypeError && expected.test(err.message) && !err.message.includes('secret'), uri);
  }
  assert.deepEqual(sourceFromUri('argus://2'), { type: 'argus', sensorId: 2, width: 1280, height: 720, framerate: 30 });
  assert.deepEqual(sourceFromUri('argus://'), { type: 'argus', sensorId: 0, width: 1280, height: 720, framerate: 30 });
  assert.deepEqual(sourceFromUri('rtsp://cam.local/live'), { type: 'rtsp', url: 'rtsp://cam.local/live' });
  assert.equal(sourceFromUri('test://').type, 'test');
  assert.deepEqual(sourceFromUri('v4l2:///dev/video2'), { type: 'v4l2', device: '/dev/video2' });
});

/** JPEG segments: marker and payload (the length field is added). */
function segment(marker: number, payload: number[]): number[] {
  const length = payload.length + 2;
  return [0xff, marker, length >> 8, length & 0xff, ...payload];
}

test('jpegEnd follows the marker structure: an EXIF thumbnail, stuffed bytes, restart markers and a second scan do not end the image; a cut anywhere does', () => {
  const thumbnail = [0xff, 0xd8, 0xff, 0xd9]; // an embedded JPEG's own SOI/EOI inside APP1
  const scan = [0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xff, 0xff, 0x00, 0x78]; // stuffed FF00, RST0, a fill FF
  const image = [
    0xff, 0xd8,
    ...segment(0xe1, [0x45, 0x78, 0x69, 0x66, 0, 0, ...thumbnail]),
    ...segment(0xdb, [0, ...Array(64).fill(1)]),
    ...segment(0xc2, [8, 0, 16, 0, 16, 1, 1, 0x11, 0]), // progressive
    ...segment(0xc4, [0, ...Array(16).fill(0)]),
    ...segment(0xda, [1, 1, 0, 0, 63, 0]),
    ...scan,
    ...segment(0xc4, [0x10, ...Array(16).fill(0)]), // a table between scans
    ...segment(0xda, [1, 1, 0, 0, 63, 0]),
    ...scan,
    0xff, 0xd9,
  ];
  const bytes = Uint8Array.from(image);
  assert.equal(jpegEnd(bytes), 'whole');
  // Bytes after the end (a trailer some cameras append) are no cut.
  assert.equal(jpegEnd(Uint8Array.from([...image, 0, 1, 2, 0xff, 0xd8])), 'whole');
  for (let cut = 3; cut < bytes.length; cut++) assert.equal(jpegEnd(bytes.subarray(0, cut)), 'cut', `cut at ${cut} of ${bytes.length}`);
  assert.equal(jpegEnd(Uint8Array.from([0x89, 0x50, 0x4e, 0x47])), undefined, 'a PNG is no JPEG');
});

test('jpegCutShort: the COCO images are whole; the first 5000 bytes of one are said to be cut short', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-jpeg-'));
  try {
    const original = join(SHARED_DATA_DIR, 'coco-images', '000000000139.jpg');
    assert.equal(jpegCutShort(original), undefined);
    const cut = join(dir, 'cut.jpg');
    writeFileSync(cut, readFileSync(original).subarray(0, 5000));
    assert.equal(
      jpegCutShort(cut),
      `${cut} is a JPEG cut short (its 5000 bytes end before the image does): the decoder filled in the missing part (grey), so nothing in that part was detected; copy the image again`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
