/**
 * A file source path that is not a regular file, as a user gives it: the real
 * CLI as a subprocess. A folder (an image sequence's) and a FIFO are refused
 * before a pipeline or the model, with what to do: a FIFO used to hang every
 * command before its first line (opening it blocks until a writer comes),
 * deaf to SIGTERM, and `run` could only be killed with SIGKILL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';
import { writeRunConfig } from '../helpers/run-config.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');

// SIGKILL after 30 s: without the refusal a FIFO blocks the process in open(), where SIGTERM is not handled.
const cli = (args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 30_000,
    killSignal: 'SIGKILL',
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_TEST_TOKEN: 't' },
  });

test('a folder, a FIFO or an empty file given as a recording: probe, detect and replay exit 2, run and check-config exit 1, each with one line that says what it is', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-srcpath-'));
  try {
    const folder = join(dir, 'frames');
    mkdirSync(folder);
    const fifo = join(dir, 'cam.mp4');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
    // An empty file: said before the model loads (exit 2), not as GStreamer's 'Stream contains no data.' after (exit 1).
    const empty = join(dir, 'empty.mp4');
    writeFileSync(empty, '');
    const said = {
      [empty]: `${empty} is empty (0 bytes): check the path, or wait until the recording has been written`,
      [folder]: `${folder} is a folder, not a video file: give the path of a recording (an image sequence is not read: make a video of it first)`,
      [fifo]: `${fifo} is a named pipe (FIFO), not a video file: a recording is read from a regular file (a pipe blocks the reader until its writer sends, and cannot be stopped); save it to a file, or serve a live stream over RTSP`,
    };
    for (const [path, line] of Object.entries(said)) {
      for (const command of ['probe', 'detect', 'replay']) {
        const r = cli([command, path, ...(command === 'replay' ? ['--out', join(dir, 'out'), '--quiet'] : [])]);
        assert.equal(r.status, 2, `${command} ${path}: ${r.signal ?? ''} ${r.stderr}`);
        assert.equal(r.stderr.trim(), `bestshot ${command}: [ERR_USAGE] ${line}`);
      }
      const config = writeRunConfig(dir, { source: `{ type: file, path: ${path} }`, endpoint: 'http://127.0.0.1:1/packages' });
      const run = cli(['run', '--config', config]);
      assert.equal(run.status, 1, `run ${path}: ${run.signal ?? ''} ${run.stderr.slice(-1500)}`);
      assert.equal(run.stderr.trim().split('\n').at(-1), `bestshot run: [ERR_CONFIG] cameras[0].source.path: ${line}`);
      const checked = cli(['check-config', config, '-q']);
      assert.equal(checked.status, 1, checked.stderr);
      assert.equal(checked.stderr.trim(), `${config}: cameras[0].source.path: ${line}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a source URI or test pattern that names nothing: probe exits 2; check-config and run refuse the pattern (run used to retry the camera for ever)', { timeout: 120_000 }, () => {
  const scheme = cli(['probe', 'foo://x']);
  assert.equal(scheme.status, 2, scheme.stderr);
  assert.equal(scheme.stderr.trim(), "bestshot probe: [ERR_USAGE] Expected a file path or a URI of scheme file, rtsp, rtsps, v4l2, argus, test for uri but received 'foo://x' of type string");
  const pattern = cli(['probe', 'test://nosuch']);
  assert.equal(pattern.status, 2, pattern.stderr);
  assert.match(pattern.stderr.trim(), /^bestshot probe: \[ERR_USAGE\] Expected test:\/\/<pattern> with a pattern of smpte, snow, .*, smpte-rp-219 for uri but received 'test:\/\/nosuch' of type string$/);
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-srcpattern-'));
  try {
    const config = writeRunConfig(dir, { source: '{ type: test, pattern: nosuch, live: true }', endpoint: 'http://127.0.0.1:1/packages' });
    const checked = cli(['check-config', config, '-q']);
    assert.equal(checked.status, 1, checked.stderr);
    assert.match(checked.stderr, /cameras\[0\]\.source\.pattern: Expected one of 'smpte', .*'smpte-rp-219' but received 'nosuch' of type string/);
    const run = cli(['run', '--config', config]);
    assert.equal(run.status, 1, `${run.signal ?? ''} ${run.stderr.slice(-1500)}`);
    assert.match(run.stderr, /cameras\[0\]\.source\.pattern: Expected one of/);
    assert.doesNotMatch(run.stderr, /camera failed, retrying/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a test camera at 7.5 fps (the config takes any positive frame rate) runs instead of being retried for ever', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-srcfps-'));
  try {
    const config = writeRunConfig(dir, { source: '{ type: test, live: false, numBuffers: 15, width: 160, height: 120, framerate: 7.5 }', endpoint: 'http://127.0.0.1:1/packages', upload: 'drainTimeoutS: 1' });
    const run = cli(['run', '--config', config]);
    assert.equal(run.status, 0, `${run.signal ?? ''} ${run.stderr.slice(-1500)}`);
    assert.doesNotMatch(run.stderr, /camera failed/);
    // 15 frames at 7.5 fps = 2 s of stream, taken at the default 10 Hz: every frame.
    assert.match(run.stdout, /^frames: {6}15 processed, 0 skipped/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a camera URL given to replay or detect is named as such (exit 2), the password masked, not as a missing file', () => {
  const url = 'rtsp://viewer:secret@127.0.0.1:1/stream1';
  const masked = 'rtsp://viewer:***@127.0.0.1:1/stream1';
  const replay = cli(['replay', url, '--out', join(tmpdir(), 'bestshot-never-written')]);
  assert.equal(replay.status, 2, replay.stderr);
  assert.equal(
    replay.stderr.trim(),
    `bestshot replay: [ERR_USAGE] replay reads a recording file, not a camera URL (${masked}): record the stream to a file first, or run the camera with 'bestshot run' (its config's source), or look at it with 'bestshot probe'`,
  );
  const detect = cli(['detect', url]);
  assert.equal(detect.status, 2, detect.stderr);
  assert.equal(detect.stderr.trim(), `bestshot detect: [ERR_USAGE] detect reads an image or video file, not a camera URL (${masked}): save a frame or a recording first, or run the camera with 'bestshot run'`);
});
