// kill -9 of ota-update.sh at every step (docs/deploy.md): `current` always names a
// complete release, and `--recover` (run at boot) or the next update completes
// the update or rolls it back. The script pauses at a step through the test
// hook BESTSHOT_OTA_PAUSE_AT and the test SIGKILLs its process group there.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeUnit, startPaused, type Unit } from './harness.js';

const units: Unit[] = [];
after(() => units.forEach((u) => u.stop()));

/** Asserts the unit's invariants right after a kill -9. */
function assertCurrentValid(u: Unit): void {
  const v = u.current();
  assert.ok(v === '1.0.0' || v === '1.1.0', `current must name a complete release, got '${v}'`);
}

function assertSettled(u: Unit): void {
  assert.equal(existsSync(join(u.root, 'var/lib/bestshot/ota/journal')), false, 'journal cleared');
  const rel = readdirSync(join(u.root, 'opt/bestshot/releases'));
  assert.deepEqual(rel.filter((n) => n.endsWith('.partial')), [], 'no partial release left');
  assert.deepEqual(readdirSync(join(u.root, 'opt/bestshot')).filter((n) => n.includes('.tmp.')), [], 'no temporary link left');
}

describe('ota-update.sh: kill -9 at each step', () => {
  for (const step of ['downloaded', 'verified', 'unpacking', 'unpacked', 'selfchecked']) {
    it(`before the switch (${step}): recover discards the new release, the old one keeps running; a re-run completes`, async () => {
      const u = await makeUnit(`kill-${step}`);
      units.push(u);
      const before = await u.health();
      const b = await u.pack('1.1.0');
      const p = await startPaused(u, [b], step);
      await p.kill();
      assertCurrentValid(u);
      assert.equal(u.current(), '1.0.0');
      assert.deepEqual(await u.health(), before, 'the service was never restarted');
      const r = await u.ota(['--recover']);
      assert.equal(r.code, 0, r.stderr);
      if (['unpacking', 'unpacked', 'selfchecked'].includes(step)) {
        assert.match(r.stderr, new RegExp(`ota-update: recovering an interrupted update \\(1\\.0\\.0 -> 1\\.1\\.0, interrupted at ${step}\\)\n`));
        assert.match(r.stderr, /ota-update: discarded the unfinished release 1\.1\.0; staying on 1\.0\.0\n$/);
      } else {
        assert.equal(r.stderr, '', 'nothing to recover before the journal starts');
      }
      assert.equal(u.current(), '1.0.0');
      assert.deepEqual(u.releases(), ['1.0.0']);
      assertSettled(u);
      const again = await u.ota([b]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(u.current(), '1.1.0');
      assert.equal((await u.health())?.version, '1.1.0');
    });
  }

  for (const step of ['switching', 'switched', 'restarted', 'committing']) {
    it(`after the switch began (${step}): recover completes the update and health decides`, async () => {
      const u = await makeUnit(`kill-${step}`);
      units.push(u);
      const p = await startPaused(u, [await u.pack('1.1.0')], step);
      await p.kill();
      assertCurrentValid(u);
      // A power cut: the service dies too; at boot systemd starts it on
      // whatever `current` names, then the recovery unit runs.
      u.killService();
      assert.equal((await u.boot()).code, 0);
      const r = await u.ota(['--recover']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`interrupted at ${step}\\)\n`));
      assert.match(r.stderr, /ota-update: updated to 1\.1\.0 \(previous 1\.0\.0\)\n$/);
      assert.equal(u.current(), '1.1.0');
      assert.equal(u.previous(), '1.0.0');
      const h = await u.waitHealth();
      assert.equal(h?.status, 200);
      assert.equal(h?.version, '1.1.0');
      assertSettled(u);
    });
  }

  it('after the switch, a re-run of the update (not --recover) completes it too', async () => {
    const u = await makeUnit('kill-rerun');
    units.push(u);
    const b = await u.pack('1.1.0');
    const p = await startPaused(u, [b], 'switched');
    await p.kill();
    const r = await u.ota([b]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /ota-update: updated to 1\.1\.0 \(previous 1\.0\.0\)\nota-update: 1\.1\.0 is already the current release\n$/);
    assert.equal((await u.health())?.version, '1.1.0');
    assertSettled(u);
  });

  it('a recovery whose release turns out unhealthy rolls back', async () => {
    const u = await makeUnit('kill-unhealthy');
    units.push(u);
    const p = await startPaused(u, [await u.pack('1.1.0', { unhealthy: true })], 'restarted');
    await p.kill();
    const r = await u.ota(['--recover']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /ota-update: health check failed for 1\.1\.0 after 3s \(http:\/\/127\.0\.0\.1:\d+\/healthz answered HTTP 503\); rolled back to 1\.0\.0\n$/);
    assert.equal(u.current(), '1.0.0');
    assert.equal((await u.health())?.version, '1.0.0');
    assertSettled(u);
  });

  it('during a rollback (rolling-back): recover finishes the rollback', async () => {
    const u = await makeUnit('kill-rollback');
    units.push(u);
    const p = await startPaused(u, [await u.pack('1.1.0', { unhealthy: true })], 'rolling-back');
    await p.kill();
    assertCurrentValid(u);
    const r = await u.ota(['--recover']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /ota-update: update to 1\.1\.0 was being rolled back; rolled back to 1\.0\.0\n$/);
    assert.equal(u.current(), '1.0.0');
    assert.equal((await u.health())?.version, '1.0.0');
    assert.deepEqual(u.releases(), ['1.0.0']);
    assertSettled(u);
  });

  it('a release changed on disk while interrupted is not switched to: recover rolls back', async () => {
    const u = await makeUnit('kill-corrupt');
    units.push(u);
    const p = await startPaused(u, [await u.pack('1.1.0')], 'selfchecked');
    await p.kill();
    // Simulate a torn write (e.g. power loss with a lying disk cache).
    truncateSync(join(u.root, 'opt/bestshot/releases/1.1.0/lib/server.mjs'), 3);
    writeFileSync(join(u.root, 'var/lib/bestshot/ota/journal'), 'step=switched\nold=1.0.0\nnew=1.1.0\n');
    const r = await u.ota(['--recover']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /ota-update: file size mismatch: lib\/server\.mjs\nota-update: restarting the service on 1\.0\.0\nota-update: release 1\.1\.0 is incomplete; rolled back to 1\.0\.0\n$/);
    assert.equal(u.current(), '1.0.0');
    assert.equal((await u.health())?.version, '1.0.0');
  });
  it('--recover repairs a dangling `current` from `previous` (release directory lost)', async () => {
    const u = await makeUnit('dangling');
    units.push(u);
    const r1 = await u.ota([await u.pack('1.1.0')]);
    assert.equal(r1.code, 0, r1.stderr);
    rmSync(join(u.root, 'opt/bestshot/releases/1.1.0'), { recursive: true });
    assert.equal(u.current(), '');
    const r = await u.ota(['--recover']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'ota-update: current is missing or dangling; switching back to 1.0.0\nota-update: restarting the service on 1.0.0\n');
    assert.equal(u.current(), '1.0.0');
    assert.equal((await u.waitHealth())?.version, '1.0.0');
  });

  it('a corrupt journal stops the updater with an exact message and changes nothing', async () => {
    const u = await makeUnit('badjournal');
    units.push(u);
    const journal = join(u.root, 'var/lib/bestshot/ota/journal');
    writeFileSync(journal, 'step=exploded\nold=1.0.0\nnew=1.1.0\n');
    const r = await u.ota([await u.pack('1.1.0')]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `ota-update: journal ${journal} is corrupt (step 'exploded'); inspect and remove it\n`);
    assert.equal(u.current(), '1.0.0');
    assert.ok(existsSync(journal));
  });
});
