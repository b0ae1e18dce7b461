/**
 * What `bestshot run` writes holds camera images (the queue, report/images) and
 * per-unit state: under the usual umask 022 it was all world-readable (files
 * 0644, folders 0755), so any local account of a shared unit could read what
 * the cameras saw. The real CLI as a subprocess started under umask 022, a
 * real file source, the real on-disk queue; then every file and folder it
 * made is stat'ed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, SHARED_DATA_DIR } from '../../src/paths.js';
import { writeRunConfig } from '../helpers/run-config.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');

/** `bestshot run` started by a shell with umask 022, as a login shell or an init script has it. */
function runUnderUmask022(config: string): { status: number | null; stderr: string } {
  const r = spawnSync('/bin/sh', ['-c', 'umask 022 && exec "$0" "$@"', process.execPath, CLI, 'run', '--config', config], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_TEST_TOKEN: 't' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stderr: r.stderr };
}

/** Every path under `root` (itself excluded) whose mode lets group or others in, as 'path 0644'. */
function notPrivate(root: string): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    for (const e of readdirSync(p, { withFileTypes: true })) {
      const q = join(p, e.name);
      const mode = statSync(q).mode & 0o777;
      if ((mode & 0o077) !== 0) out.push(`${q.slice(root.length + 1)} 0${mode.toString(8)}`);
      if (e.isDirectory()) walk(q);
    }
  };
  walk(root);
  return out;
}

test('bestshot run under umask 022: the queue, report images and state are private to its user (files 0600, folders 0700); a queue left 0644 is made private', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-private-'));
  try {
    const clip = join(dir, 'clip.mp4');
    execFileSync('gst-launch-1.0', ['-q', 'filesrc', `location=${join(SHARED_DATA_DIR, 'traffic-clips', 'motorway-cctv.avi')}`, '!', 'decodebin', '!', 'identity', 'eos-after=60', '!', 'videoconvert', '!', 'x264enc', '!', 'mp4mux', '!', 'filesink', `location=${clip}`]);
    // Everything the run writes lives in out/ (queue, state, report); the config and clip are the test's.
    const out = join(dir, 'out');
    const config = writeRunConfig(dir, {
      source: `{ type: file, path: ${clip}, realtime: false }`,
      // Nothing takes the packages: the images stay in the queue.
      endpoint: 'http://127.0.0.1:1/packages',
      upload: 'drainTimeoutS: 1',
    });
    execFileSync('sed', ['-i', `s#${dir}/queue.sqlite#${out}/queue.sqlite#; s#${dir}/state#${out}/state#; s#${dir}/report#${out}/report#`, config]);
    const first = runUnderUmask022(config);
    assert.equal(first.status, 0, first.stderr.slice(-2000));
    assert.ok(Number(/"built":(\d+)/.exec(first.stderr)?.[1] ?? 0) > 0, 'the run queued images');
    assert.ok(readdirSync(join(out, 'report', 'images')).length > 0, 'the report has images');
    assert.deepEqual(notPrivate(out), []);
    // A queue an earlier version left world-readable, its folder fixed by the operator.
    chmodSync(join(out, 'queue.sqlite'), 0o644);
    const second = runUnderUmask022(config);
    assert.equal(second.status, 0, second.stderr.slice(-2000));
    assert.deepEqual(notPrivate(out), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
