// package.sh (docs/deploy.md): the bundle's manifest covers every file (sha256, size,
// mode) and the payload; its detached Ed25519 signature verifies with Node's
// own crypto, independently of openssl. Bad input gets exact messages.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeApp, makeKeys, PACKAGE, run, tempDir } from './harness.js';

const dir = tempDir('package');
after(() => rmSync(dir, { recursive: true, force: true }));
const keys = makeKeys(dir);

interface Manifest {
  format: number;
  name: string;
  version: string;
  target: string;
  created: string;
  payload: { file: string; sha256: string; size: number };
  files: Array<{ path: string; sha256: string; size: number; mode: string }>;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('package.sh', () => {
  it('writes a bundle whose signed manifest covers the payload and every file', async () => {
    const app = makeApp(dir, '2.3.4-rc.1');
    const out = join(dir, 'out');
    const r = await run(PACKAGE, ['--version', '2.3.4-rc.1', '--target', 'linux-arm64', '--source', app, '--key', keys.key, '--out', out], {
      SOURCE_DATE_EPOCH: '1795550000',
    });
    assert.equal(r.code, 0, r.stderr);
    const bundle = r.stdout.trim();
    assert.equal(bundle, join(out, 'bestshot-2.3.4-rc.1-linux-arm64.tar'));
    assert.deepEqual(execFileSync('tar', ['-tf', bundle]).toString().split('\n').filter(Boolean), ['manifest.json', 'manifest.sig', 'payload.tar.gz']);
    const x = join(dir, 'x');
    mkdirSync(x);
    execFileSync('tar', ['-xf', bundle, '-C', x]);
    const manifestBytes = readFileSync(join(x, 'manifest.json'));
    const m = JSON.parse(manifestBytes.toString()) as Manifest;
    assert.equal(m.format, 1);
    assert.equal(m.name, 'bestshot');
    assert.equal(m.version, '2.3.4-rc.1');
    assert.equal(m.target, 'linux-arm64');
    assert.equal(m.created, '2026-11-24T19:53:20Z');
    const payload = readFileSync(join(x, 'payload.tar.gz'));
    assert.deepEqual(m.payload, { file: 'payload.tar.gz', sha256: sha(payload), size: payload.length });
    assert.deepEqual(
      m.files.map((f) => f.path),
      ['VERSION', 'bin/bestshot', 'lib/app.txt', 'lib/server.mjs'],
    );
    for (const f of m.files) {
      const b = readFileSync(join(app, f.path));
      assert.equal(f.sha256, sha(b), f.path);
      assert.equal(f.size, b.length, f.path);
      assert.equal(f.mode, f.path === 'bin/bestshot' ? '0755' : '0644', f.path);
    }
    // Ed25519 over the manifest's exact bytes, checked with node:crypto.
    const pub = createPublicKey(readFileSync(keys.pub));
    const sig = readFileSync(join(x, 'manifest.sig'));
    assert.equal(sig.length, 64);
    assert.equal(verify(null, manifestBytes, pub, sig), true);
    const edited = Buffer.from(manifestBytes.toString().replace('2.3.4-rc.1', '2.3.5'));
    assert.equal(verify(null, edited, pub, sig), false);
    // The payload holds exactly the listed regular files.
    const listing = execFileSync('tar', ['-tzvf', join(x, 'payload.tar.gz')]).toString().trim().split('\n');
    assert.equal(listing.length, 4);
    assert.ok(listing.every((l) => l.startsWith('-')));
    // Same inputs and SOURCE_DATE_EPOCH: the same bytes (reproducible).
    const again = await run(PACKAGE, ['--version', '2.3.4-rc.1', '--target', 'linux-arm64', '--source', app, '--key', keys.key, '--out', join(dir, 'out2')], {
      SOURCE_DATE_EPOCH: '1795550000',
    });
    assert.equal(sha(readFileSync(again.stdout.trim())), sha(readFileSync(bundle)));
  });

  it('packs hard links (node-gyp builds make them) as regular files', async () => {
    const app = makeApp(dir, '1.0.0');
    linkSync(join(app, 'lib', 'app.txt'), join(app, 'lib', 'app-link.txt'));
    const out = join(dir, 'hard');
    const r = await run(PACKAGE, ['--version', '1.0.0', '--target', 'linux-x64', '--source', app, '--key', keys.key, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const x = join(dir, 'hardx');
    mkdirSync(x);
    execFileSync('tar', ['-xf', r.stdout.trim(), '-C', x]);
    const listing = execFileSync('tar', ['-tzvf', join(x, 'payload.tar.gz')]).toString().trim().split('\n');
    assert.equal(listing.length, 5);
    assert.deepEqual(listing.filter((l) => !l.startsWith('-')), []);
  });

  it('rejects bad arguments with exact messages', async () => {
    const app = makeApp(dir, '1.0.0');
    const out = join(dir, 'bad');
    const base = ['--target', 'linux-x64', '--source', app, '--key', keys.key, '--out', out];
    const cases: Array<[string[], string]> = [
      [['--version', '1.0', ...base], "package: invalid version '1.0' (expected MAJOR.MINOR.PATCH[-PRERELEASE])"],
      [['--version', '01.0.0', ...base], "package: invalid version '01.0.0' (expected MAJOR.MINOR.PATCH[-PRERELEASE])"],
      [['--version', '1.0.0', '--target', 'linux-riscv64', '--source', app, '--key', keys.key, '--out', out], "package: invalid target 'linux-riscv64' (expected linux-arm64 or linux-x64)"],
      [['--target', 'linux-x64', '--source', app, '--key', keys.key, '--out', out], 'package: --version is required'],
      [['--version', '1.0.0', ...base, '--sign'], "package: unknown argument '--sign'"],
    ];
    for (const [args, message] of cases) {
      const r = await run(PACKAGE, args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').pop(), message);
    }
    const ec = join(dir, 'ec.pem');
    spawnSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', ec]);
    const r = await run(PACKAGE, ['--version', '1.0.0', '--target', 'linux-x64', '--source', app, '--key', ec, '--out', out]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `package: key '${ec}' is not an Ed25519 private key\n`);
  });

  it('--out naming a file, or a disk too small for the bundle: said, and no bundle left under the release\'s name', async (t) => {
    const app = makeApp(dir, '1.0.0');
    // Incompressible: the bundle is larger than the 64 kB disk below.
    writeFileSync(join(app, 'lib', 'big.bin'), randomBytes(200_000));
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const f = await run(PACKAGE, ['--version', '1.0.0', '--target', 'linux-x64', '--source', app, '--key', keys.key, '--out', file]);
    // Before: "mkdir: cannot create directory '…': File exists", exit 1, after all the packing.
    assert.equal(f.stderr, `package: --out '${file}' is a file: give the folder the bundle is written into\n`);
    assert.equal(f.code, 2);
    const small = join(dir, 'small-disk');
    mkdirSync(small);
    if (process.getuid?.() !== 0 || spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]).status !== 0) {
      t.skip('needs root to mount a small tmpfs');
      return;
    }
    try {
      const r = await run(PACKAGE, ['--version', '1.0.0', '--target', 'linux-x64', '--source', app, '--key', keys.key, '--out', small]);
      // Before: "mv: error writing '…/bestshot-1.0.0-linux-x64.tar': No space left on device", and that truncated file left there.
      assert.match(r.stderr, new RegExp(`^package: cannot write the bundle into ${small}: No space left on device \\(\\d+ bytes\\); nothing was left there\n$`));
      assert.equal(r.code, 1);
      assert.deepEqual(readdirSync(small), []);
    } finally {
      spawnSync('umount', [small]);
    }
  });

  it('without --source, refuses a target other than this machine (native addons)', async () => {
    const host = process.arch === 'arm64' ? 'linux-arm64' : 'linux-x64';
    const other = host === 'linux-x64' ? 'linux-arm64' : 'linux-x64';
    const r = await run(PACKAGE, ['--version', '1.0.0', '--target', other, '--key', keys.key, '--out', join(dir, 'cross')]);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `package: the built app holds native addons for ${host}; build the ${other} bundle on a ${other} machine or pass --source\n`);
  });

  it('refuses symlinks, odd file names and a tree without bin/bestshot', async () => {
    const out = join(dir, 'refuse');
    const pack = (src: string) => run(PACKAGE, ['--version', '1.0.0', '--target', 'linux-x64', '--source', src, '--key', keys.key, '--out', out]);
    const a = makeApp(dir, '1.0.0');
    symlinkSync('/etc/passwd', join(a, 'lib', 'passwd'));
    const ra = await pack(a);
    assert.equal(ra.code, 1);
    assert.equal(ra.stderr, 'package: only regular files can be packed; found: ./lib/passwd\n');
    const b = makeApp(dir, '1.0.0');
    writeFileSync(join(b, 'lib', 'a b.txt'), 'x');
    const rb = await pack(b);
    assert.equal(rb.code, 1);
    assert.equal(rb.stderr, "package: unsupported character in file name 'lib/a b.txt' (allowed: A-Z a-z 0-9 . _ @ + = , ~ / -)\n");
    // Under node_modules/ such a file is a third-party package's (mqtt's help-me keeps fixtures named
    // 'hello world.txt'): left out and said, or no bundle of the checkout could be made.
    const d = makeApp(dir, '1.0.0');
    mkdirSync(join(d, 'node_modules', 'help-me', 'fixture'), { recursive: true });
    writeFileSync(join(d, 'node_modules', 'help-me', 'index.js'), 'module.exports = 1;\n');
    writeFileSync(join(d, 'node_modules', 'help-me', 'fixture', 'hello world.txt'), 'x');
    const rd = await pack(d);
    assert.equal(rd.code, 0, rd.stderr);
    assert.equal(rd.stderr.split('\n')[0], 'package: left out 1 file(s) of node_modules whose names a manifest cannot carry: node_modules/help-me/fixture/hello world.txt');
    const xd = join(dir, 'xd');
    mkdirSync(xd);
    execFileSync('tar', ['-xf', rd.stdout.trim(), '-C', xd]);
    const md = JSON.parse(readFileSync(join(xd, 'manifest.json'), 'utf8')) as Manifest;
    assert.ok(md.files.some((f) => f.path === 'node_modules/help-me/index.js'));
    assert.ok(!md.files.some((f) => f.path.includes('hello world')));
    const c = join(dir, 'nobin');
    mkdirSync(c);
    writeFileSync(join(c, 'run.sh'), '#!/bin/sh\n');
    chmodSync(join(c, 'run.sh'), 0o755);
    const rc = await pack(c);
    assert.equal(rc.code, 1);
    assert.equal(rc.stderr, 'package: source has no bin/bestshot (the unit\'s ExecStart)\n');
  });

  it('takes a relative --key, as docs/deploy.md writes it (the leaked-key check ran where it named nothing)', async () => {
    const out = join(dir, 'relative-key');
    const app = makeApp(dir, '1.0.0');
    const r = await run(PACKAGE, ['--version', '1.0.0', '--target', 'linux-x64', '--source', app, '--key', basename(keys.key), '--out', out], {}, dirname(keys.key));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), join(out, 'bestshot-1.0.0-linux-x64.tar'));
  });

  it('refuses a tree that holds a copy of the signing key (the fleet private key would ship to every unit), whatever its name', async () => {
    const out = join(dir, 'key-inside');
    mkdirSync(out);
    const app = makeApp(dir, '1.0.0');
    mkdirSync(join(app, 'config'), { recursive: true });
    writeFileSync(join(app, 'config', 'release-signing.pem'), readFileSync(keys.key));
    const r = await run(PACKAGE, ['--version', '1.0.0', '--target', 'linux-x64', '--source', app, '--key', keys.key, '--out', out]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `package: the signing key ${keys.key} is inside the bundle (config/release-signing.pem): move it out of the source tree\n`);
    assert.deepEqual(readdirSync(out), []);
  });
});
