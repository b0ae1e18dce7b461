/**
 * A recording with two video tracks: GStreamer's decodebin plays the first
 * (its pads are sorted by stream id, the container's track order) and drops
 * the other without a word. probe and replay say which one is used, once.
 * Real files (matroskamux / mp4mux over two videotestsrc branches), the CLI
 * as a subprocess.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCapture, type VideoStreams } from '../../src/capture/index.js';
import { PROJECT_ROOT } from '../../src/paths.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');

/** Two H.264 tracks, 320×240 (the first) and 640×360, 25 frames each; or one with `single`. */
function twoTrackFile(dir: string, mux: 'matroskamux' | 'mp4mux', name: string, single = false): string {
  const path = join(dir, name);
  const branch = (w: number, h: number, pattern: string): string[] =>
    ['videotestsrc', 'num-buffers=25', `pattern=${pattern}`, '!', `video/x-raw,width=${w},height=${h},framerate=25/1`, '!', 'x264enc', 'speed-preset=ultrafast', '!', 'h264parse', '!', 'm.'];
  execFileSync('gst-launch-1.0', ['-q', mux, 'name=m', '!', 'filesink', `location=${path}`, ...branch(320, 240, 'ball'), ...(single ? [] : branch(640, 360, 'smpte'))]);
  return path;
}

test('a source with two video streams tells both, and that the first is delivered; one with one stream tells nothing', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-2v-'));
  try {
    for (const [file, expected] of [
      [twoTrackFile(dir, 'matroskamux', 'two.mkv'), { streams: [{ width: 320, height: 240 }, { width: 640, height: 360 }], used: 0 }],
      [twoTrackFile(dir, 'matroskamux', 'one.mkv', true), undefined],
    ] as const) {
      const source = openCapture({ source: { type: 'file', path: file } });
      const said: VideoStreams[] = [];
      source.on('videoStreams', (v) => said.push(v));
      let frames = 0;
      let width = 0;
      for await (const f of source) {
        width = f.width;
        frames++;
      }
      assert.equal(frames, 25, file);
      assert.equal(width, 320, 'the first track is the one delivered');
      assert.deepEqual(said, expected === undefined ? [] : [expected], file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('probe, replay and detect of a recording with two video streams say, in one line, which one is used and which is ignored', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-2v-'));
  try {
    const mp4 = twoTrackFile(dir, 'mp4mux', 'two.mp4');
    const line = `${mp4} has 2 video streams: the first (320×240) is used, the other (second, 640×360) is ignored`;
    const probe = spawnSync(process.execPath, [CLI, 'probe', mp4, '--frames', '3'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(probe.status, 0, probe.stderr);
    assert.match(probe.stdout, new RegExp(`^streams: {2}${line.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`, 'm'));
    assert.match(probe.stdout, /^caps: .*width=320, height=240$/m);

    const replay = spawnSync(process.execPath, [CLI, 'replay', mp4, '--out', join(dir, 'out'), '--quiet'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 100_000 });
    assert.equal(replay.status, 0, replay.stderr);
    const said = replay.stderr
      .split('\n')
      .filter((l) => l.includes('video streams'))
      .map((l) => JSON.parse(l) as { level: string; msg: string });
    assert.deepEqual(
      said.map((r) => [r.level, r.msg]),
      [['warn', `recording ${line}`]],
    );
    assert.match(replay.stdout, /^frames: .* of 25 decoded/m);

    const detect = spawnSync(process.execPath, [CLI, 'detect', mp4, '--frames', '2', '--json'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(detect.status, 0, detect.stderr);
    assert.equal(detect.stderr.trim(), `bestshot detect: warning: ${line}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
