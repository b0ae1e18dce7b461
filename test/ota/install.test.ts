// install-jetson.sh and install-onnxruntime-jetson.sh (docs/deploy.md) under a temp
// root prefix. This machine is not a Jetson: the JetPack parts a test needs
// (nv_tegra_release, CUDA version.json, TensorRT/cuDNN library names, a
// gst-inspect that knows the nv elements) are laid out as files, the only
// fakes — the scripts' own logic runs for real.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeUnit, run, SCRIPTS, tempDir, type Unit } from './harness.js';

const INSTALL = join(SCRIPTS, 'install-jetson.sh');
const ORT = join(SCRIPTS, 'install-onnxruntime-jetson.sh');
const dirs: string[] = [];
const units: Unit[] = [];
after(() => {
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  units.forEach((u) => u.stop());
});
function temp(name: string): string {
  const d = tempDir(name);
  dirs.push(d);
  return d;
}

/** A root that looks like JetPack `jp` (5 or 6) to the scripts. */
function fakeJetson(dir: string, jp: 4 | 5 | 6): string {
  const root = join(dir, 'root');
  const l4t = { 4: 'R32 (release), REVISION: 7.4', 5: 'R35 (release), REVISION: 4.1', 6: 'R36 (release), REVISION: 3.0' }[jp];
  const cuda = { 4: '10.2.300', 5: '11.4.315', 6: '12.2.140' }[jp];
  const trt = { 4: '8.2.1', 5: '8.5.2', 6: '8.6.2' }[jp];
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'usr/local/cuda/bin'), { recursive: true });
  mkdirSync(join(root, 'usr/lib/aarch64-linux-gnu'), { recursive: true });
  mkdirSync(join(root, 'usr/include/aarch64-linux-gnu'), { recursive: true });
  writeFileSync(join(root, 'etc/nv_tegra_release'), `# ${l4t}, GCID: 36191598, BOARD: generic, EABI: aarch64, DATE: Mon May  6 17:34:21 UTC 2024\n`);
  writeFileSync(join(root, 'usr/local/cuda/version.json'), `{\n   "cuda" : {\n      "name" : "CUDA SDK",\n      "version" : "${cuda}"\n   },\n   "cuda_cudart" : {\n      "version" : "1.0.0"\n   }\n}\n`);
  writeFileSync(join(root, 'usr/local/cuda/bin/nvcc'), '#!/bin/sh\n');
  chmodSync(join(root, 'usr/local/cuda/bin/nvcc'), 0o755);
  for (const lib of [`libnvinfer.so.${trt}`, 'libnvinfer.so.8', 'libcudnn.so.8.9.4', 'libcudnn.so.8']) writeFileSync(join(root, 'usr/lib/aarch64-linux-gnu', lib), '');
  writeFileSync(join(root, 'usr/include/aarch64-linux-gnu/NvInfer.h'), '');
  return root;
}

/** gst-inspect stand-in that knows the Jetson elements. */
function jetsonGstInspect(dir: string): string {
  const p = join(dir, 'gst-inspect-jetson');
  writeFileSync(p, '#!/bin/sh\ncase "$1" in nvarguscamerasrc|nvvidconv|nvjpegenc|nvv4l2decoder) exit 0 ;; *) exec gst-inspect-1.0 "$1" ;; esac\n');
  chmodSync(p, 0o755);
  return p;
}

function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const n of readdirSync(d).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      out.push(r);
      if (statSync(join(d, n)).isDirectory()) walk(join(d, n), r);
    }
  };
  walk(root, '');
  return out;
}

describe('install-jetson.sh', () => {
  it('says "not a Jetson" and stops, unless --skip-checks', async () => {
    const root = temp('notjetson');
    const r = await run(INSTALL, ['--root', root]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `install-jetson: not a Jetson: ${root}/etc/nv_tegra_release not found (use --skip-checks to lay out directories anyway)\n`);
    assert.deepEqual(readdirSync(root), []);
  });

  it('--dry-run prints every action and changes nothing', async () => {
    const root = temp('dry');
    const r = await run(INSTALL, ['--root', root, '--skip-checks', '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(root), []);
    assert.match(r.stdout, new RegExp(`^would: mkdir -p ${root}/opt/bestshot/releases ${root}/opt/bestshot/ota/lib ${root}/etc/bestshot ${root}/var/lib/bestshot/ota`, 'm'));
    assert.match(r.stdout, new RegExp(`^would: write ${root}/etc/systemd/system/bestshot\\.service \\(mode 0644, \\d+ bytes\\)$`, 'm'));
    assert.match(r.stdout, /^skip: systemctl daemon-reload and enable \(root prefix /m);
    assert.match(r.stdout, /^dry run: nothing changed$/m);
    // A root that does not exist yet: planned all the same, and still not made.
    const later = join(root, 'not-yet');
    const r2 = await run(INSTALL, ['--root', later, '--skip-checks', '--dry-run']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stdout, new RegExp(`^would: mkdir -p ${later}/opt/bestshot/releases`, 'm'));
    assert.deepEqual(readdirSync(root), []);
  });

  it('lays out a unit under a prefix (--skip-checks), keeps an existing config, and its updater applies a bundle', async () => {
    const u = await makeUnit('install-layout', '');
    units.push(u);
    writeFileSync(join(u.root, 'etc/bestshot/config.yaml'), 'version: 1\n# operator edit\n');
    const r = await run(INSTALL, ['--root', u.root, '--skip-checks', '--pubkey', u.keys.pub]);
    assert.equal(r.code, 0, r.stderr);
    const tree = listTree(u.root);
    for (const p of [
      'opt/bestshot/releases',
      'opt/bestshot/ota/ota-update.sh',
      'opt/bestshot/ota/lib/common.sh',
      'etc/bestshot/ota-pubkey.pem',
      'etc/bestshot/platform.env',
      'etc/systemd/system/bestshot.service',
      'etc/systemd/system/bestshot-watchdog.timer',
      'etc/systemd/system/bestshot-watchdog.service',
      'etc/systemd/system/bestshot-ota-recover.service',
      'opt/bestshot/ota/health-watchdog.sh',
      'etc/logrotate.d/bestshot',
      'var/lib/bestshot/ota',
      'var/log/bestshot',
    ]) {
      assert.ok(tree.includes(p), `${p} installed`);
    }
    assert.equal(statSync(join(u.root, 'etc/bestshot')).mode & 0o777, 0o750);
    assert.equal(statSync(join(u.root, 'var/lib/bestshot/ota')).mode & 0o777, 0o700);
    assert.equal(readFileSync(join(u.root, 'etc/bestshot/config.yaml'), 'utf8'), 'version: 1\n# operator edit\n');
    assert.match(r.stdout, /^ok: keeping .*\/etc\/bestshot\/config\.yaml$/m);
    const unitFile = readFileSync(join(u.root, 'etc/systemd/system/bestshot.service'), 'utf8');
    assert.match(unitFile, /^ExecStart=\/opt\/bestshot\/current\/bin\/bestshot run --config \/etc\/bestshot\/config\.yaml$/m);
    assert.match(unitFile, /^Restart=always$/m);
    // A usage error (exit 2) is never restarted; the rest up to the start limit, not for ever.
    assert.match(unitFile, /^RestartPreventExitStatus=2$/m);
    assert.match(unitFile, /^StartLimitBurst=10$/m);
    assert.match(unitFile, /^WorkingDirectory=\/var\/lib\/bestshot$/m);
    // Where the queue and the state live is the config's (queue.path, stateDir): no environment variable nothing reads.
    assert.doesNotMatch(unitFile, /BESTSHOT_(QUEUE|STATE)_DIR/);
    assert.match(readFileSync(join(u.root, 'etc/bestshot/platform.env'), 'utf8'), /^BESTSHOT_JPEG_ENCODER=jpegenc$/m);
    assert.equal(existsSync(join(u.root, 'etc/systemd/system/bestshot.service.d')), false);
    // The updater as installed (not the checkout's copy) installs a first release.
    const ota = join(u.root, 'opt/bestshot/ota/ota-update.sh');
    const b = await u.pack('1.0.0');
    const o = await run(ota, [b, ...u.args]);
    assert.equal(o.code, 0, o.stderr);
    assert.equal(u.current(), '1.0.0');
    assert.equal((await u.health())?.version, '1.0.0');
    // Re-running the installer is idempotent and leaves releases alone.
    const again = await run(INSTALL, ['--root', u.root, '--skip-checks', '--sd-notify']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(u.current(), '1.0.0');
    assert.match(readFileSync(join(u.root, 'etc/systemd/system/bestshot.service.d/10-watchdog.conf'), 'utf8'), /^Type=notify\nWatchdogSec=30$/m);
  });

  it('on a JetPack 6 root: checks pass and the hardware GStreamer elements are recorded', async () => {
    const dir = temp('jp6');
    const root = fakeJetson(dir, 6);
    const r = await run(INSTALL, ['--root', root, '--gst-inspect', jetsonGstInspect(dir)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^check: L4T R36\.3\.0 \(JetPack 6\)\ncheck: CUDA 12\.2\.140\ncheck: cuDNN 8\.9\.4\ncheck: TensorRT 8\.6\.2\ncheck: GStreamer elements nvarguscamerasrc nvvidconv nvjpegenc nvv4l2decoder\n/);
    const env = readFileSync(join(root, 'etc/bestshot/platform.env'), 'utf8');
    assert.match(env, /^BESTSHOT_JETPACK=6$/m);
    assert.match(env, /^BESTSHOT_JPEG_ENCODER=nvjpegenc$/m);
    assert.match(env, /^BESTSHOT_DECODER=nvv4l2decoder$/m);
    assert.match(env, /^BESTSHOT_CONVERTER=nvvidconv$/m);
  });

  it('on a JetPack 6 root without the nv GStreamer elements: fails listing them', async () => {
    const dir = temp('jp6-nogst');
    const root = fakeJetson(dir, 6);
    const r = await run(INSTALL, ['--root', root]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'install-jetson: GStreamer elements missing: nvarguscamerasrc nvvidconv nvjpegenc nvv4l2decoder (install nvidia-l4t-gstreamer); software elements will be used\n' +
        'install-jetson: 1 check(s) failed; fix them or pass --skip-checks\n',
    );
  });

  it('refuses JetPack 4', async () => {
    const dir = temp('jp4');
    const root = fakeJetson(dir, 4);
    const r = await run(INSTALL, ['--root', root, '--gst-inspect', jetsonGstInspect(dir)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^install-jetson: L4T R32\.7\.4 is JetPack 4 or older: not supported \(Node 20 needs Ubuntu 20\.04, JetPack 5\+\)\n/);
  });

  it('the systemd units pass systemd-analyze verify', async (t) => {
    const which = await run('bash', ['-c', 'command -v systemd-analyze']);
    if (which.code !== 0) return t.skip('systemd-analyze is not installed');
    const dir = temp('analyze');
    const root = join(dir, 'root');
    mkdirSync(root);
    assert.equal((await run(INSTALL, ['--root', root, '--skip-checks'])).code, 0);
    const units = ['bestshot.service', 'bestshot-watchdog.service', 'bestshot-watchdog.timer', 'bestshot-ota-recover.service'].map((n) => join(root, 'etc/systemd/system', n));
    const r = await run('systemd-analyze', ['verify', '--man=no', ...units]);
    // Only complaints about binaries that exist on a unit, not here, are allowed.
    const lines = (r.stdout + r.stderr)
      .split('\n')
      .filter((l) => l.trim() && !/^bestshot(-ota-recover|-watchdog)?\.service: Command \/opt\/bestshot\/(current\/bin\/bestshot|ota\/ota-update\.sh|ota\/health-watchdog\.sh) is not executable: No such file or directory$/.test(l));
    assert.deepEqual(lines, []);
  });
});

describe('install-onnxruntime-jetson.sh', () => {
  it('says "not a Jetson" here', async () => {
    const root = temp('ort-notjetson');
    const r = await run(ORT, ['--root', root, '--dry-run']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `install-onnxruntime: not a Jetson: ${root}/etc/nv_tegra_release not found or unreadable; onnxruntime with TensorRT is built on the unit's JetPack\n`);
  });

  it('--dry-run on JetPack 6 prints the exact source build of the checkout\'s onnxruntime-node version', async () => {
    const dir = temp('ort-jp6');
    const root = fakeJetson(dir, 6);
    const ortVersion = (JSON.parse(readFileSync(join(SCRIPTS, '../node_modules/onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
    const build = join(dir, 'build');
    // --skip-checks: this VM's cmake may be older than onnxruntime needs.
    const r = await run(ORT, ['--root', root, '--dry-run', '--skip-checks', '--build-dir', build, '--jobs', '3', '--node-modules', join(dir, 'nm')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^plan: onnxruntime ${ortVersion.replace(/\./g, '\\.')} with TensorRT \\+ CUDA for JetPack 6 \\(L4T R36\\.3\\.0\\), CUDA archs 87$`, 'm'));
    assert.ok(r.stdout.includes(`would: git clone --recursive --depth 1 --branch v${ortVersion} https://github.com/microsoft/onnxruntime.git ${build}/onnxruntime\n`), r.stdout);
    assert.ok(
      r.stdout.includes(
        `would: cd ${build}/onnxruntime && ./build.sh --config Release --update --build --parallel 3 --build_shared_lib --skip_tests --allow_running_as_root --use_cuda --cuda_home /usr/local/cuda --cudnn_home /usr/lib/aarch64-linux-gnu --use_tensorrt --tensorrt_home /usr/lib/aarch64-linux-gnu --build_nodejs --cmake_extra_defines CMAKE_CUDA_ARCHITECTURES=87 onnxruntime_BUILD_UNIT_TESTS=OFF\n`,
      ),
      r.stdout,
    );
    assert.match(r.stdout, new RegExp(`^would: cp .*/opt/bestshot/onnxruntime/${ortVersion.replace(/\./g, '\\.')}/libonnxruntime_providers_tensorrt\\.so ${dir}/nm/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime_providers_tensorrt\\.so$`, 'm'));
    assert.deepEqual(readdirSync(root).sort(), ['etc', 'usr']);
    assert.equal(existsSync(build), false);
  });

  it('refuses a too-new onnxruntime on JetPack 5 (CUDA 11.4) with the fix in the message', async () => {
    const dir = temp('ort-jp5');
    const root = fakeJetson(dir, 5);
    const r = await run(ORT, ['--root', root, '--dry-run', '--ort-version', '1.20.1', '--prebuilt', '/dev/null']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, "install-onnxruntime: prebuilt tarball '/dev/null' not found\n");
    const r2 = await run(ORT, ['--root', root, '--dry-run', '--ort-version', '1.20.1', '--jobs', '1']);
    assert.equal(r2.code, 1);
    assert.ok(
      r2.stderr.includes('install-onnxruntime: onnxruntime 1.20.1 needs CUDA >= 11.8 and this JetPack has CUDA 11.4.315: use --ort-version 1.18.1 and pin onnxruntime-node to the same version, or move to JetPack 6\n'),
      r2.stderr,
    );
  });

  it('installs a prebuilt tarball into the prefix and over the binding of node_modules; refuses an incomplete one', async () => {
    const dir = temp('ort-prebuilt');
    const root = fakeJetson(dir, 6);
    const files = ['onnxruntime_binding.node', 'libonnxruntime.so.1', 'libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_tensorrt.so'];
    const src = join(dir, 'src/lib');
    mkdirSync(src, { recursive: true });
    for (const f of files) writeFileSync(join(src, f), `built ${f}\n`);
    const nm = join(dir, 'nm');
    const binding = join(nm, 'onnxruntime-node/bin/napi-v6/linux/arm64');
    mkdirSync(binding, { recursive: true });
    writeFileSync(join(binding, 'onnxruntime_binding.node'), 'cpu-only\n');
    const good = join(dir, 'ort.tgz');
    execFileSync('tar', ['-czf', good, '-C', join(dir, 'src'), 'lib']);
    const r = await run(ORT, ['--root', root, '--ort-version', '1.20.1', '--prebuilt', good, '--node-modules', nm]);
    assert.equal(r.code, 0, r.stderr);
    for (const f of files) {
      assert.equal(readFileSync(join(root, 'opt/bestshot/onnxruntime/1.20.1', f), 'utf8'), `built ${f}\n`);
      assert.equal(readFileSync(join(binding, f), 'utf8'), `built ${f}\n`);
    }
    const partial = join(dir, 'partial.tgz');
    execFileSync('tar', ['-czf', partial, '-C', join(dir, 'src'), 'lib/onnxruntime_binding.node', 'lib/libonnxruntime.so.1']);
    const bad = await run(ORT, ['--root', root, '--ort-version', '1.20.1', '--prebuilt', partial, '--node-modules', nm]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, `install-onnxruntime: prebuilt '${partial}' lacks libonnxruntime_providers_shared.so\n`);
  });
});
