/**
 * D1/D2 on the traffic clips with the real YOLOX-Nano and the traffic class
 * filter: vehicles (or, on the pedestrian street, people) are detected frame
 * after frame. Every 10th of the first 250 frames is checked.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Detector, TRAFFIC_CLASSES, toFrameDetections } from '../../src/detect/index.js';
import { TRAFFIC_CLIPS_DIR } from '../../src/paths.js';
import { inputOf, sampleFrames } from './helpers.js';

const VEHICLES = new Set(['car', 'bus', 'truck', 'motorcycle']);

describe('D1 traffic clips, traffic classes only', () => {
  let d: Detector;
  before(async () => {
    d = await Detector.create({ providers: ['cpu'], intraOpNumThreads: 2, classes: [...TRAFFIC_CLASSES], logger: () => {} });
  });
  after(async () => {
    await d.close();
  });

  const cases: Array<[string, (labels: string[]) => number, number, string]> = [
    ['motorway-cctv.avi', (l) => l.filter((x) => VEHICLES.has(x)).length, 3, 'vehicles'],
    ['suburban-street-elevated.mp4', (l) => l.filter((x) => VEHICLES.has(x)).length, 3, 'vehicles'],
    ['town-centre-pedestrians.mp4', (l) => l.filter((x) => x === 'person').length, 5, 'people'],
  ];
  for (const [clip, count, min, what] of cases) {
    test(`D1 ${clip}: at least ${min} ${what} in every sampled frame`, async () => {
      const perFrame: number[] = [];
      await sampleFrames(join(TRAFFIC_CLIPS_DIR, clip), d.manifest, 10, 250, async (frame) => {
        const boxes = await d.detect(inputOf(frame));
        for (const b of boxes) {
          assert.ok(TRAFFIC_CLASSES.includes(b.label), `class filter let ${b.label} through`);
          // Box centres lie in the frame (boxes may overhang an edge: S3 measures that).
          assert.ok(b.cx >= 0 && b.cx <= frame.width && b.cy >= 0 && b.cy <= frame.height, `centre (${b.cx}, ${b.cy}) outside ${frame.width}x${frame.height}`);
        }
        perFrame.push(count(boxes.map((b) => b.label)));
      });
      assert.equal(perFrame.length, 25);
      assert.ok(perFrame.every((n) => n >= min), `${what} per sampled frame: ${perFrame.join(' ')}`);
    });
  }

  test('D2 frame detections carry the frame identity with the boxes', async () => {
    await sampleFrames(join(TRAFFIC_CLIPS_DIR, 'motorway-cctv.avi'), d.manifest, 1, 1, async (frame) => {
      const boxes = await d.detect(inputOf(frame));
      const fd = toFrameDetections(
        { cameraId: 'cam-1', imageId: 7, timestampNs: frame.captureRealtimeNs, exposureMode: 'manual', cameraPosition: null, width: frame.width, height: frame.height },
        boxes,
      );
      assert.deepEqual(fd, {
        cameraId: 'cam-1',
        imageId: 7,
        timestampNs: frame.captureRealtimeNs,
        exposureMode: 'manual',
        cameraPosition: null,
        width: 320,
        height: 240,
        boxes,
      });
      assert.ok(fd.boxes.length > 0);
    });
  });
});
