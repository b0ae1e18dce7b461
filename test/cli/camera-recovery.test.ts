/**
 * A live camera that fails and comes back, as an operator reads `bestshot
 * run`'s log: the real CLI as a subprocess, a real videotestsrc that ends
 * (live, num-buffers: a live source that ends is retried, as an RTSP server
 * that went away). After "camera failed, retrying" the log said nothing when
 * the camera delivered again: a recovered camera read like a hung one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';
import { writeRunConfig } from '../helpers/run-config.js';
import { runWatchingLog } from '../helpers/run-to-end.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');

interface LogLine {
  msg: string;
  level: string;
  camera?: string;
  afterS?: number;
  failedTries?: number;
}

test('a live camera that fails and delivers again says so once, with how long it was down and how many tries failed', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-recover-'));
  try {
    const config = writeRunConfig(dir, {
      source: '{ type: test, live: true, numBuffers: 15, width: 160, height: 120, framerate: 15 }',
      endpoint: 'http://127.0.0.1:1/packages',
      extra: 'defaults: { captureHz: 5 }\n',
    });
    const { code, lines } = await runWatchingLog<LogLine>(
      config,
      (line, child) => {
        // Stop once the camera has ended, been retried and delivered again.
        if (line.msg === 'camera delivering again') child.kill('SIGTERM');
      },
      { hardKillMs: 100_000 },
    );
    assert.equal(code, 0, JSON.stringify(lines.slice(-5)));
    const failed = lines.findIndex((l) => l.msg === 'camera failed, retrying');
    const again = lines.findIndex((l) => l.msg === 'camera delivering again');
    assert.ok(failed >= 0, 'the stream ended and was retried');
    assert.ok(again > failed, 'delivering again is said after the failure');
    const line = lines[again]!;
    assert.equal(line.level, 'info');
    assert.equal(line.camera, 'cam');
    assert.equal(line.failedTries, 1);
    assert.equal(typeof line.afterS, 'number');
    // Said once per recovery, not for every frame: each such line follows a failure since the one before.
    let failedSince = false;
    for (const l of lines) {
      if (l.msg === 'camera failed, retrying') failedSince = true;
      if (l.msg === 'camera delivering again') {
        assert.ok(failedSince, 'delivering again only after a failure');
        failedSince = false;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM while a V4L2 camera that does not exist is retried: exit 0 with the counts, not an abort at exit', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-nodev-'));
  try {
    const config = writeRunConfig(dir, { source: '{ type: v4l2, device: /dev/video97 }', endpoint: 'http://127.0.0.1:1/packages' });
    const child = spawn(process.execPath, [CLI, 'run', '--config', config], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_TEST_TOKEN: 't' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let stopping = false;
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const hard = setTimeout(() => child.kill('SIGKILL'), 100_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        // Failed opens (each leaves a pipeline behind unless it is released): the first is said, the
        // next ones (back-off 1 s, 2 s) are not; stop after them. The summary counts them.
        if (!stopping && stderr.includes('camera failed, retrying')) {
          stopping = true;
          setTimeout(() => child.kill('SIGTERM'), 4000);
        }
      });
      child.on('close', (c, s) => resolve([c, s]));
    });
    clearTimeout(hard);
    assert.equal(signal, null, `killed by ${signal}: ${stderr.slice(-800)}`);
    assert.equal(code, 0, stderr.slice(-800));
    assert.match(stderr, /V4L2 camera \/dev\/video97 does not exist/);
    assert.match(stdout, /^frames: {6}0 processed/m);
    const tries = /^camera: {6}cam: no frame captured; (\d+) failures/m.exec(stdout);
    assert.ok(tries && Number(tries[1]) >= 2, `more than one failed open: ${stdout}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
