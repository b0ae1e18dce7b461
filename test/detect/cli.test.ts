/** `bestshot detect` (D1): real CLI process, real model, real JPEG out. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openCapture } from '../../src/capture/index.js';
import { PROJECT_ROOT, SHARED_DATA_DIR, TRAFFIC_CLIPS_DIR } from '../../src/paths.js';
import { TINY_GIF } from '../helpers/gif.js';

const BIN = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const dir = mkdtempSync(join(tmpdir(), 'bestshot-detect-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function bestshot(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [BIN, 'detect', ...args], { encoding: 'utf8', env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' } });
}

describe('D1 bestshot detect', () => {
  test('D1 --json on an image, --annotate writes a JPEG of the frame size', async () => {
    const out = join(dir, 'a.jpg');
    const r = bestshot(join(SHARED_DATA_DIR, 'coco-images', '000000000724.jpg'), '--json', '--providers', 'cpu', '--annotate', out);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const frame = JSON.parse(lines[0]!) as { frame: number; width: number; height: number; boxes: Array<{ label: string; score: number; xyxy: number[] }> };
    assert.equal(frame.frame, 0);
    assert.deepEqual([frame.width, frame.height], [375, 500]);
    assert.equal(frame.boxes[0]!.label, 'stop sign');
    const jpeg = readFileSync(out);
    assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
    const src = openCapture({ source: { type: 'file', path: out } });
    const decoded = await src.next();
    src.close();
    assert.deepEqual([decoded!.width, decoded!.height], [375, 500]);
  });

  test('D1 text output on a video: every K-th frame, per-class totals', () => {
    const r = bestshot(join(TRAFFIC_CLIPS_DIR, 'motorway-cctv.avi'), '--frames', '20', '--every', '10', '--classes', 'car,bus,truck', '--providers', 'cpu');
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^model yolox_nano \(\/.+\/yolox_nano\.onnx\) on cpu$/);
    assert.deepEqual(
      lines.filter((l) => l.startsWith('frame ')).map((l) => l.split(' (')[0]),
      ['frame 0', 'frame 10'],
    );
    assert.match(lines.at(-1)!, /^2 frames: car \d+/);
  });

  test('D1 a file of which no frame decodes is an error (exit 1) in text, --json and --annotate mode', () => {
    // A COCO image with 8 bytes of 0xFF at offset 5000: the decoder ends the stream without a frame and without an error.
    const bad = join(dir, 'damaged.jpg');
    copyFileSync(join(SHARED_DATA_DIR, 'coco-images', '000000000724.jpg'), bad);
    const fd = openSync(bad, 'r+');
    writeSync(fd, Buffer.alloc(8, 0xff), 0, 8, 5000);
    closeSync(fd);
    const message = `bestshot detect: [ERR_CAPTURE] no frame could be decoded from ${bad}: the file is damaged or not an image or video GStreamer can read`;
    for (const mode of [[], ['--json'], ['--annotate', join(dir, 'damaged-out.jpg')]]) {
      const r = bestshot(bad, '--providers', 'cpu', ...mode);
      assert.equal(r.status, 1, `${mode.join(' ')}: ${r.stdout}`);
      assert.equal(r.stderr.trim(), message);
      assert.doesNotMatch(r.stdout, /^frame /m);
    }
  });

  test('D1 bad arguments: exact messages, exit codes', () => {
    const img = join(SHARED_DATA_DIR, 'coco-images', '000000000724.jpg');
    let r = bestshot(img, '--frames', '0');
    assert.equal(r.status, 2, 'a bad option value is a usage error');
    assert.equal(r.stderr.trim(), "bestshot detect: [ERR_USAGE] Expected positive integer for --frames but received '0'");
    // A negative number is the option's value (node's parseArgs called it "ambiguous.."), refused with the option's range.
    for (const [option, kind] of [['--frames', 'positive integer'], ['--threads', 'non-negative integer']]) {
      r = bestshot(img, option!, '-1');
      assert.equal(r.status, 2);
      assert.equal(r.stderr.trim(), `bestshot detect: [ERR_USAGE] Expected ${kind} for ${option} but received '-1'`);
    }
    r = bestshot(img, '--model', '-x');
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim(), "bestshot detect: Option '--model' argument is ambiguous. Run 'bestshot detect --help' for its options.");
    // Refused before the model loads (no 'model …' line), as a usage error.
    r = bestshot(img, '--score', '1.5', '--providers', 'cpu');
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim(), "bestshot detect: [ERR_USAGE] Expected number between 0 and 1 for --score but received '1.5'");
    r = bestshot(img, '--classes', 'car,unicorn', '--providers', 'cpu');
    // A label the model does not know is a usage error (before: exit 1, and 'for classes' named no option).
    assert.equal(r.status, 2);
    assert.equal(
      r.stderr.trim(),
      "bestshot detect: [ERR_USAGE] Expected a class name of the model (person, bicycle, car, motorcycle, airplane, bus, train, truck, …) for --classes but received 'unicorn' of type string",
    );
    // A GIF would never end (decodebin does not reach end of stream on it): refused at once, before the model loads.
    const gif = join(dir, 'anim.gif');
    writeFileSync(gif, TINY_GIF);
    r = bestshot(gif, '--providers', 'cpu');
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim(), `bestshot detect: [ERR_USAGE] ${gif} is a GIF, which is not supported: convert it to PNG, JPEG or MP4`);
    r = bestshot(join(dir, 'missing.jpg'), '--providers', 'cpu');
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim(), `bestshot detect: [ERR_USAGE] no such image or video: ${join(dir, 'missing.jpg')}`);
    r = bestshot(img, '--model', join(dir, 'none.onnx'));
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim(), `bestshot detect: [ERR_MODEL_NOT_FOUND] Model file not found: ${join(dir, 'none.onnx')}`);
    r = bestshot();
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^Usage: bestshot detect <image\|video> \[options\]/);
  });

  test('D1 --annotate naming an existing folder, and an unknown --providers, are usage errors (exit 2) before the model loads', () => {
    const img = join(SHARED_DATA_DIR, 'coco-images', '000000000724.jpg');
    // A folder named like a video: it used to run the whole detection, then fail with [EISDIR], exit 1.
    const folder = join(dir, 'some-existing-folder.mp4');
    mkdirSync(folder);
    let r = bestshot(img, '--providers', 'cpu', '--annotate', folder);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '', 'no model line: refused before the model loads');
    assert.equal(r.stderr.trim(), `bestshot detect: [ERR_USAGE] cannot write --annotate ${folder}: it is a folder; give a file name, e.g. ${join(folder, 'annotated.jpg')}`);
    // It used to be exit 1 with 'for providers' and no [ERR_USAGE].
    r = bestshot(img, '--providers', 'gpu');
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim(), "bestshot detect: [ERR_USAGE] Expected one of 'tensorrt', 'cuda', 'cpu' for --providers but received 'gpu'");
    r = bestshot(img, '--providers', 'cpu,');
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim(), "bestshot detect: [ERR_USAGE] Expected one of 'tensorrt', 'cuda', 'cpu' for --providers but received ''");
  });
});
