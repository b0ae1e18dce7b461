// ota-update.sh against a unit under a temp root: real bash, openssl, tar,
// curl and a node HTTP process standing in for the service (docs/deploy.md).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeKeys, makeUnit, OTA, run, startPaused, tempDir, type Unit } from './harness.js';

const units: Unit[] = [];
const scratch: string[] = [];
after(() => {
  units.forEach((u) => u.stop());
  scratch.forEach((d) => rmSync(d, { recursive: true, force: true }));
});
async function unit(name: string): Promise<Unit> {
  const u = await makeUnit(name);
  units.push(u);
  return u;
}

/** Rebuilds a bundle after `edit` changed files in its unpacked members. */
function rebundle(bundle: string, edit: (dir: string) => void): string {
  const dir = tempDir('rebundle');
  scratch.push(dir);
  execFileSync('tar', ['-xf', bundle, '-C', dir]);
  edit(dir);
  const out = join(dir, 'out.tar');
  execFileSync('tar', ['-cf', out, '-C', dir, 'manifest.json', 'manifest.sig', 'payload.tar.gz']);
  return out;
}

describe('ota-update.sh: apply and refuse', () => {
  it('applies a good bundle: current switches, previous kept, service restarted on the new release', async () => {
    const u = await unit('good');
    const before = await u.health();
    assert.equal(before?.version, '1.0.0');
    const b = await u.pack('1.1.0');
    const r = await u.ota([b]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^ota-update: updated to 1\.1\.0 \(previous 1\.0\.0\)$/m);
    assert.equal(u.current(), '1.1.0');
    assert.equal(u.previous(), '1.0.0');
    const h = await u.health();
    assert.equal(h?.status, 200);
    assert.equal(h?.version, '1.1.0');
    assert.notEqual(h?.pid, before?.pid);
    assert.equal(existsSync(join(u.root, 'var/lib/bestshot/ota/journal')), false);
    // The installed tree still matches its signed manifest.
    const v = await u.ota(['--verify', '1.1.0']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stderr, 'ota-update: release 1.1.0 matches its signed manifest (4 files)\n');
    // Modes come from the manifest.
    assert.equal(spawnSync('test', ['-x', join(u.root, 'opt/bestshot/current/bin/bestshot')]).status, 0);
    // Applying the same version again is a no-op.
    const again = await u.ota([b]);
    assert.equal(again.code, 0);
    assert.match(again.stderr, /ota-update: 1\.1\.0 is already the current release/);
  });

  it('rejects a bundle signed by another key, and a manifest edited after signing', async () => {
    const u = await unit('badsig');
    const other = makeKeys(u.dir, 'other');
    const b = await u.pack('1.1.0', { key: other.key });
    const r = await u.ota([b]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `ota-update: bad signature: manifest.json is not signed by a trusted key (${u.root}/etc/bestshot/ota-pubkey.pem)\n`);
    assert.equal(u.current(), '1.0.0');
    assert.deepEqual(u.releases(), ['1.0.0']);

    const good = await u.pack('1.1.0');
    const edited = rebundle(good, (d) => {
      const m = join(d, 'manifest.json');
      writeFileSync(m, readFileSync(m, 'utf8').replace('"target": "linux-x64"', '"target": "linux-x64" '));
    });
    const e = await u.ota([edited]);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /^ota-update: bad signature: manifest\.json is not signed by a trusted key /);
    assert.equal(u.current(), '1.0.0');
  });

  it('trusts every key in ota-pubkeys.d (key rotation), and only those', async () => {
    const u = await unit('rotate');
    const next = makeKeys(u.dir, 'next');
    const b = await u.pack('1.1.0', { key: next.key });
    assert.equal((await u.ota([b])).code, 1);
    mkdirSync(join(u.root, 'etc/bestshot/ota-pubkeys.d'));
    writeFileSync(join(u.root, 'etc/bestshot/ota-pubkeys.d/next.pem'), readFileSync(next.pub));
    const r = await u.ota([b]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(u.current(), '1.1.0');
    // The old key still works until it is removed.
    assert.equal((await u.ota([await u.pack('1.2.0')])).code, 0);
    const stranger = makeKeys(u.dir, 'stranger');
    const s = await u.ota([await u.pack('1.3.0', { key: stranger.key })]);
    assert.equal(s.stderr, `ota-update: bad signature: manifest.json is not signed by a trusted key (${u.root}/etc/bestshot/ota-pubkey.pem ${u.root}/etc/bestshot/ota-pubkeys.d/next.pem)\n`);
  });

  it('rejects a tampered payload before unpacking it', async () => {
    const u = await unit('tamper');
    const b = await u.pack('1.1.0');
    const t = rebundle(b, (d) => {
      const p = join(d, 'p');
      mkdirSync(p);
      execFileSync('tar', ['-xzf', join(d, 'payload.tar.gz'), '-C', p]);
      appendFileSync(join(p, 'lib/app.txt'), 'evil\n');
      execFileSync('tar', ['-czf', join(d, 'payload.tar.gz'), '-C', p, 'VERSION', 'bin/bestshot', 'lib/app.txt', 'lib/server.mjs']);
    });
    const r = await u.ota([t]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'ota-update: payload hash mismatch: payload.tar.gz is not the one the manifest signs\n');
    assert.deepEqual(u.releases(), ['1.0.0']);
  });

  it('checks every file against the manifest: a signed but inconsistent bundle installs nothing', async () => {
    const u = await unit('filehash');
    const b = await u.pack('1.1.0');
    // Tamper with one file and re-sign the manifest with the trusted key after
    // fixing only the payload hash: the per-file hashes must still catch it.
    const t = rebundle(b, (d) => {
      const p = join(d, 'p');
      mkdirSync(p);
      execFileSync('tar', ['-xzf', join(d, 'payload.tar.gz'), '-C', p]);
      appendFileSync(join(p, 'lib/app.txt'), 'evil\n');
      execFileSync('tar', ['-czf', join(d, 'payload.tar.gz'), '-C', p, 'VERSION', 'bin/bestshot', 'lib/app.txt', 'lib/server.mjs']);
      const sha = execFileSync('sha256sum', [join(d, 'payload.tar.gz')]).toString().split(' ')[0];
      const size = readFileSync(join(d, 'payload.tar.gz')).length;
      const m = join(d, 'manifest.json');
      writeFileSync(m, readFileSync(m, 'utf8').replace(/"sha256": "[0-9a-f]{64}", "size": \d+\}/, `"sha256": "${sha}", "size": ${size}}`));
      execFileSync('openssl', ['pkeyutl', '-sign', '-rawin', '-inkey', u.keys.key, '-in', m, '-out', join(d, 'manifest.sig')]);
    });
    const r = await u.ota([t]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'ota-update: file size mismatch: lib/app.txt\nota-update: release 1.1.0 does not match its manifest; nothing installed\n');
    assert.deepEqual(u.releases(), ['1.0.0']);
    assert.equal(existsSync(join(u.root, 'var/lib/bestshot/ota/journal')), false);
  });

  it('--verify finds a file changed on disk after install', async () => {
    const u = await unit('verify');
    const cur = join(u.root, 'opt/bestshot/releases/1.0.0/lib/app.txt');
    writeFileSync(cur, readFileSync(cur, 'utf8').replace('payload', 'PAYLOAD'));
    const r = await u.ota(['--verify', '1.0.0']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'ota-update: file hash mismatch: lib/app.txt\nota-update: release 1.0.0 does not match its manifest\n');
  });

  it('rejects a bundle for another target', async () => {
    const u = await unit('target');
    const b = await u.pack('1.1.0', { target: 'linux-arm64' });
    const r = await u.ota([b]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'ota-update: wrong target: bundle is for linux-arm64, this unit is linux-x64\n');
    assert.equal(u.current(), '1.0.0');
  });

  it('refuses a downgrade (semver order, 1.10.0 > 1.9.0) unless --force', async () => {
    const u = await unit('downgrade');
    const up = await u.ota([await u.pack('1.10.0')]);
    assert.equal(up.code, 0, up.stderr);
    const b = await u.pack('1.9.0');
    const r = await u.ota([b]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'ota-update: refusing downgrade from 1.10.0 to 1.9.0 (use --force)\n');
    assert.equal(u.current(), '1.10.0');
    const pre = await u.ota([await u.pack('1.10.0-rc.1')]);
    assert.equal(pre.stderr, 'ota-update: refusing downgrade from 1.10.0 to 1.10.0-rc.1 (use --force)\n');
    const f = await u.ota([b, '--force']);
    assert.equal(f.code, 0, f.stderr);
    assert.equal(u.current(), '1.9.0');
    assert.equal(u.previous(), '1.10.0');
    assert.equal((await u.health())?.version, '1.9.0');
  });

  it('refuses an update that would eat into the free-space reserve (the queue shares the disk)', async () => {
    const u = await unit('reserve');
    const r = await u.ota([await u.pack('1.1.0'), '--reserve', String(2 ** 50)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^ota-update: not enough disk space for 1\\.1\\.0: needs 1 MiB plus the reserve of 1073741824 MiB, \\d+ MiB free under ${u.root}/opt/bestshot/releases\n$`));
    assert.deepEqual(u.releases(), ['1.0.0']);
    assert.equal(existsSync(join(u.root, 'var/lib/bestshot/ota/journal')), false);
  });

  it('a full state disk: refused in its own words (exit 1), not tar\'s (exit 2); nothing installed', async (t) => {
    const u = await unit('state-full');
    const bundle = await u.pack('1.1.0');
    const state = join(u.root, 'var/lib/bestshot/ota');
    mkdirSync(state, { recursive: true });
    if (process.getuid?.() !== 0 || spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', state]).status !== 0) {
      t.skip('needs root to mount a small tmpfs');
      return;
    }
    try {
      try {
        writeFileSync(join(state, 'fill'), Buffer.alloc(64 * 1024));
      } catch {
        // ENOSPC: the disk is full, as wanted
      }
      const r = await u.ota([bundle]);
      // Before: exit 2 and 'tar: manifest.sig: Cannot write: No space left on device'.
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^ota-update: not enough disk space to unpack the bundle: needs 1 MiB, 0 MiB free under ${state}\n$`));
      assert.equal(u.current(), '1.0.0');
      assert.deepEqual(u.releases(), ['1.0.0']);
    } finally {
      spawnSync('umount', [state]);
    }
  });

  it('keeps the newest --keep releases and never prunes current or previous', async () => {
    const u = await unit('keep');
    for (const v of ['1.1.0', '1.2.0', '1.3.0', '1.4.0']) {
      const r = await u.ota([await u.pack(v), '--keep', '3']);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.deepEqual(u.releases(), ['1.2.0', '1.3.0', '1.4.0']);
    assert.equal(u.current(), '1.4.0');
    assert.equal(u.previous(), '1.3.0');
    assert.equal(existsSync(join(u.root, 'opt/bestshot/releases/1.1.0.manifest.json')), false);
    // A forced downgrade to a pruned-out version keeps the rollback target.
    const r = await u.ota([await u.pack('1.0.0'), '--keep', '2', '--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(u.releases(), ['1.0.0', '1.4.0']);
    const bad = await u.ota([await u.pack('2.0.0'), '--keep', '1']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, "ota-update: --keep must be an integer >= 2, got '1'\n");
  });

  it('holds a lock: a second update while one runs exits 3 and changes nothing', async () => {
    const u = await unit('lock');
    const b = await u.pack('1.1.0');
    const first = await startPaused(u, [b], 'verified');
    const second = await u.ota([await u.pack('1.2.0')]);
    assert.equal(second.code, 3);
    assert.equal(second.stderr, `ota-update: another update is running (lock ${u.root}/var/lib/bestshot/ota/lock)\n`);
    const rec = await u.ota(['--recover']);
    assert.equal(rec.code, 3);
    await first.kill();
    const after = await u.ota([b]);
    assert.equal(after.code, 0, after.stderr);
    assert.equal(u.current(), '1.1.0');
  });

  it('reports usage errors with exact messages', async () => {
    const u = await unit('usage');
    const r1 = await u.ota([]);
    assert.equal(r1.code, 2);
    assert.match(r1.stderr, /ota-update: no bundle given\n$/);
    const r2 = await u.ota(['/nonexistent/b.tar']);
    assert.equal(r2.code, 1);
    assert.equal(r2.stderr, "ota-update: bundle '/nonexistent/b.tar' not found\n");
    const r3 = await run(OTA, ['x.tar', '--root', u.root, '--health-timeout', 'soon']);
    assert.equal(r3.code, 2);
    assert.equal(r3.stderr, "ota-update: --health-timeout must be a positive integer, got 'soon'\n");
    const junk = join(u.dir, 'junk.tar');
    writeFileSync(junk, 'not a tar');
    const r4 = await u.ota([junk]);
    assert.equal(r4.code, 1);
    assert.equal(r4.stderr, 'ota-update: bundle is not a tar archive\n');
    const folder = await u.ota([u.dir]);
    assert.equal(folder.stderr, `ota-update: bundle '${u.dir}' is a folder: give the bundle file (bestshot-<version>-<target>.tar)\n`, "before: 'not found'");
    assert.equal(folder.code, 1);
  });

  it('a bundle cut short (a copy or download that stopped) is said to be truncated; nothing installed', async () => {
    const u = await unit('truncated');
    const bundle = readFileSync(await u.pack('1.1.0'));
    // The archive's data ends before its zero padding: cut inside the payload, and between two members.
    let end = bundle.length;
    while (end > 0 && bundle[end - 1] === 0) end--;
    const inPayload = join(u.dir, 'in-payload.tar');
    writeFileSync(inPayload, bundle.subarray(0, end - 100));
    const r = await u.ota([inPayload]);
    // Before: 'bundle is not a tar archive'.
    assert.equal(r.stderr, `ota-update: bundle is truncated (${end - 100} bytes, tar: Unexpected EOF in archive): copy or download it again\n`);
    assert.equal(r.code, 1);
    // package.sh writes manifest.json, manifest.sig, payload.tar.gz: each header is 512 bytes and each member padded to 512.
    const member = (offset: number): number => Number.parseInt(bundle.subarray(offset + 124, offset + 136).toString('ascii').trim(), 8);
    const afterSig = 512 + Math.ceil(member(0) / 512) * 512;
    const payloadHeader = afterSig + 512 + Math.ceil(member(afterSig) / 512) * 512;
    const twoMembers = join(u.dir, 'two-members.tar');
    writeFileSync(twoMembers, bundle.subarray(0, payloadHeader));
    const t = await u.ota([twoMembers]);
    // Before: 'bundle must hold exactly manifest.json, manifest.sig and payload.tar.gz'.
    assert.equal(t.stderr, `ota-update: bundle is truncated (${payloadHeader} bytes, it ends after manifest.json manifest.sig): copy or download it again\n`);
    assert.equal(t.code, 1);
    assert.equal(u.current(), '1.0.0');
    assert.deepEqual(u.releases(), ['1.0.0']);
  });
});
