/**
 * A5: a live camera that sends fewer frames than captureHz, as an operator
 * sees `bestshot run`: the real CLI as a subprocess, real live videotestsrc
 * cameras, /healthz over loopback. Before, nothing said it: /healthz read
 * 'delivering', the summary counted the frames, and the log was silent.
 * Now one warning (the measured rate against captureHz), after a settling
 * time and a measured window, never per frame; /healthz and the summary
 * carry the rate. A camera faster than captureHz says nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';
import { freePort } from '../helpers/net.js';
import { writeRunConfig } from '../helpers/run-config.js';
import { runWatchingLog } from '../helpers/run-to-end.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');

interface LogLine {
  msg: string;
  level: string;
  camera?: string;
  deliveredHz?: number;
  captureHz?: number;
}

test('a live camera slower than captureHz: one warning with its rate, /healthz and the summary say it; a faster one nothing', { timeout: 150_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-slow-'));
  try {
    const port = await freePort();
    const config = writeRunConfig(dir, {
      endpoint: 'http://127.0.0.1:1/packages',
      metricsPort: port,
      cameras: `  - id: slow
    source: { type: test, pattern: ball, live: true, width: 160, height: 120, framerate: 2 }
    captureHz: 10
  - id: fast
    source: { type: test, pattern: ball, live: true, width: 160, height: 120, framerate: 25 }
    captureHz: 5
`,
    });
    let health: { slowCameras?: Record<string, string>; cameras?: Record<string, string> } | undefined;
    const { code, stdout, lines } = await runWatchingLog<LogLine>(
      config,
      (line, child) => {
        // Without a warning (the rate never measured), stop well after the first window could have ended.
        if (line.msg === 'running') setTimeout(() => child.kill('SIGTERM'), 60_000).unref();
        if (line.msg.startsWith('camera delivers ') && line.camera === 'slow') {
          // Two more measured windows (10 s each) of both cameras, then stop: still one warning.
          setTimeout(async () => {
            const r = await fetch(`http://127.0.0.1:${port}/healthz`);
            health = (await r.json()) as typeof health;
            child.kill('SIGTERM');
          }, 21_000);
        }
      },
      { hardKillMs: 140_000 },
    );
    assert.equal(code, 0, JSON.stringify(lines.slice(-5)));
    const said = lines.filter((l) => /captureHz/.test(l.msg));
    assert.equal(said.length, 1, JSON.stringify(said));
    const warning = said[0]!;
    assert.equal(warning.level, 'warn');
    assert.equal(warning.camera, 'slow');
    assert.equal(warning.deliveredHz, 2);
    assert.equal(warning.captureHz, 10);
    assert.equal(
      warning.msg,
      "camera delivers 2.0 frames/s, fewer than captureHz 10: each frame it sends is analysed, but objects are seen less often than configured; raise the camera's frame rate or lower captureHz",
    );
    assert.deepEqual(health?.cameras, { slow: 'delivering', fast: 'delivering' });
    assert.deepEqual(health?.slowCameras, { slow: '2.0 frames/s, fewer than captureHz 10' });
    assert.match(stdout, /^camera: {6}slow: delivered 2\.0 frames\/s at its slowest, fewer than captureHz 10$/m);
    assert.doesNotMatch(stdout, /^camera: {6}fast/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('replay of a recording with fewer frames per second than captureHz says its rate once; one with more says nothing', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-slowrec-'));
  try {
    const clip = (fps: number): string => {
      const path = join(dir, `clip${fps}.mp4`);
      execFileSync('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=30', 'pattern=ball', '!', `video/x-raw,width=160,height=120,framerate=${fps}/1`, '!', 'x264enc', 'speed-preset=ultrafast', '!', 'h264parse', '!', 'mp4mux', '!', 'filesink', `location=${path}`]);
      return path;
    };
    const said = (path: string, config: string[] = []): LogLine[] => {
      // config/demo.yaml: captureHz 10.
      const r = spawnSync(process.execPath, [CLI, 'replay', path, ...config, '--out', join(dir, `out-${basename(path)}-${config.length}`), '--quiet'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 100_000 });
      assert.equal(r.status, 0, r.stderr);
      return r.stderr
        .split('\n')
        .filter((l) => l.startsWith('{') && l.includes('captureHz'))
        .map((l) => JSON.parse(l) as LogLine);
    };
    const five = clip(5);
    const lines = said(five);
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg, l.deliveredHz, l.captureHz]),
      [['warn', `recording ${five} has 5.0 frames/s, fewer than captureHz 10: each of its frames is analysed, but objects are seen less often than configured`, 5, 10]],
    );
    assert.deepEqual(said(clip(25)), []);
    // T2: at captureHz 100 the tracker's 30 lost periods are 300 ms, less than two of the clip's 200 ms
    // frames — every missed detection would end a track (the pipeline benchmark's captureHz 1000 on a
    // 24 fps clip built a package for every second frame): the warning says so and what to set.
    const fast = join(dir, 'fast.yaml');
    writeFileSync(
      fast,
      `version: 1
model: { providers: [cpu] }
receiver: { embedded: true }
cameras:
  - id: demo
    source: { type: file, path: ${five}, realtime: false }
    captureHz: 100
    exposure: { mode: auto }
    position: { type: none }
`,
    );
    assert.deepEqual(
      said(five, ['--config', fast]).map((l) => [l.level, l.msg, l.deliveredHz, l.captureHz]),
      [
        [
          'warn',
          `recording ${five} has 5.0 frames/s, fewer than captureHz 100: each of its frames is analysed, but objects are seen less often than configured; the tracker keeps a lost track for 30 capture periods (T2), 300 ms, less than two of these frames, so every missed detection ends a track and its object is sent again: set captureHz to at most 5.0`,
          5,
          100,
        ],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
