/** DetectorPool (D1 in worker threads): same boxes as the in-thread Detector, shared and transferred tensors. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Detector } from '../../src/detect/index.js';
import { DetectorPool } from '../../src/detect/pool.js';
import { SHARED_DATA_DIR } from '../../src/paths.js';
import { firstFrame, inputOf } from './helpers.js';

describe('D1 DetectorPool', () => {
  let pool: DetectorPool;
  let direct: Detector;
  before(async () => {
    pool = await DetectorPool.create({ providers: ['cpu'], intraOpNumThreads: 1, logger: () => {} });
    direct = await Detector.create({ providers: ['cpu'], intraOpNumThreads: 1, logger: () => {} });
  });
  after(async () => {
    await pool.close();
    await direct.close();
  });

  test('D1 a worker finds the same boxes as the in-thread detector (copied, shared and transferred tensors)', async () => {
    assert.equal(pool.provider, 'cpu');
    assert.equal(pool.fitsInput, true, 'the workers infer the frame\'s window (model.fitInput), as the in-thread detector does');
    const frame = await firstFrame(join(SHARED_DATA_DIR, 'coco-images', '000000000139.jpg'), direct.manifest);
    const input = inputOf(frame);
    const expected = await direct.detect(input);
    assert.ok(expected.some((b) => b.label === 'tv'));
    assert.deepEqual(await pool.detect(input), expected);
    assert.equal(input.tensor.length, 3 * 416 * 416, 'copied by default: the caller keeps its tensor');

    const shared = new Float32Array(new SharedArrayBuffer(input.tensor.byteLength));
    shared.set(input.tensor);
    assert.deepEqual(await pool.detect({ ...input, tensor: shared }), expected);

    const mover = await DetectorPool.create({ providers: ['cpu'], transfer: true, logger: () => {} });
    const own = new Float32Array(input.tensor);
    assert.deepEqual(await mover.detectBatch([{ ...input, tensor: own }]), [expected]);
    assert.equal(own.length, 0, 'transferred: detached in the caller');
    await mover.close();
  });

  test('D1 errors: bad option, model error from the worker, closed pool', async () => {
    await assert.rejects(DetectorPool.create({ workers: 0 }), { name: 'RangeError', message: 'Expected positive integer for workers but received 0 of type number' });
    await assert.rejects(DetectorPool.create({ providers: ['cpu'], model: '/nonexistent/m.onnx', logger: () => {} }), {
      message: 'Model file not found: /nonexistent/m.onnx',
    });
    const p = await DetectorPool.create({ providers: ['cpu'], warmupRuns: 0, logger: () => {} });
    await p.close();
    await p.close();
    const blank = { tensor: new Float32Array(3 * 416 * 416), letterbox: { ratio: 1, padX: 0, padY: 0 }, frameWidth: 416, frameHeight: 416 };
    await assert.rejects(p.detect(blank), { name: 'InvalidStateError', message: 'DetectorPool is closed' });
  });
});
