/**
 * Two SIGTERMs to `bestshot run` with a live camera (GNU timeout sends its
 * signal to the child and again to the process group): the second exits at
 * once (exit 1, "second signal while stopping"), as the help says. A
 * detector worker inside session.run() when the process exited took it down:
 * onnxruntime-node rethrows the teardown's failure as a C++ exception,
 * 'terminate called after throwing an instance of Napi::Error', SIGABRT,
 * exit 134 (the first of these stops, before DetectorPool.idle()). A race:
 * 12 stops at spread moments catch it. The counts a second signal prints
 * are those the process ends with (checked against the queue file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PackageQueue } from '../../src/upload/queue.js';
import { writeRunConfig } from '../helpers/run-config.js';
import { spawnCli } from '../helpers/spawn-cli.js';

function stopTwice(config: string, afterMs: number, gapMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const { child, output, closed } = spawnCli(['run', '--config', config], { BESTSHOT_TEST_TOKEN: 't0ken' });
  let signalled = false;
  child.stderr.on('data', () => {
    if (!signalled && output().stderr.includes('"msg":"running"')) {
      signalled = true;
      setTimeout(() => {
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGTERM'), gapMs);
      }, afterMs);
    }
  });
  return closed.then(([code, signal]) => ({ code, signal, ...output() }));
}

test('two SIGTERMs to a run with a live camera, at 12 spread moments: exit 0 or 1 (or the second signal after the handlers are gone), never std::terminate', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-sigterm2-'));
  try {
    const config = writeRunConfig(dir, {
      source: '{ type: test, pattern: ball, width: 640, height: 360, framerate: 30, live: true }',
      // Nothing listens on port 1: packages are queued, JPEG encodes happen all the same.
      endpoint: 'http://127.0.0.1:1/packages',
      upload: 'drainTimeoutS: 1',
    });
    const failures: string[] = [];
    const codes: string[] = [];
    let countsChecked = 0;
    for (let i = 0; i < 12; i++) {
      const r = await stopTwice(config, 800 + ((i * 97) % 900), (i * 41) % 200);
      codes.push(r.signal ?? String(r.code));
      const aborted = r.signal === 'SIGABRT' || r.code === 134 || /terminate called|Aborted|FATAL ERROR/.test(r.stderr);
      const expected = r.code === 0 || r.code === 1 || r.signal === 'SIGTERM';
      if (aborted || !expected) failures.push(`stop ${i}: code ${r.code}, signal ${r.signal}: ${r.stderr.slice(-400)}`);
      // The counts printed at a second signal are those the process ended with: the stop queued the
      // policies' held images after counts taken at the signal (41 in the queue, 40 said).
      const said = /(\d+) still queued/.exec(r.stdout);
      if (r.code === 1 && r.stderr.includes('second signal while stopping') && said) {
        const q = PackageQueue.open({ path: join(dir, 'queue.sqlite'), readOnly: true });
        const depth = q.depth;
        q.close();
        if (Number(said[1]) !== depth) failures.push(`stop ${i}: said ${said[1]} still queued, the queue holds ${depth}`);
        countsChecked++;
      }
    }
    assert.ok(countsChecked > 0, `no stop printed counts at a second signal: ${codes.join(' ')}`);
    assert.deepEqual(failures, [], codes.join(' '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The second SIGTERM after the run has stopped and said so ('stopped'), while the process ends: left
 * to end by itself, Node's teardown put the signal's default action back before it stopped the worker
 * threads, and a signal in those tens of ms ended the process with 143 (7 of 13 tries at 0–150 ms after
 * 'stopped' on the 2-core VM), not the exit code the run chose. bin/bestshot.js ends `run` with
 * process.exit(). A race: three tries at moments it was seen in (each of them, in two rounds).
 */
test('a second SIGTERM as the stopped run exits: the run\'s exit code (0), never killed by the signal', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-sigterm-late-'));
  try {
    const config = writeRunConfig(dir, {
      source: '{ type: test, pattern: ball, width: 320, height: 240, framerate: 30, live: true }',
      endpoint: 'http://127.0.0.1:1/packages',
      upload: 'drainTimeoutS: 1',
    });
    const outcomes: string[] = [];
    for (const lateMs of [10, 20, 30]) {
      const { child, output, closed } = spawnCli(['run', '--config', config], { BESTSHOT_TEST_TOKEN: 't0ken' });
      let stopping = false;
      let late = false;
      child.stderr.on('data', () => {
        const stderr = output().stderr;
        if (!stopping && stderr.includes('"msg":"running"')) {
          stopping = true;
          child.kill('SIGTERM');
        }
        if (!late && stderr.includes('"msg":"stopped"')) {
          late = true;
          setTimeout(() => child.kill('SIGTERM'), lateMs);
        }
      });
      const [code, signal] = await closed;
      outcomes.push(`${lateMs} ms: ${signal ?? code}`);
      assert.ok(late, `no 'stopped' line: ${output().stderr.slice(-400)}`);
    }
    assert.deepEqual(outcomes, ['10 ms: 0', '20 ms: 0', '30 ms: 0']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
