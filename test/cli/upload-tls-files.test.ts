/**
 * TLS files and the token of the upload, as an operator gets them wrong:
 * upload.ca naming a file with no certificate in it (the key, an empty file),
 * a client key that is not the certificate's, a token with a character an
 * HTTP header cannot carry. Node takes each without a word and fails every
 * send later (a CA without a certificate replaces the system store with
 * nothing; a mismatched key or a bad header throws at each request), so the
 * packages stayed queued for ever behind a config check-config called OK.
 * `check-config` (the OTA self-check) and `bestshot run` refuse them now,
 * naming the key, and a queue left by an earlier run is not touched.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT, SHARED_DIR } from '../../src/paths.js';
import { startReceiver } from '../../src/receiver/index.js';
import { HttpSender, PackageQueue } from '../../src/upload/index.js';
import { makeJpeg, makePackage } from '../upload/helpers.js';
import { assertAllQueued, endpointWarning, runToEnd } from '../helpers/run-to-end.js';
import { writeRunConfig } from '../helpers/run-config.js';

const CLI = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');
let dir: string;
let pki: string;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: pki, stdio: 'pipe' });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-tls-files-'));
  pki = join(dir, 'pki');
  mkdirSync(pki);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=bestshot test CA']);
  writeFileSync(join(pki, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const name of ['client', 'other', 'server']) {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', ...(name === 'server' ? ['-extfile', 'san.ext'] : [])]);
  }
  writeFileSync(join(pki, 'empty.pem'), '');
});

after(() => rmSync(dir, { recursive: true, force: true }));

/** A config in its own directory; `upload` is the upload mapping's extra keys (flow style). */
function config(name: string, upload: string, sink = '', endpoint = 'https://127.0.0.1:9/packages'): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const extra = ['drainTimeoutS: 1', upload, sink ? `sink: ${sink}` : ''].filter((part) => part !== '').join(', ');
  return writeRunConfig(d, { source: `{ type: file, path: ${CLIP} }`, endpoint, upload: extra });
}

function cli(args: string[], token = 'tls-files-token'): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, BESTSHOT_FROM_SOURCE: '1', BESTSHOT_TEST_TOKEN: token },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

const pem = (f: string): string => join(pki, f);

test('check-config refuses a CA file with no certificate, a key that is not the certificate\'s and a token no header can carry', () => {
  const cases: Array<{ name: string; upload: string; sink?: string; token?: string; want: RegExp }> = [
    { name: 'ca-is-key', upload: `ca: ${pem('ca.key')}`, want: /upload\.ca: .*ca\.key holds no PEM certificate/ },
    { name: 'ca-empty', upload: `ca: ${pem('empty.pem')}`, want: /upload\.ca: .*empty\.pem holds no PEM certificate/ },
    { name: 'key-is-cert', upload: `ca: ${pem('ca.pem')}, cert: ${pem('client.pem')}, key: ${pem('client.pem')}`, want: /upload\.key: .*client\.pem holds no private key/ },
    { name: 'mismatch', upload: `ca: ${pem('ca.pem')}, cert: ${pem('client.pem')}, key: ${pem('other.key')}`, want: /upload\.key: .*other\.key is not the private key of the certificate .*client\.pem/ },
    {
      name: 'mqtt-mismatch',
      upload: '',
      sink: `{ type: mqtt, url: "mqtts://127.0.0.1:9", ca: ${pem('ca.pem')}, cert: ${pem('client.pem')}, key: ${pem('other.key')} }`,
      want: /upload\.sink\.key: .*other\.key is not the private key/,
    },
    { name: 'token', upload: '', token: 'tls-files-tok€n', want: /upload\.token: Contains a character beyond U\+00FF at position 14 of 15/ },
  ];
  for (const c of cases) {
    const r = cli(['check-config', '--quiet', '--no-model-check', '--config', config(c.name, c.upload, c.sink)], c.token);
    assert.equal(r.status, 1, `${c.name}: ${r.stderr}`);
    assert.match(r.stderr, c.want, c.name);
    assert.doesNotMatch(r.stderr, /tok€n/, 'the token is a secret');
  }
  const ok = cli(['check-config', '--quiet', '--no-model-check', '--config', config('good', `ca: ${pem('ca.pem')}, cert: ${pem('client.pem')}, key: ${pem('client.key')}`)]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stderr, /^OK /);
});

test('bestshot run exits 1 on a CA file with no certificate, naming upload.ca, and leaves the queue of an earlier run as it was', async () => {
  const file = config('run-ca', `ca: ${pem('ca.key')}`);
  const queuePath = join(dir, 'run-ca', 'queue.sqlite');
  const q = PackageQueue.open({ path: queuePath });
  q.enqueue(makePackage('cam', 1, await makeJpeg(1)));
  q.close();
  const r = cli(['run', '--config', file]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /\[ERR_CONFIG\] upload\.ca: .*ca\.key holds no PEM certificate/);
  const again = PackageQueue.open({ path: queuePath });
  try {
    assert.equal(again.depth, 1);
    assert.equal(again.counters().enqueued, 1);
  } finally {
    again.close();
  }
});

test('HttpSender: a client key that is not the certificate\'s is refused at construction; a request Node will not start is a retryable failure, not a rejection', async () => {
  assert.throws(
    () => new HttpSender({ url: 'https://127.0.0.1:9/packages', cert: readFileSync(pem('client.pem')), key: readFileSync(pem('other.key')) }),
    /Expected cert and key of one client certificate \(mTLS\) but they do not match/,
  );
  // A header value Node refuses (a control character) throws inside request(): before, send() rejected and
  // the uploader reported an error at every tick with no back-off.
  const sender = new HttpSender({ url: 'http://127.0.0.1:9/packages', headers: { 'X-Tenant': 'a\rb' } });
  try {
    const r = await sender.send(makePackage('cam', 2, await makeJpeg(2)));
    assert.equal(r.kind, 'retryable');
    assert.match(r.kind === 'retryable' ? r.reason : '', /^request not sent: Invalid character in header content/);
  } finally {
    sender.close();
  }
});

test('bestshot run against an https endpoint whose CA is not configured: the warning names upload.ca, every package stays queued, exit 0', { timeout: 120_000 }, async () => {
  const receiver = await startReceiver({
    dir: join(dir, 'received'),
    token: 'tls-files-token',
    tls: { cert: readFileSync(pem('server.pem')), key: readFileSync(pem('server.key')) },
  });
  try {
    const file = config('no-ca', '', '', `${receiver.url}/packages`);
    const { code, stdout, stderr } = await runToEnd(file, { BESTSHOT_TEST_TOKEN: 'tls-files-token' });
    assert.equal(code, 0, stderr);
    const line = endpointWarning(stderr);
    assert.match(line.error, /^UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate/);
    assert.equal(line.hint, "the endpoint's TLS certificate is not signed by a CA this unit trusts: set upload.ca to the CA bundle (PEM) that signed it");
    assertAllQueued(stdout);
    assert.equal(receiver.stats().stored, 0);
  } finally {
    await receiver.close();
  }
});

test('check-config warns when the bearer token would go in clear over http:// to another host (not for loopback)', () => {
  const remote = cli(['check-config', '--quiet', '--no-model-check', '--config', config('clear-remote', '', '', 'http://ingest.example:8080/packages')]);
  assert.equal(remote.status, 0, remote.stderr);
  assert.match(remote.stderr, /^warning: upload\.endpoint: the bearer token \(upload\.token\) goes in clear over http:\/\/ to ingest\.example: anyone on the path can read it; use https:\/\/$/m);
  assert.doesNotMatch(remote.stderr, /tls-files-token/, 'the token is a secret');
  for (const [name, endpoint] of [
    ['clear-loopback', 'http://127.0.0.1:8080/packages'],
    ['clear-v6', 'http://[::1]:8080/packages'],
    ['tls', 'https://ingest.example/packages'],
  ] as const) {
    const r = cli(['check-config', '--quiet', '--no-model-check', '--config', config(name, '', '', endpoint)]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /goes in clear/, name);
  }
});
