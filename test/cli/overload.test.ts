/**
 * More camera work than the CPU can do, as an operator sees `bestshot run`:
 * the real CLI as a subprocess, real live videotestsrc cameras and a real
 * recording played at its own rate (`realtime: true`), the real model, and
 * /healthz over loopback. Before, a live camera's frames that found the
 * detector busy were dropped and counted, and a realtime recording's frames
 * waited (it fell behind real time), but nothing said so: the log was silent,
 * /healthz read 'delivering', and the recording's summary read "0 dropped".
 * Now one warning names the overloaded cameras and what to lower (never per
 * frame), /healthz lists them (still ready: a restart gives no CPU), and the
 * summary prints each one's worst window. A camera that keeps up (1 Hz) is
 * not named. A live camera whose frames the loop, running late, takes fewer
 * of than captureHz was told to raise its frame rate; it sent them all (the
 * pts gaps show it): now it is told the unit's CPU is short.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/net.js';
import { writeRunConfig } from '../helpers/run-config.js';
import { runWatchingLog } from '../helpers/run-to-end.js';

interface LogLine {
  msg: string;
  level: string;
  cameras?: Record<string, string>;
  camera?: string;
}

interface Health {
  status?: string;
  cameras?: Record<string, string>;
  overloadedCameras?: Record<string, string>;
}

test('an overloaded unit: one warning naming the cameras and what to lower, /healthz and the summary say it; a camera that keeps up is not named', { timeout: 170_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-overload-'));
  try {
    // 100 frames/s, 2.5 s, looped: with 'realtime' its frames wait for one inference worker and it falls behind.
    const clip = join(dir, 'clip100.mp4');
    execFileSync('gst-launch-1.0', ['-q', 'videotestsrc', 'num-buffers=250', 'pattern=ball', '!', 'video/x-raw,width=320,height=240,framerate=100/1', '!', 'x264enc', 'speed-preset=ultrafast', '!', 'h264parse', '!', 'mp4mux', '!', 'filesink', `location=${clip}`]);
    const port = await freePort();
    // One inference worker on one thread asked for ~1100 frames/s: no CPU keeps up (service.test.ts: 200 alone drops),
    // and a capture loop asked for 1000 a second runs late: the camera sends them, fewer are taken.
    const config = writeRunConfig(dir, {
      endpoint: 'http://127.0.0.1:1/packages',
      metricsPort: port,
      model: '{ providers: [cpu], workers: 1, intraOpThreads: 1 }',
      cameras: `  - id: live
    source: { type: test, pattern: ball, live: true, width: 160, height: 120, framerate: 1000 }
    captureHz: 1000
  - id: rec
    source: { type: file, path: ${clip}, realtime: true, loop: true }
    captureHz: 100
  - id: calm
    source: { type: test, pattern: ball, live: true, width: 160, height: 120, framerate: 5 }
    captureHz: 1
`,
    });
    let health: Health | undefined;
    const named = new Set<string>();
    let stopping = false;
    let rateSaid = false;
    let waiting: NodeJS.Timeout | undefined;
    let metrics = '';
    const { code, stdout, lines } = await runWatchingLog<LogLine>(
      config,
      (line, child) => {
        // Without a warning, stop well after several 10 s windows could have been judged.
        if (line.msg === 'running') setTimeout(() => child.kill('SIGTERM'), 90_000).unref();
        if (line.msg.startsWith('the unit is overloaded')) for (const id of Object.keys(line.cameras ?? {})) named.add(id);
        if (line.camera === 'live' && /captureHz/.test(line.msg)) rateSaid = true;
        const look = (): void => {
          if (stopping) return;
          stopping = true;
          void (async () => {
            const r = await fetch(`http://127.0.0.1:${port}/healthz`);
            health = (await r.json()) as Health;
            metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
            child.kill('SIGTERM');
          })();
        };
        if (named.has('live') && named.has('rec')) {
          // The capture rate line comes only where the loop, late, takes under 90 % of 1000 a second
          // (a loaded machine; a quiet one keeps up): two more 10 s windows for it, then look.
          if (rateSaid) look();
          else if (!waiting) waiting = setTimeout(look, 22_000);
        }
      },
      { hardKillMs: 160_000 },
    );
    clearTimeout(waiting);
    assert.equal(code, 0, JSON.stringify(lines.slice(-5)));
    const warnings = lines.filter((l) => l.msg.startsWith('the unit is overloaded'));
    // Once per camera at most (both are usually named in one warning), never per frame.
    assert.ok(warnings.length >= 1 && warnings.length <= 2, JSON.stringify(warnings));
    for (const w of warnings) {
      assert.equal(w.level, 'warn');
      assert.match(w.msg, /lower captureHz, the number of cameras or their resolution, or use a smaller model$/);
      assert.ok(!('calm' in (w.cameras ?? {})), JSON.stringify(w));
    }
    assert.deepEqual([...named].sort(), ['live', 'rec']);
    // The camera sent its frames (the pts gaps of those let go show them); the loop ran late: the unit's
    // CPU is short, and "raise the camera's frame rate" (what a slow camera is told) would add work.
    // Said where the loop took fewer than 90 % of captureHz (load-dependent: at most once, and then
    // never "raise the camera's frame rate"; the choice itself is test/runtime/rate-warning.test.ts).
    const rate = lines.filter((l) => l.camera === 'live' && /captureHz/.test(l.msg));
    assert.ok(rate.length <= 1, JSON.stringify(rate));
    if (rate.length === 1) assert.match(rate[0]!.msg, /^camera sends \d+\.\d frames\/s, but only \d+\.\d a second were taken, fewer than captureHz 1000: the unit is short of CPU, not the camera; lower captureHz, the number of cameras or their resolution, or use a smaller model$/);
    // Still ready (the unit analyses frames; a restart would not give it CPU), but it says what is wrong.
    assert.equal(health?.status, 'ready', JSON.stringify(health));
    assert.match(health?.overloadedCameras?.live ?? '', /^analyses \d+\.\d of the \d+\.\d frames\/s it takes \(captureHz 1000\): \d+ % dropped, the detector busy$/, JSON.stringify(health));
    assert.ok(!('calm' in (health?.overloadedCameras ?? {})), JSON.stringify(health));
    // Every frame taken is counted as captured, those dropped before detection too: a dashboard's
    // dropped / captured is a share of what was taken (it read above 100 % under overload).
    const metric = (re: RegExp): number => Number(re.exec(metrics)?.[1] ?? Number.NaN);
    const captured = metric(/^bestshot_frames_captured_total\{camera="live"\} (\d+)$/m);
    const busy = metric(/^bestshot_frames_dropped_total\{camera="live",reason="detector_busy"\} (\d+)$/m);
    assert.ok(busy > 0 && captured >= busy, `captured ${captured}, dropped busy ${busy}`);
    // The summary: the frames dropped for a busy detector counted, and each overloaded camera's worst window.
    assert.match(stdout, /^frames: +\d+ processed, \d+ skipped by the captureHz grid, busy [1-9]\d* dropped$/m, stdout);
    assert.match(stdout, /^camera: {6}live: overloaded, at its worst it analyses \d+\.\d of the \d+\.\d frames\/s it takes \(captureHz 1000\): \d+ % dropped, the detector busy; lower captureHz/m, stdout);
    assert.match(stdout, /^camera: {6}rec: overloaded, at its worst it analyses \d+\.\d frames\/s \(captureHz 100\): the recording plays at 0\.\d\d× real time, its frames wait for the detector; lower captureHz/m, stdout);
    assert.doesNotMatch(stdout, /^camera: {6}calm/m, stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
