/** DetectorPool (D1 in worker threads): same boxes as the in-thread Detector, shared and transferred tensors. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  test("the worker's once-a-second collection is a young-generation one: no full mark-compact the frame's boxes wait behind", () => {
    // --trace-gc names a collection asked for by gc() 'testing'. A full one took 14.5 ms mean, 30 ms
    // at most with four 1280×720 cameras; a scavenge 1.45 ms (docs/performance.md "The detect worker's collection").
    const dir = mkdtempSync(join(tmpdir(), 'bestshot-pool-gc-'));
    const script = join(dir, 'pool-gc.mts');
    writeFileSync(
      script,
      `import { setFlagsFromString } from 'node:v8';
      import { DetectorPool } from ${JSON.stringify(new URL('../../src/detect/pool.ts', import.meta.url).href)};
      // V8's flags are the process's: the worker's isolate, made after this, traces its collections
      // (--trace-gc on the command line would be refused as a worker's execArgv).
      setFlagsFromString('--trace-gc');
      const pool = await DetectorPool.create({ providers: ['cpu'], intraOpNumThreads: 1, warmupRuns: 0, logger: () => {} });
      const input = { tensor: new Float32Array(3 * 416 * 416).fill(114), letterbox: { ratio: 1, padX: 0, padY: 0 }, frameWidth: 416, frameHeight: 416 };
      const t0 = performance.now();
      while (performance.now() - t0 < 2600) await pool.detect(input);
      await pool.close();`,
    );
    const out = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', maxBuffer: 16 << 20 });
    const forced = out.split('\n').filter((line) => / testing;/.test(line));
    assert.ok(forced.length >= 2, `the worker collected ${forced.length} times in 2.6 s of inference (at most once a second expected, at least twice):\n${out.slice(-2000)}`);
    for (const line of forced) assert.match(line, /: Scavenge /, `a forced collection that is not a scavenge: ${line}`);
  });
});
