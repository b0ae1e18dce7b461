/**
 * A process that ends with native pipelines it never closed ends cleanly:
 * the exit code it chose, no SIGABRT. Before the addon shut its pipelines
 * down in a Node environment cleanup hook, the finalizer of an unclosed
 * pipeline released its thread-safe function during Node's teardown, when
 * that function was already being destroyed: 'Aborted', exit 134, as soon as
 * two such pipelines existed. Each case runs in a process of its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

const NATIVE = JSON.stringify(join(PROJECT_ROOT, 'src', 'capture', 'native.ts'));
const CAPTURE = JSON.stringify(join(PROJECT_ROOT, 'src', 'capture', 'index.ts'));
const LIVE = "videotestsrc is-live=true ! video/x-raw,format=BGR,width=320,height=240,framerate=30/1 ! appsink name=sink max-buffers=2 drop=true";

function runScript(code: string): { status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function assertClean(r: ReturnType<typeof runScript>, status: number): void {
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr.slice(-800)}`);
  assert.equal(r.status, status, r.stderr.slice(-800));
  assert.doesNotMatch(r.stderr, /Aborted|terminate called|core dumped|FATAL ERROR/);
}

test('sources created and never started or closed: the script ends with exit 0', { timeout: 90_000 }, () => {
  const r = runScript(`
    import { FrameSource } from ${CAPTURE};
    for (let i = 0; i < 3; i++) new FrameSource({ source: { type: 'test', pattern: 'ball', width: 64, height: 48, framerate: 10 } });
    console.log('done');
  `);
  assertClean(r, 0);
  assert.match(r.stdout, /^done$/m);
});

test('pipelines whose start failed, left unclosed (the raw binding): exit 0', { timeout: 90_000 }, () => {
  const r = runScript(`
    import { loadNative } from ${NATIVE};
    const b = loadNative();
    let failed = 0;
    for (let i = 0; i < 3; i++) {
      const p = new b.Pipeline({ description: 'v4l2src device=/dev/video97 ! appsink name=sink', sinkName: 'sink', live: true }, () => {});
      try { p.start(); } catch { failed++; }
    }
    console.log('failed', failed);
  `);
  assertClean(r, 0);
  assert.match(r.stdout, /^failed 3$/m);
});

test('process.exit(3) and an uncaught exception while pipelines deliver frames: exit 3 / exit 1', { timeout: 90_000 }, () => {
  const script = (end: string) => `
    import { loadNative } from ${NATIVE};
    const b = loadNative();
    const kept = [];
    for (let i = 0; i < 3; i++) {
      const p = new b.Pipeline({ description: ${JSON.stringify(LIVE)}, sinkName: 'sink', live: true }, () => {});
      p.start();
      p.request(1e9);
      kept.push(p);
    }
    // One more, unreferenced, for the garbage collector to find at the end.
    new b.Pipeline({ description: ${JSON.stringify(LIVE)}, sinkName: 'sink', live: true }, () => {});
    setTimeout(() => { ${end} }, 300);
  `;
  assertClean(runScript(script('process.exit(3);')), 3);
  const thrown = runScript(script("throw new Error('boom');"));
  assertClean(thrown, 1);
  assert.match(thrown.stderr, /Error: boom/);
});

test("an exception thrown by the frame handler is the process's uncaught exception (exit 1, its stack), not swallowed while the pipeline runs on", { timeout: 90_000 }, () => {
  const r = runScript(`
    import { loadNative } from ${NATIVE};
    const b = loadNative();
    const p = new b.Pipeline({ description: ${JSON.stringify(LIVE)}, sinkName: 'sink', live: true }, (m) => {
      if (m.type === 'frame') throw new Error('handler failed at frame ' + m.sequence);
    });
    p.start();
    p.request(5);
  `);
  assertClean(r, 1);
  assert.match(r.stderr, /Error: handler failed at frame 0/);
  assert.doesNotMatch(r.stderr, /DEP0168|Uncaught N-API callback exception/);
});
