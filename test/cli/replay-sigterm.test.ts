/**
 * SIGTERM to `bestshot replay` mid-replay, as a supervisor, `timeout` or an
 * operator sends it. Before: the default kill, exit 143 with tracks.jsonl and
 * uploads.jsonl cut short, no summary.json, the run folder's locks left. Now
 * the replay stops: the outputs cover the frames processed, the summary says
 * it was interrupted, the locks are released, and it exits 143 all the same
 * (a script sees it did not finish). The real CLI, model and clip.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TRAFFIC_CLIPS_DIR } from '../../src/paths.js';
import { waitFor } from '../upload/helpers.js';
import { type CliProcess, spawnCli } from '../helpers/spawn-cli.js';

test('SIGTERM mid-replay: whole outputs for the frames processed, summary.json says interrupted, locks released, exit 143', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-replay-sigterm-'));
  try {
    const out = join(dir, 'out');
    const r = spawnReplay(join(TRAFFIC_CLIPS_DIR, 'motorway-cctv.avi'), out);
    const { child, closed } = r;
    // Once the first frames are written, well before the clip's end.
    const tracks = join(out, 'tracks.jsonl');
    await waitFor(() => existsSync(tracks) && statSync(tracks).size > 0, 60_000, `frames written: ${r.output().stderr}`);
    child.kill('SIGTERM');
    const [code, signal] = await closed;
    const { stdout, stderr } = r.output();
    assert.equal(signal, null, `killed by ${signal}: ${stderr}`);
    assert.equal(code, 143, stderr);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { interrupted?: string; framesProcessed: number; packagesImmediate: number; packagesCached: number };
    assert.equal(summary.interrupted, 'SIGTERM');
    // Every line whole, one per frame processed and one per package selected.
    const lines = (f: string): unknown[] => readFileSync(join(out, f), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown);
    assert.equal(lines('tracks.jsonl').length, summary.framesProcessed);
    assert.equal(lines('uploads.jsonl').length, summary.packagesImmediate + summary.packagesCached);
    assert.match(stdout, /^interrupted: {7}by SIGTERM, before the recording ended$/m);
    assert.match(stderr, /"msg":"replay interrupted: its outputs cover the frames processed before the stop"/);
    for (const lock of ['queue.sqlite.lock', join('state', 'bestshot.lock')]) assert.equal(existsSync(join(out, lock)), false, `${lock} left`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function spawnReplay(clip: string, out: string): CliProcess {
  return spawnCli(['replay', clip, '--out', out, '--quiet']);
}

/**
 * Two SIGTERMs mid-replay (GNU timeout sends two; an impatient operator): the second exited at once
 * with process.exit while a detector worker was inside session.run, and onnxruntime-node took the
 * process down: 'terminate called after throwing an instance of Napi::Error', SIGABRT (6 of 6 tries
 * at 0–400 ms into the replay, 0–35 ms apart). Now it exits once the inferences in flight end: 143.
 */
test('two SIGTERMs mid-replay: exit 143 once the inferences in flight end, never aborted', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-replay-sigterm2-'));
  try {
    const outcomes: string[] = [];
    for (const gapMs of [0, 10, 20]) {
      const out = join(dir, `out-${gapMs}`);
      const r = spawnReplay(join(TRAFFIC_CLIPS_DIR, 'motorway-cctv.avi'), out);
      const tracks = join(out, 'tracks.jsonl');
      await waitFor(() => existsSync(tracks) && statSync(tracks).size > 0, 60_000, `frames written: ${r.output().stderr}`);
      r.child.kill('SIGTERM');
      setTimeout(() => r.child.kill('SIGTERM'), gapMs);
      const [code, signal] = await r.closed;
      const aborted = /terminate called|Aborted|FATAL ERROR/.test(r.output().stderr);
      outcomes.push(`${gapMs} ms apart: ${signal ?? code}${aborted ? ' (aborted)' : ''}`);
    }
    assert.deepEqual(outcomes, ['0 ms apart: 143', '10 ms apart: 143', '20 ms apart: 143']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A SIGTERM just after the replay finished (its summary printed), while the process ends: its
 * handlers were gone and Node's teardown had not ended, and the signal's default action ended a
 * finished replay with 143 instead of 0 (5 of 5 tries at 0–40 ms after the summary's last line).
 * A 20-frame cut of a clip, so the replay ends in seconds.
 */
test('a SIGTERM as the finished replay exits: its exit code (0), never killed by the signal', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-replay-sigterm-late-'));
  try {
    const clip = join(dir, 'short.avi');
    execFileSync('gst-launch-1.0', ['-q', 'filesrc', `location=${join(TRAFFIC_CLIPS_DIR, 'motorway-cctv.avi')}`, '!', 'decodebin', '!', 'identity', 'eos-after=20', '!', 'videoconvert', '!', 'jpegenc', '!', 'avimux', '!', 'filesink', `location=${clip}`]);
    const outcomes: string[] = [];
    for (const lateMs of [0, 10, 20]) {
      const r = spawnReplay(clip, join(dir, `out-${lateMs}`));
      let sent = false;
      r.child.stdout?.on('data', () => {
        if (!sent && r.output().stdout.includes('outputs:')) {
          sent = true;
          setTimeout(() => r.child.kill('SIGTERM'), lateMs);
        }
      });
      const [code, signal] = await r.closed;
      assert.ok(sent, `no summary: ${r.output().stderr.slice(-400)}`);
      outcomes.push(`${lateMs} ms: ${signal ?? code}`);
    }
    assert.deepEqual(outcomes, ['0 ms: 0', '10 ms: 0', '20 ms: 0']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
