/**
 * `bestshot receiver` as a process: what it says at start when an input is unusable (exit 2,
 * one line naming the flag and the fix), what it logs of a refused TLS handshake, that no request
 * value can forge a log line, that packages left without an index row are listed again after a
 * kill -9, and that an upload's size does not become the receiver's memory.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT } from '../../src/paths.js';
import { encodeMultipart } from '../../src/upload/index.js';
import { listPackages, makeJpeg, makePackage, spawnReceiver, waitFor } from '../upload/helpers.js';

const TOKEN = 'cli-start-token';
const bin = join(PROJECT_ROOT, 'bin', 'bestshot.js');
// spawnReceiver passes this process's environment on: every receiver here has the token.
process.env.BESTSHOT_RECEIVER_TOKEN = TOKEN;
const env = { ...process.env, BESTSHOT_FROM_SOURCE: '1' };
let work: string;
/** PEM files: a CA, a server certificate (localhost, 127.0.0.1) and a client certificate it signed; a client certificate of another CA. */
let pems: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'bestshot-rcv-cli-'));
  pems = join(work, 'pem');
  execFileSync('mkdir', ['-p', pems]);
  const ssl = (args: string[]): void => void execFileSync('openssl', args, { cwd: pems, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  for (const ca of ['ca', 'other-ca']) ssl(['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '2', '-subj', `/CN=${ca}`]);
  writeFileSync(join(pems, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (const [name, ca] of [
    ['server', 'ca'],
    ['client', 'ca'],
    ['stranger', 'other-ca'],
  ] as const) {
    ssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    ssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', ...(name === 'server' ? ['-extfile', 'san.ext'] : [])]);
  }
});
after(() => rmSync(work, { recursive: true, force: true }));

const pem = (f: string): string => join(pems, f);

function start(args: string[]): { status: number | null; stderr: string; stdout: string } {
  const store = mkdtempSync(join(work, 'store-'));
  return spawnSync(process.execPath, [bin, 'receiver', '--dir', store, ...args], { env, encoding: 'utf8', timeout: 20_000 });
}

test('unusable inputs at start: exit 2 with one line naming the flag and the fix (not exit 1, an OpenSSL code or a bare errno)', () => {
  const cases: Array<[string[], string | RegExp]> = [
    // Before: exit 1, "Expected integer port between 0 and 65535 for port but received 70000 of type number".
    [['--port', '70000'], "bestshot receiver: [ERR_USAGE] Expected integer between 0 and 65535 for --port but received '70000'\n"],
    // Before: [ERR_OSSL_UNSUPPORTED] error:1E08010C:DECODER routines::unsupported
    [['--port', '0', '--tls-cert', pem('server.pem'), '--tls-key', pem('server.pem')], /^bestshot receiver: \[ERR_USAGE\] --tls-key: .*server\.pem holds no private key that can be read without a passphrase \(.*\)\n$/],
    // Before: [ERR_OSSL_X509_KEY_VALUES_MISMATCH]
    [['--port', '0', '--tls-cert', pem('server.pem'), '--tls-key', pem('client.key')], /^bestshot receiver: \[ERR_USAGE\] --tls-key: .*client\.key is not the private key of the certificate .*server\.pem \(.*\)\n$/],
    // Before: a raw ENOENT with its stack.
    [['--port', '0', '--tls-cert', pem('missing.pem'), '--tls-key', pem('server.key')], `bestshot receiver: [ERR_USAGE] --tls-cert: Cannot read file ${pem('missing.pem')} (ENOENT)\n`],
    // Before: started, then refused every client.
    [['--port', '0', '--tls-cert', pem('server.pem'), '--tls-key', pem('server.key'), '--tls-ca', pem('ca.key'), '--require-client-cert'], `bestshot receiver: [ERR_USAGE] --tls-ca: ${pem('ca.key')} holds no PEM certificate (-----BEGIN CERTIFICATE-----)\n`],
    // Before: [EADDRNOTAVAIL] listen EADDRNOTAVAIL: address not available 10.9.9.9:0
    [['--port', '0', '--host', '10.9.9.9'], "bestshot receiver: [ERR_USAGE] --host 10.9.9.9 is not an address of this machine (EADDRNOTAVAIL): give one of its addresses (ip -brief address), 0.0.0.0 for all of them, or 127.0.0.1\n"],
    [['--port', '0', '--max-body-bytes', '0'], "bestshot receiver: [ERR_USAGE] Expected positive integer for --max-body-bytes but received '0'\n"],
    [['--port', '0', '--max-concurrent-uploads', 'many'], "bestshot receiver: [ERR_USAGE] Expected positive integer for --max-concurrent-uploads but received 'many'\n"],
  ];
  for (const [args, expected] of cases) {
    const r = start(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    if (typeof expected === 'string') assert.equal(r.stderr, expected);
    else assert.match(r.stderr, expected);
  }
  const help = spawnSync(process.execPath, [bin, 'receiver', '--help'], { env, encoding: 'utf8' });
  assert.match(help.stdout, /--max-body-bytes <n> /);
  assert.match(help.stdout, /--max-concurrent-uploads <n>/);
});

function httpsGet(url: string, opts: https.RequestOptions): Promise<{ status: number; headers: Record<string, unknown> } | { error: string }> {
  return new Promise((resolve) => {
    const req = https.get(url, { agent: false, ca: readFileSync(pem('ca.pem')), ...opts }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

test('mTLS: a client certificate of another CA is logged with its address and the reason; the browse cookie is Secure over HTTPS', async () => {
  const rcv = await spawnReceiver([
    '--port', '0', '--dir', join(work, 'mtls'), '--tls-cert', pem('server.pem'), '--tls-key', pem('server.key'), '--tls-ca', pem('ca.pem'), '--require-client-cert',
  ]);
  try {
    const url = rcv.url.replace('127.0.0.1', 'localhost');
    const stranger = await httpsGet(`${url}/healthz`, { cert: readFileSync(pem('stranger.pem')), key: readFileSync(pem('stranger.key')) });
    assert.ok('error' in stranger, 'refused');
    await waitFor(() => /TLS handshake refused from/.test(rcv.output()), 5000, 'the refusal logged');
    // Before: 'TLS handshake refused from an unknown address: ECONNRESET'.
    assert.match(rcv.output(), /TLS handshake refused from 127\.0\.0\.1: client certificate failed verification against the CA \(--tls-ca\): UNABLE_TO_VERIFY_LEAF_SIGNATURE\n/);
    const client = { cert: readFileSync(pem('client.pem')), key: readFileSync(pem('client.key')) };
    const ok = await httpsGet(`${url}/healthz`, client);
    assert.deepEqual('status' in ok && ok.status, 200);
    const browse = await httpsGet(`${url}/browse?token=${TOKEN}`, client);
    assert.ok('status' in browse && browse.status === 303, JSON.stringify(browse));
    assert.match(String(browse.headers['set-cookie']), /; HttpOnly; SameSite=Strict; Path=\/; Secure$/);
  } finally {
    await rcv.stop();
  }
});

async function postRaw(url: string, metadataText: string, jpeg: Buffer, key: string): Promise<number> {
  const boundary = 'LOGINJ';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="metadata"\r\nContent-Type: application/json\r\n\r\n${metadataText}\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="i.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
    jpeg,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const res = await fetch(`${url}/packages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'idempotency-key': key },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

test('log injection: a newline and an ANSI escape in a metadata idempotencyKey are escaped in the log, no forged line', async () => {
  const rcv = await spawnReceiver(['--port', '0', '--dir', join(work, 'loginj')]);
  try {
    const jpeg = await makeJpeg(41);
    const pkg = makePackage('cam1', 77, jpeg);
    const forged = { ...pkg.metadata, idempotencyKey: 'zz\nPOST #999: forged:1 stored\u001b[31mRED' };
    assert.equal(await postRaw(rcv.url, JSON.stringify(forged), jpeg, 'cam1:77'), 400);
    await waitFor(() => /idempotencyKey/.test(rcv.output()), 5000, 'the refusal logged');
    const out = rcv.output();
    assert.ok(!out.split('\n').some((l) => l.startsWith('POST #999')), out);
    assert.ok(!out.includes('\u001b'), 'no escape character reaches the terminal');
    assert.ok(out.includes(String.raw`idempotencyKey 'zz\u000aPOST #999: forged:1 stored\u001b[31mRED' is not 'cam1:77'`), out);
  } finally {
    await rcv.stop();
  }
});

test('kill -9, then the index removed: the next start lists every package again from packages/ and says how many (stderr)', async () => {
  const dir = join(work, 'kill9');
  const first = await spawnReceiver(['--port', '0', '--dir', dir]);
  const jpeg = await makeJpeg(42);
  for (let id = 1; id <= 3; id++) {
    const pkg = makePackage('cam-k9', id, jpeg);
    const { contentType, body } = encodeMultipart(pkg);
    const res = await fetch(`${first.url}/packages`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType, 'idempotency-key': pkg.idempotencyKey }, body });
    assert.equal(res.status, 201);
  }
  first.proc.kill('SIGKILL');
  await new Promise((r) => first.proc.once('exit', r));
  for (const f of readdirSync(dir)) if (f.startsWith('index.sqlite')) rmSync(join(dir, f));
  const second = await spawnReceiver(['--port', '0', '--dir', dir]);
  try {
    assert.deepEqual(
      (await listPackages(second.url, TOKEN, 'cam-k9')).map((p) => p.key),
      ['cam-k9:1', 'cam-k9:2', 'cam-k9:3'],
    );
    assert.match(second.output(), /^index: 3 package folder\(s\) under packages\/ had no index row: indexed from their metadata\.json$/m);
  } finally {
    await second.stop();
  }
});

/** Peak resident memory of a process (Linux), bytes. */
function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

test('large uploads at once are written to disk as they arrive: 8 × 24 MiB raise the peak memory by far less than their size; --max-body-bytes is the limit', { timeout: 120_000 }, async () => {
  const rcv = await spawnReceiver(['--port', '0', '--dir', join(work, 'big'), '--quiet', '--max-body-bytes', String(25 * 1024 * 1024)]);
  try {
    const jpeg = await makeJpeg(43);
    // A warm-up upload: the first one compiles the schema validator and sizes the heap.
    const warm = encodeMultipart(makePackage('cam-big', 0, jpeg));
    const w = await fetch(`${rcv.url}/packages`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': warm.contentType, 'idempotency-key': 'cam-big:0' }, body: warm.body });
    assert.equal(w.status, 201);
    const before = peakRss(rcv.proc.pid!);
    const big = Buffer.concat([jpeg, Buffer.alloc(24 * 1024 * 1024 - jpeg.length, 7)]);
    const statuses = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const pkg = makePackage('cam-big', i + 1, big);
        const { contentType, body } = encodeMultipart(pkg);
        const res = await fetch(`${rcv.url}/packages`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType, 'idempotency-key': pkg.idempotencyKey }, body });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    assert.deepEqual(statuses, Array(8).fill(201));
    const grown = peakRss(rcv.proc.pid!) - before;
    // Held in memory, they took twice their size (chunks, then one Buffer each): 384 MiB for these.
    assert.ok(grown < 96 * 1024 * 1024, `peak memory grew ${(grown / 2 ** 20).toFixed(0)} MiB for 192 MiB of uploads`);
    const stored = readFileSync(join(work, 'big', 'packages', encodeURIComponent('cam-big:8'), 'image.jpg'));
    assert.ok(stored.equals(big));
    const tooBig = Buffer.concat([big, Buffer.alloc(2 * 1024 * 1024)]);
    const pkg = makePackage('cam-big', 99, tooBig);
    const { contentType, body } = encodeMultipart(pkg);
    const res = await fetch(`${rcv.url}/packages`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': contentType, 'idempotency-key': pkg.idempotencyKey }, body });
    assert.equal(res.status, 413);
  } finally {
    await rcv.stop();
  }
});
