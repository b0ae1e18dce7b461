import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { PROJECT_ROOT, SHARED_DIR } from '../../src/paths.js';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'bestshot-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'check-config', ...args], {
      env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_SHARED_DIR: SHARED_DIR, ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('bestshot check-config', () => {
  test('a valid file: OK, then the redacted config with defaults filled; the secret never printed', async () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'cameras:\n  - id: gate\n    source: { type: test }\nupload:\n  endpoint: https://x.example/in\n  token: { env: TOK }\n');
    const r = await cli([file], { TOK: 'super-secret-token' });
    assert.equal(r.code, 0, r.stderr);
    // The verdict goes to stderr; stdout is only the config (so --json parses).
    assert.equal(r.stderr.split('\n')[0], `OK ${file} (version 1, 1 camera: gate)`);
    assert.match(r.stdout, /^version: 1\n/);
    assert.match(r.stdout, /token: "\[redacted\]"/);
    assert.match(r.stdout, /minScore2: 0\.7/);
    assert.ok(!r.stdout.includes('super-secret-token'));
    assert.ok(!r.stderr.includes('super-secret-token'));
  });

  test('a token file every local user can read (0644, the usual umask) is warned about, its content never printed; 0600 and 0640 are not', async () => {
    const token = join(dir, 'token');
    writeFileSync(token, 'tok-from-file-77\n');
    const file = join(dir, 'token-file.yaml');
    writeFileSync(file, `cameras:\n  - id: gate\n    source: { type: test }\nupload:\n  endpoint: https://x.example/in\n  token: { file: ${token} }\n`);
    chmodSync(token, 0o644);
    const open = await cli([file, '--quiet']);
    assert.equal(open.code, 0, open.stderr);
    assert.equal(
      open.stderr,
      `OK ${file} (version 1, 1 camera: gate)\nwarning: upload.token: secret file ${token} is readable by every local user (mode 0644); chmod o-rwx it (0600, or 0640 with the service's group)\n`,
    );
    for (const mode of [0o600, 0o640]) {
      chmodSync(token, mode);
      const ok = await cli([file]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stderr, `OK ${file} (version 1, 1 camera: gate)\n`);
      assert.ok(!ok.stdout.includes('tok-from-file-77'));
    }
  });

  test('a TLS client key every local user can read (upload.key, the mqtt sink key) is warned about; 0600 is not', async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'client.key'), '-out', join(dir, 'client.pem'), '-days', '2', '-subj', '/CN=unit'], { stdio: 'pipe' });
    const key = join(dir, 'client.key');
    const file = join(dir, 'tls-key.yaml');
    writeFileSync(file, `cameras:\n  - id: gate\n    source: { type: test }\nupload:\n  endpoint: https://x.example/in\n  cert: ${join(dir, 'client.pem')}\n  key: ${key}\n`);
    chmodSync(key, 0o644);
    const open = await cli([file, '--quiet']);
    assert.equal(open.code, 0, open.stderr);
    assert.equal(
      open.stderr,
      `OK ${file} (version 1, 1 camera: gate)\nwarning: upload.key: secret file ${key} is readable by every local user (mode 0644); chmod o-rwx it (0600, or 0640 with the service's group)\n`,
    );
    const mqtt = join(dir, 'tls-key-mqtt.yaml');
    writeFileSync(mqtt, `cameras:\n  - id: gate\n    source: { type: test }\nupload:\n  sink: { type: mqtt, url: 'mqtts://broker.example:8883', site: s1, cert: ${join(dir, 'client.pem')}, key: ${key} }\n`);
    assert.match((await cli([mqtt, '--quiet'])).stderr, /^warning: upload\.sink\.key: secret file .* is readable by every local user \(mode 0644\)/m);
    chmodSync(key, 0o600);
    const ok = await cli([file, '--quiet']);
    assert.equal(ok.stderr, `OK ${file} (version 1, 1 camera: gate)\n`);
  });

  test('--config form (as the OTA self-check calls it) and --quiet', async () => {
    const r = await cli(['--config', join(PROJECT_ROOT, 'config', 'demo.yaml'), '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `OK ${join(PROJECT_ROOT, 'config', 'demo.yaml')} (version 1, 1 camera: demo)\n`);
  });

  test('errors: each with file:line:column and key path, exit 1', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'cameras:\n  - id: gate\n    source: { type: test }\n    captureHz: fast\n    trackr: {}\nreceiver: { embedded: true }\n');
    const r = await cli([file]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      `${file}:4:5: cameras[0].captureHz: Expected positive number but received 'fast' of type string\n` +
        `${file}:5:5: cameras[0].trackr: Unknown key (did you mean 'tracker'?)\n` +
        '2 errors\n',
    );
  });

  test('a camera id longer than 64 characters: check-config and run refuse it at load, under its key', async () => {
    // Before: check-config passed it (exit 0); run loaded the model, then refused 'cameraId' without the key.
    const file = join(dir, 'long-id.yaml');
    const id = 'a'.repeat(200);
    writeFileSync(file, `cameras:\n  - id: ${id}\n    source: { type: test }\nreceiver: { embedded: true }\n`);
    const line = `${file}:2:5: cameras[0].id: Expected string of 1-64 characters matching /^[A-Za-z0-9_-]+$/ but received '${'a'.repeat(60)}…' (200 characters) of type string`;
    const checked = await cli([file, '-q']);
    assert.equal(checked.code, 1);
    assert.equal(checked.stderr, `${line}\n1 error\n`);
    const ran = await run(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'run', '--config', file], { env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' } }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(ran.code, 1);
    assert.equal(ran.stderr, `bestshot run: [ERR_CONFIG] ${line}\n`);
  });

  test('corrupt YAML', async () => {
    const file = join(dir, 'corrupt.yaml');
    writeFileSync(file, 'cameras: [\n');
    const r = await cli([file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^.*corrupt\.yaml: Invalid YAML at line 2, column 1: /);
    // Two documents in one file: before, yaml's advice to programmers ("please use YAML.parseAllDocuments()").
    const two = join(dir, 'two-docs.yaml');
    writeFileSync(two, 'cameras: []\n---\ncameras: []\n');
    const t = await cli([two]);
    assert.equal(t.stderr, `${two}: Invalid YAML at line 2, column 1: a second YAML document starts here (a '---' line): a config is one document\n`);
    assert.equal(t.code, 1);
  });

  test('--migrate prints a version 0 file as version 1', async () => {
    const file = join(dir, 'v0.yaml');
    writeFileSync(file, 'version: 0\ncameras:\n  - id: a\n    source: { type: test }\n    fps: 4\n');
    const r = await cli(['--migrate', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'version: 1\ncameras:\n  - id: a\n    source:\n      type: test\n    captureHz: 4\n');
    assert.equal(r.stderr, 'note: version 0 → 1: renamed cameras[0].fps to cameras[0].captureHz\n');
  });

  test('--schema prints the reference table', async () => {
    const r = await cli(['--schema']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\| key \| type \| default \| description \|/);
    assert.match(r.stdout, /\| `cameras\[\]\.captureHz` \| positive number \(Hz\) \| 10 \|/);
  });

  test('a config file of 50 MB: refused at once naming its size (it ran the process out of memory, exit 134), by check-config, --migrate and run', async () => {
    const file = join(dir, 'huge.yaml');
    // Sparse: 50 MB on disk without writing them; the size is what is checked before reading.
    writeFileSync(file, 'cameras: []\n');
    truncateSync(file, 50_000_000);
    const message = `${file}: Config file ${file} is 50000000 bytes, more than a config can be (1048576 bytes at most; the example with every key is 17 KB): check the path\n`;
    for (const args of [[file], ['--migrate', file]]) {
      const r = await cli(args);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, message);
      assert.equal(r.stdout, '');
    }
    const started = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'bestshot.js'), 'run', '--config', file], { env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' }, encoding: 'utf8' });
    assert.equal(started.stderr, `bestshot run: [ERR_CONFIG] Config file ${file} is 50000000 bytes, more than a config can be (1048576 bytes at most; the example with every key is 17 KB): check the path\n`);
    assert.equal(started.status, 1);
  });

  test('an alias bomb, and --migrate on a missing file or a folder: the file named and the reason, exit 1', async () => {
    const bomb = join(dir, 'bomb.yaml');
    const level = (name: string, of: string): string => `${name}: &${name} [${Array(9).fill(`*${of}`).join(',')}]\n`;
    writeFileSync(bomb, `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n${level('b', 'a')}${level('c', 'b')}${level('d', 'c')}${level('e', 'd')}`);
    const message = `${bomb}: Invalid YAML: its aliases (*name) expand to too much (more than 100 copies of an anchor's contents): write the values out, or use defaults: for what cameras share\n`;
    for (const args of [[bomb], ['--migrate', bomb]]) {
      const r = await cli(args);
      assert.equal(r.stderr, message, 'before: yaml\'s "Excessive alias count indicates a resource exhaustion attack", no file named');
      assert.equal(r.code, 1);
    }
    const missing = join(dir, 'missing.yaml');
    const m = await cli(['--migrate', missing]);
    assert.equal(m.stderr, `${missing}: Cannot read config file ${missing} (ENOENT)\n`, "before: bestshot check-config: [ENOENT] ENOENT: no such file or directory, open '…'");
    assert.equal(m.code, 1);
    const folder = await cli(['--migrate', dir]);
    assert.equal(folder.stderr, `${dir}: Cannot read config file ${dir} (EISDIR)\n`);
    assert.equal(folder.code, 1);
  });

  test("YAML merge keys ('<<: *anchor') share a camera block; what the merged camera overrides wins", async () => {
    const file = join(dir, 'merge.yaml');
    writeFileSync(file, 'cameras:\n  - &cam\n    id: a\n    captureHz: 5\n    source: { type: test, pattern: ball }\n  - <<: *cam\n    id: b\n  - <<: [*cam]\n    id: c\n    captureHz: 2\nupload: { endpoint: "https://x.example/in" }\n');
    const r = await cli([file, '--json', '--no-model-check']);
    assert.equal(r.code, 0, r.stderr); // before: cameras[1]["<<"]: Unknown key (did you mean 'id'?)
    const config = JSON.parse(r.stdout) as { cameras: Array<{ id: string; captureHz: number; source: { type: string; pattern: string } }> };
    assert.deepEqual(
      config.cameras.map((c) => [c.id, c.captureHz, c.source.type, c.source.pattern]),
      [['a', 5, 'test', 'ball'], ['b', 5, 'test', 'ball'], ['c', 2, 'test', 'ball']],
    );
  });

  test('${VAR} for a number or boolean key is read as one (it was refused: "Expected positive number but received \'5\' of type string")', async () => {
    const file = join(dir, 'env-numbers.yaml');
    writeFileSync(
      file,
      'defaults:\n  captureHz: ${HZ:-7}\ncameras:\n  - id: gate\n    source: { type: test }\n  - id: yard\n    captureHz: ${YARD_HZ}\n    source: { type: test }\nupload:\n  endpoint: https://x.example/in\nqueue:\n  maxPackages: ${QUEUE_MAX}\nmetrics:\n  enabled: ${METRICS}\n',
    );
    const r = await cli([file, '--json', '--no-model-check'], { YARD_HZ: '2.5', QUEUE_MAX: '50', METRICS: 'false' });
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(r.stdout) as { cameras: Array<{ captureHz: number }>; queue: { maxPackages: number }; metrics: { enabled: boolean } };
    assert.deepEqual(config.cameras.map((c) => c.captureHz), [7, 2.5], 'the fallback, inherited from defaults:, and the variable');
    assert.equal(config.queue.maxPackages, 50);
    assert.equal(config.metrics.enabled, false);
    // What is not a number is still refused, with the value; a quoted '5' written in the file is still a string.
    const bad = await cli([file, '--no-model-check'], { YARD_HZ: 'fast', QUEUE_MAX: '50', METRICS: 'false' });
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, `${file}:7:5: cameras[1].captureHz: Expected positive number but received 'fast' of type string\n1 error\n`);
    const quoted = join(dir, 'quoted-number.yaml');
    writeFileSync(quoted, 'cameras:\n  - id: gate\n    captureHz: "5"\n    source: { type: test }\nupload:\n  endpoint: https://x.example/in\n');
    const q = await cli([quoted, '--no-model-check']);
    assert.equal(q.stderr, `${quoted}:3:5: cameras[0].captureHz: Expected positive number but received '5' of type string\n1 error\n`);
  });
});
