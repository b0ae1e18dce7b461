/**
 * A recording damaged in the middle, replayed as a user replays it: the real
 * CLI as a subprocess, a shared clip with 50 kB overwritten by zeros halfway.
 * GStreamer drops what it cannot read without a warning: 1.8 s of frames went
 * missing and the replay looked whole. Now the gap is said, with where it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, SHARED_DIR } from '../../src/paths.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');

const replay = (video: string, out: string) =>
  spawnSync(process.execPath, [CLI, 'replay', video, '--out', out, '--quiet'], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 240_000, env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' } });

test('a recording with frames missing in the middle says where (warn), once; a whole one says nothing', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-gap-'));
  try {
    const damaged = join(dir, 'damaged.avi');
    const bytes = readFileSync(CLIP);
    bytes.fill(0, bytes.length >> 1, (bytes.length >> 1) + 50_000);
    writeFileSync(damaged, bytes);
    const r = replay(damaged, join(dir, 'out-damaged'));
    assert.equal(r.status, 0, r.stderr.slice(-1500));
    const said = r.stderr.split('\n').filter((l) => l.includes('recording has a gap'));
    assert.equal(said.length, 1, r.stderr.slice(-1500));
    const line = JSON.parse(said[0]!) as { level: string; msg: string; camera: string };
    assert.equal(line.level, 'warn');
    assert.match(line.msg, new RegExp(`^recording has a gap: no frame from \\d+\\.\\d s to \\d+\\.\\d s of ${damaged.replace(/[.]/g, '\\.')} \\(damaged, or recorded with pauses\\); that time is not analysed$`));
    // The gap is where the bytes were overwritten (halfway through a 30 s clip) and longer than a second.
    const [from, to] = [...line.msg.matchAll(/(\d+\.\d) s/g)].map((m) => Number(m[1]));
    assert.ok(from! > 5 && to! < 25 && to! - from! >= 1, line.msg);
    const whole = replay(CLIP, join(dir, 'out-whole'));
    assert.equal(whole.status, 0, whole.stderr.slice(-1500));
    assert.doesNotMatch(whole.stderr, /recording ha(s|d) .*gap/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
