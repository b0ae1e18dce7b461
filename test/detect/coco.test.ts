/**
 * D1 with the real YOLOX-Nano on the COCO images: the objects a person sees
 * (test/detect/fixtures/coco-expected.ts, written by looking at the images)
 * are found with the right label near the right place.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Detector, computeLetterbox } from '../../src/detect/index.js';
import { SHARED_DATA_DIR } from '../../src/paths.js';
import type { Box } from '../../src/types.js';
import { COCO_EXPECTED } from './fixtures/coco-expected.js';
import { firstFrame, inputOf, iouXyxy } from './helpers.js';

/** Rough boxes drawn by eye: an IoU of 0.4 with them means "the same object". */
const MIN_IOU = 0.4;

const xyxy = (b: Box): number[] => [b.cx - b.w / 2, b.cy - b.h / 2, b.cx + b.w / 2, b.cy + b.h / 2];

describe('D1 YOLOX-Nano on COCO images', () => {
  let detector: Detector;
  before(async () => {
    detector = await Detector.create({ providers: ['cpu'], intraOpNumThreads: 2 });
  });
  after(async () => {
    await detector.close();
  });

  test('loads the default model on CPU with a known digest', () => {
    assert.equal(detector.provider, 'cpu');
    assert.ok(detector.manifest.sha256.includes(detector.sha256 ?? ''), `digest ${detector.sha256}`);
    assert.equal(detector.manifest.classes.length, 80);
  });

  for (const img of COCO_EXPECTED) {
    test(`D1 ${img.file}: ${img.scene}`, async () => {
      const frame = await firstFrame(join(SHARED_DATA_DIR, 'coco-images', img.file), detector.manifest);
      assert.equal(frame.width, img.width);
      assert.equal(frame.height, img.height);
      const { ratio, padX, padY } = frame.letterbox!;
      assert.deepEqual({ ratio, padX, padY }, computeLetterbox(img.width, img.height, 416, 416, 'topleft'));
      const boxes = await detector.detect(inputOf(frame));
      const used = new Set<number>();
      for (const exp of img.objects) {
        let best = -1;
        let bestIou = 0;
        boxes.forEach((b, i) => {
          if (b.label !== exp.label || used.has(i)) return;
          const iou = iouXyxy(xyxy(b), exp.box);
          if (iou > bestIou) {
            bestIou = iou;
            best = i;
          }
        });
        const found = boxes.map((b) => `${b.label} ${b.score.toFixed(2)} [${xyxy(b).map(Math.round).join(',')}]`).join('; ');
        assert.ok(bestIou >= MIN_IOU, `${exp.label} near [${exp.box.join(',')}] not found (best IoU ${bestIou.toFixed(2)}); found: ${found}`);
        used.add(best);
      }
      for (const [label, n] of Object.entries(img.atLeast ?? {})) {
        assert.ok(boxes.filter((b) => b.label === label).length >= n, `expected at least ${n} ${label}`);
      }
      for (const b of boxes) {
        assert.ok(b.score >= 0.3 && b.score <= 1, `score ${b.score} within [threshold, 1]`);
        assert.equal(b.angle, 0);
        assert.equal(b.label, detector.manifest.classes[b.classId]);
      }
    });
  }
});
