/**
 * Pipeline descriptions built from validated options (STYLE 2): what each
 * source becomes, live vs replay sinks (A5: live drops stale frames), the
 * Jetson hardware path, and quoting. Pure functions: no GStreamer needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { buildPipeline, gstQuote } from '../../src/capture/index.js';

const here = fileURLToPath(import.meta.url);
const desktop = (name: string): boolean => !name.startsWith('nv');
const jetson = (): boolean => true;

test('file replay blocks the decoder (no loss); live sources keep only the newest frame', () => {
  const file = buildPipeline({ source: { type: 'file', path: here } }, desktop);
  assert.equal(file.live, false);
  assert.match(file.description, /appsink name=bestshot_sink sync=false max-buffers=4 drop=false$/);
  const paced = buildPipeline({ source: { type: 'file', path: here, realtime: true } }, desktop);
  assert.match(paced.description, /sync=true max-buffers=4 drop=false$/);
  const rtsp = buildPipeline({ source: { type: 'rtsp', url: 'rtsp://cam.local/stream' } }, desktop);
  assert.equal(rtsp.live, true);
  assert.match(rtsp.description, /^rtspsrc location="rtsp:\/\/cam.local\/stream" latency=200 protocols=tcp ! decodebin ! queue leaky=downstream max-size-buffers=2/);
  assert.match(rtsp.description, /sync=false max-buffers=1 drop=true$/);
  // Recordings and streams come out in square pixels (anamorphic ones scaled; others pass through).
  assert.match(file.description, /^filesrc location=".*" ! decodebin ! videoscale ! video\/x-raw,pixel-aspect-ratio=1\/1 ! videoconvert/);
  assert.match(rtsp.description, /! queue leaky=downstream max-size-buffers=2 ! videoscale ! video\/x-raw,pixel-aspect-ratio=1\/1 ! videoconvert/);
});

test('V4L2 controls go into extra-controls; the camera element is named for exposure control', () => {
  const v = buildPipeline({ source: { type: 'v4l2', device: '/dev/video0', width: 1280, height: 720, framerate: 30, controls: { auto_exposure: 1, exposure_time_absolute: 10 } } }, desktop);
  assert.match(v.description, /^v4l2src name=camera device="\/dev\/video0" extra-controls="c,auto_exposure=1,exposure_time_absolute=10" ! image\/jpeg,width=1280,height=720,framerate=30\/1;video\/x-raw,width=1280,height=720,framerate=30\/1 ! decodebin/);
  assert.throws(() => buildPipeline({ source: { type: 'v4l2', device: '/dev/video0', controls: { 'bad name': 1 } } }, desktop), {
    message: "Expected V4L2 control name for source.controls.bad name but received 'bad name' of type string",
  });
});

test('on a Jetson, decoded NVMM buffers go through nvvidconv; preferHardware: false keeps the software path', () => {
  const hw = buildPipeline({ source: { type: 'file', path: here } }, jetson);
  assert.match(hw.description, /! decodebin ! nvvidconv ! video\/x-raw,format=BGRx ! videoscale ! video\/x-raw,pixel-aspect-ratio=1\/1 ! videoconvert n-threads=2 ! video\/x-raw,format=BGR !/);
  assert.ok(hw.requiredElements.includes('nvvidconv'));
  const sw = buildPipeline({ source: { type: 'file', path: here }, preferHardware: false }, jetson);
  assert.doesNotMatch(sw.description, /nvvidconv/);
  const argus = buildPipeline({ source: { type: 'argus', sensorId: 1, width: 1920, height: 1080, framerate: 30 } }, jetson);
  assert.match(argus.description, /^nvarguscamerasrc name=camera sensor-id=1 ! video\/x-raw\(memory:NVMM\),width=1920,height=1080,framerate=30\/1 ! nvvidconv/);
});

test('a frame rate that is not a whole number (a UVC camera at 7.5 fps) becomes a GStreamer fraction, not a refusal at every reopening', () => {
  const v = buildPipeline({ source: { type: 'v4l2', device: '/dev/video0', framerate: 7.5 } }, desktop);
  assert.match(v.description, /image\/jpeg,framerate=15\/2;video\/x-raw,framerate=15\/2 !/);
  const t = buildPipeline({ source: { type: 'test', width: 64, height: 48, framerate: 29.97 } }, desktop);
  assert.match(t.description, /video\/x-raw,width=64,height=48,framerate=2997\/100 !/);
  const a = buildPipeline({ source: { type: 'argus', width: 1920, height: 1080, framerate: 30000 / 1001 } }, jetson);
  assert.match(a.description, /framerate=30000\/1001 ! nvvidconv/);
  assert.throws(() => buildPipeline({ source: { type: 'test', width: 64, height: 48, framerate: 0 } }, desktop), {
    message: 'Expected positive number for source.framerate but received 0 of type number',
  });
});

test('values are quoted for gst_parse_launch', () => {
  assert.equal(gstQuote('/data/my "clip".mp4'), '"/data/my \\"clip\\".mp4"');
  assert.equal(gstQuote('C:\\x'), '"C:\\\\x"');
});
