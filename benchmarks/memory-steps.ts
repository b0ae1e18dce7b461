/**
 * npm run bench -- memory-steps
 *
 * RSS part by part (docs/performance.md): one fresh process loads the parts
 * of one camera's service one after another and prints RSS and anonymous
 * memory (smaps_rollup) after each step. Runs the compiled dist/ when it is
 * current (npx tsc -p .), as a unit does; otherwise the sources through tsx.
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compiledIsCurrent } from './service-runner.js';
import { memoryMiB, smapsRollup } from './service-child.js';
import { benchArgs, machine, writeResult } from './util.js';

const USAGE = `npm run bench -- memory-steps
  (no options) RSS after each part of one camera's service, loaded one after another in a fresh process
Writes benchmarks/results/memory-steps.json.`;

type Step = { step: string; rssMiB: number; anonymousMiB: number; addedMiB: number };

async function steps(): Promise<Step[]> {
  const out: Step[] = [];
  let last = 0;
  const step = (name: string): void => {
    const rss = memoryMiB().rss!;
    out.push({ step: name, rssMiB: rss, anonymousMiB: smapsRollup().Anonymous ?? NaN, addedMiB: Math.round((rss - last) * 10) / 10 });
    last = rss;
  };
  step('Node started');
  const { DetectorPool, tensorOptionsFor } = await import('../src/detect/index.js');
  const { openCapture } = await import('../src/capture/index.js');
  const { TrackingShards } = await import('../src/runtime/shards.js');
  const { TRAFFIC_CLIPS_DIR } = await import('../src/paths.js');
  step('modules, ONNX Runtime and GStreamer libraries loaded');
  const p1 = await DetectorPool.create({ providers: ['cpu'], workers: 1, intraOpNumThreads: 1 });
  step('first inference worker (isolate + ORT session)');
  const p2 = await DetectorPool.create({ providers: ['cpu'], workers: 1, intraOpNumThreads: 1 });
  step('a second inference worker');
  const shards = new TrackingShards(1);
  await shards.pools[0]!.run({ op: 'flush', init: { cameraId: 'x', tracker: {}, policy: 'spec', policyOptions: {}, calibration: null, trackIdFloor: 1 } });
  step('tracking/selection worker');
  const src = openCapture({ source: { type: 'file', path: join(TRAFFIC_CLIPS_DIR, 'suburban-street-elevated.mp4') }, tensor: tensorOptionsFor(p1.manifest), pixelSlots: 18 });
  let n = 0;
  for await (const f of src) {
    await p1.detect({ tensor: f.tensor!, letterbox: f.letterbox!, frameWidth: f.width, frameHeight: f.height });
    src.releaseTensor(f);
    src.releasePixels(f);
    if (++n === 100) break;
  }
  step('capture 640x352 (decode, 18 pixel slots, 4 tensor slots) + 100 inferences');
  src.close();
  await Promise.all([p1.close(), p2.close(), shards.close()]);
  return out;
}

// The forked child's own argv (not run.ts's: `npm run bench -- memory-steps --memory-steps-child` is refused by main()).
if (process.argv[2] === '--memory-steps-child') {
  const result = await steps();
  process.send!(result);
  process.disconnect();
}

export default async function main(args: string[]): Promise<void> {
  benchArgs(args, USAGE, {});
  const compiled = compiledIsCurrent();
  const file = compiled ? fileURLToPath(new URL('../dist/benchmarks/memory-steps.js', import.meta.url)) : fileURLToPath(import.meta.url);
  if (compiled && !existsSync(file)) throw new Error(`${file} missing: npx tsc -p .`);
  const child = fork(file, ['--memory-steps-child'], { execArgv: compiled ? [] : ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [rows] = (await once(child, 'message')) as [Step[]];
  console.log(`machine: ${machine()}; ${compiled ? 'compiled dist/' : 'TypeScript through tsx'}\n`);
  for (const r of rows) console.log(`${r.step.padEnd(80)} RSS ${r.rssMiB.toFixed(0).padStart(4)} MiB (+${r.addedMiB.toFixed(0)}), anonymous ${r.anonymousMiB} MiB`);
  console.log(`\nwritten ${writeResult('memory-steps', { compiled, rows })}`);
}
