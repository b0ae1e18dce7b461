/**
 * trackIds over restarts of `bestshot run` (data model: a trackId is unique
 * per camera and never reused; T2). imageIds had a high-water mark in
 * stateDir, trackIds did not: every start numbered tracks from 1 again, so a
 * unit restarted daily (or by its watchdog, or an update) sent new objects
 * under the ids of objects it had delivered before, and a cloud keying its
 * objects by camera and trackId merged different vehicles into one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, SHARED_DATA_DIR } from '../../src/paths.js';
import { writeRunConfig } from '../helpers/run-config.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const env = { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_TEST_TOKEN: 't' };

/** trackIds of every queued package, by idempotency key (bestshot queue export). */
function queuedTrackIds(dir: string, queue: string, name: string): Map<string, number[]> {
  const out = join(dir, name);
  execFileSync(process.execPath, [CLI, 'queue', 'export', '--path', queue, '--out', out], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
  const byKey = new Map<string, number[]>();
  const queued = join(out, 'queued');
  if (!existsSync(queued)) return byKey;
  for (const key of readdirSync(queued)) {
    const meta = JSON.parse(readFileSync(join(queued, key, 'metadata.json'), 'utf8')) as { tracks: Array<{ trackId: number }> };
    byKey.set(key, meta.tracks.map((t) => t.trackId));
  }
  return byKey;
}

test('trackIds are never reused across restarts of bestshot run (persisted in stateDir like imageIds)', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-trackid-restarts-'));
  try {
    // A short recording (60 frames of the motorway clip) with several cars.
    const clip = join(dir, 'clip.mp4');
    execFileSync('gst-launch-1.0', ['-q', 'filesrc', `location=${join(SHARED_DATA_DIR, 'traffic-clips', 'motorway-cctv.avi')}`, '!', 'decodebin', '!', 'identity', 'eos-after=60', '!', 'videoconvert', '!', 'x264enc', '!', 'mp4mux', '!', 'filesink', `location=${clip}`]);
    const config = writeRunConfig(dir, {
      source: `{ type: file, path: ${clip}, realtime: false }`,
      // Nothing takes the packages: they stay queued, where this test reads their tracks.
      endpoint: 'http://127.0.0.1:1/packages',
      upload: 'drainTimeoutS: 1',
    });
    const queue = join(dir, 'queue.sqlite');
    const runs: Array<Set<number>> = [];
    let before = new Map<string, number[]>();
    for (let run = 1; run <= 2; run++) {
      const r = spawnSync(process.execPath, [CLI, 'run', '--config', config], { cwd: PROJECT_ROOT, env, encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
      const now = queuedTrackIds(dir, queue, `export-${run}`);
      const ids = new Set<number>();
      for (const [key, trackIds] of now) if (!before.has(key)) for (const id of trackIds) ids.add(id);
      assert.ok(ids.size > 0, `run ${run} queued packages with tracks`);
      runs.push(ids);
      before = now;
    }
    const reused = [...runs[1]!].filter((id) => runs[0]!.has(id));
    assert.deepEqual(reused, [], `trackIds of run 1: ${[...runs[0]!].join(',')}; of run 2: ${[...runs[1]!].join(',')}`);
    assert.ok(existsSync(join(dir, 'state', 'cam.trackid.json')), 'the high-water mark is in stateDir');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
