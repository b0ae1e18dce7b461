/**
 * report.dir over many starts of `bestshot run`, as an operator reads it with
 * `ls` after weeks of a service restarted daily or by its watchdog: each run
 * kept its newest report.maxImages images, but the images of the run before
 * were never deleted (no report linked them any more), so report/images/
 * grew by up to report.maxImages files per start, without bound.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, SHARED_DATA_DIR } from '../../src/paths.js';
import { writeRunConfig } from '../helpers/run-config.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const MAX_IMAGES = 4;
const RUNS = 3;

test('report/images stays within report.maxImages over restarts of bestshot run, the newest kept', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-report-restarts-'));
  try {
    // A short recording (80 frames of the motorway clip) that selects a few images per run.
    const clip = join(dir, 'clip.mp4');
    execFileSync('gst-launch-1.0', ['-q', 'filesrc', `location=${join(SHARED_DATA_DIR, 'traffic-clips', 'motorway-cctv.avi')}`, '!', 'decodebin', '!', 'identity', 'eos-after=80', '!', 'videoconvert', '!', 'x264enc', '!', 'mp4mux', '!', 'filesink', `location=${clip}`]);
    const config = writeRunConfig(dir, {
      source: `{ type: file, path: ${clip}, realtime: false }`,
      // Nothing takes the packages: they stay queued, which this test does not look at.
      endpoint: 'http://127.0.0.1:1/packages',
      upload: 'drainTimeoutS: 1',
    });
    // The helper writes report: { dir: <dir>/report }; this test bounds its images.
    writeFileSync(config, readFileSync(config, 'utf8').replace(/^report: \{ dir: (.*) \}$/m, `report: { dir: $1, maxImages: ${MAX_IMAGES} }`));
    const images = join(dir, 'report', 'images');
    const counts: number[] = [];
    const names: string[][] = [];
    for (let run = 1; run <= RUNS; run++) {
      const r = spawnSync(process.execPath, [CLI, 'run', '--config', config], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_TEST_TOKEN: 't' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
      const built = Number(/"built":(\d+)/.exec(r.stderr)?.[1] ?? 0);
      assert.ok(built > 0, 'each run selects images');
      // A file the product did not write is never its to delete.
      if (run === 1) writeFileSync(join(images, 'site-photo.jpg'), 'not ours');
      names.push(readdirSync(images).filter((n) => n !== 'site-photo.jpg').sort());
      counts.push(names.at(-1)!.length);
    }
    // The trend over starts: never above the bound (it was +built per start, 3 starts → 3 × built files).
    assert.ok(counts.every((n) => n <= MAX_IMAGES), `images after each run: ${counts.join(', ')} (report.maxImages ${MAX_IMAGES})`);
    assert.equal(counts.at(-1), MAX_IMAGES, 'the bound is filled, not emptied at start');
    // The newest are kept: the last run's images are all there (each run selects at least as many as the bound here or they are all kept).
    assert.equal(readFileSync(join(images, 'site-photo.jpg'), 'utf8'), 'not ours');
    const lastRunNew = names.at(-1)!.filter((n) => !names.at(-2)!.includes(n));
    assert.ok(lastRunNew.length > 0, "the last run's images are kept");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
