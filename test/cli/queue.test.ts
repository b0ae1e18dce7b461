/** `bestshot queue` as a user runs it: inspect (dead letters with reasons), resend-dead, export. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { PROJECT_ROOT } from '../../src/paths.js';
import { buildPackage, PackageQueue } from '../../src/upload/index.js';
import { BASE_NS, entryAt, makeJpeg, makePackage } from '../upload/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'bestshot-qcli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(PROJECT_ROOT, 'bin', 'bestshot.js');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'queue', ...args], { env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' }, encoding: 'utf8' });

test('bestshot queue inspect / resend-dead / export on a queue whose packages a wrong token dead-lettered', () => {
  const path = join(dir, 'q.db');
  const q = PackageQueue.open({ path });
  const jpeg = Buffer.from([0xff, 0xd8, 1, 2, 3]);
  for (let i = 1; i <= 3; i++) q.enqueue(makePackage('cam-cli', i, jpeg));
  q.deadLetter(q.peekOldest()!.seq, 'HTTP 401: missing or wrong bearer token', 401);
  q.close();
  const inspect = run('inspect', '--path', path, '--json');
  assert.equal(inspect.status, 0, inspect.stderr);
  const info = JSON.parse(inspect.stdout) as { depth: number; oldest: { key: string }; deadLetters: Array<{ key: string; status: number; reason: string }> };
  assert.equal(info.depth, 2);
  assert.equal(info.oldest.key, 'cam-cli:2');
  assert.deepEqual(info.deadLetters.map((d) => [d.key, d.status, d.reason]), [['cam-cli:1', 401, 'HTTP 401: missing or wrong bearer token']]);
  const resend = run('resend-dead', '--path', path);
  assert.equal(resend.stdout, 're-queued 1 dead letter(s); queue depth now 3\n');
  const out = join(dir, 'export');
  const exp = run('export', '--path', path, '--out', out);
  assert.equal(exp.stdout, `exported 3 package(s) to ${out}: 3 queued, 0 dead letter(s)\n`);
  assert.ok(readFileSync(join(out, 'queued', 'cam-cli%3A1', 'image.jpg')).equals(jpeg));
  assert.ok(existsSync(join(out, 'index.json')));
  const q2 = PackageQueue.open({ path });
  assert.deepEqual(q2.keys(), ['cam-cli:2', 'cam-cli:3', 'cam-cli:1']);
  // The ledger still adds up: each package was enqueued once, re-sent or not.
  const c = q2.counters();
  assert.equal(c.deadLettered, 0);
  assert.equal(c.enqueued, 3);
  assert.equal(c.enqueued, c.delivered + c.dropped + c.deadLettered + c.setAside + c.replaced + q2.depth);
  q2.close();
  const bad = run('frobnicate', '--path', path);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^bestshot queue: unknown action 'frobnicate'/);
  const negative = run('inspect', '--path', path, '--limit', '-3');
  assert.equal(negative.status, 2);
  assert.equal(negative.stderr, "bestshot queue: [ERR_USAGE] Expected positive integer for --limit but received '-3'\n");
});

test('bestshot queue inspect --limit lists that many dead letters and counts them all', () => {
  const path = join(dir, 'many-dead.db');
  const q = PackageQueue.open({ path });
  const jpeg = Buffer.from([0xff, 0xd8, 1]);
  for (let i = 1; i <= 5; i++) {
    q.enqueue(makePackage('cam-dead', i, jpeg));
    q.deadLetter(q.peekOldest()!.seq, `HTTP 400: bad package ${i}`, 400);
  }
  q.close();
  const text = run('inspect', '--path', path, '--limit', '2');
  assert.equal(text.status, 0, text.stderr);
  const lines = text.stdout.trim().split('\n');
  assert.equal(lines[2], 'dead letters: 5 (the oldest 2 listed)');
  assert.deepEqual(lines.slice(3).map((l) => l.trim().split(/\s+/)[0]), ['cam-dead:1', 'cam-dead:2']);
  const json = JSON.parse(run('inspect', '--path', path, '--limit', '2', '--json').stdout) as { deadLetterCount: number; deadLetters: unknown[] };
  assert.deepEqual([json.deadLetterCount, json.deadLetters.length], [5, 2]);
  assert.equal(run('inspect', '--path', path).stdout.trim().split('\n')[2], 'dead letters: 5');
});

test('bestshot queue resend-dead re-queues only what the queue has room for: the service then drops nothing to make room', () => {
  const path = join(dir, 'resend-full.db');
  const q = PackageQueue.open({ path, maxPackages: 10 });
  const jpeg = Buffer.from([0xff, 0xd8, 1, 2]);
  // A wrong token dead-lettered 6; then, the token fixed, an outage queued 7 (room for 10).
  for (let i = 1; i <= 6; i++) {
    q.enqueue(makePackage('cam-full', i, jpeg));
    q.deadLetter(q.peekOldest()!.seq, 'HTTP 401: missing or wrong bearer token', 401);
  }
  for (let i = 7; i <= 13; i++) q.enqueue(makePackage('cam-full', i, jpeg));
  q.close();
  const r = run('resend-dead', '--path', path, '--max-packages', '10');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 're-queued 3 dead letter(s); queue depth now 10\n');
  assert.match(
    r.stderr,
    /^bestshot queue: 3 dead letter\(s\) left as they are: the queue is full \(10 of 10 packages, \d+ of 536870912 bytes\), and the service would drop its oldest packages to make room; run resend-dead again once it has sent some \(--max-packages and --max-bytes: the config's queue\.maxPackages and queue\.maxBytes\)\n$/,
  );
  // The service (same capacity) sends one and queues one: nothing is dropped. Before: 9 re-queued (depth 16),
  // and its first enqueue dropped 7 of the oldest packages at once.
  const service = PackageQueue.open({ path, maxPackages: 10 });
  assert.ok(service.ack(service.peekOldest()!.seq));
  assert.deepEqual(service.enqueue(makePackage('cam-full', 14, jpeg)).dropped, []);
  assert.equal(service.deadLetterCount(), 3);
  assert.deepEqual(service.deadLetters().map((d) => d.idempotencyKey), ['cam-full:4', 'cam-full:5', 'cam-full:6']);
  service.close();
  // Once it has sent some, the rest go the same way (oldest first); the byte capacity counts too.
  const bytes = run('resend-dead', '--path', path, '--max-packages', '100', '--max-bytes', '1B');
  assert.equal(bytes.stdout, 're-queued 0 dead letter(s); queue depth now 10\n');
  assert.equal(bytes.status, 0);
  const bad = run('resend-dead', '--path', path, '--max-bytes', 'lots');
  assert.equal(bad.stderr, "bestshot queue: [ERR_USAGE] Expected byte size (an integer, or like '512MiB') for --max-bytes but received 'lots'\n");
  assert.equal(bad.status, 2);
});

test('bestshot queue export into a previous export\'s folder: exit 2, nothing written (its index listed only the second export)', () => {
  const path = join(dir, 'twice.db');
  const q = PackageQueue.open({ path });
  q.enqueue(makePackage('cam-twice', 1, Buffer.from([0xff, 0xd8, 1])));
  q.close();
  const out = join(dir, 'twice-out');
  assert.equal(run('export', '--path', path, '--out', out).status, 0);
  const before = readdirSync(out, { recursive: true }).sort();
  const again = run('export', '--path', path, '--out', out);
  assert.equal(again.stderr, `bestshot queue: [ERR_USAGE] --out ${out} is not empty: export writes into a new or empty folder, so that what is there is this queue's and nothing else\n`);
  assert.equal(again.status, 2);
  assert.deepEqual(readdirSync(out, { recursive: true }).sort(), before);
});

/** A real small tmpfs (root only); false when it cannot be mounted. */
function mountTmpfs(at: string, size: string, readOnly = false): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${readOnly ? ',ro' : ''}`, 'tmpfs', at]).status === 0;
}

test('bestshot queue export onto a full disk: exit 1 naming the file, the count and what is left; the queue unchanged', (t) => {
  const path = join(dir, 'to-full.db');
  const q = PackageQueue.open({ path });
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(100_000, 7)]);
  for (let i = 1; i <= 20; i++) q.enqueue(makePackage('cam-full-disk', i, jpeg));
  q.close();
  const disk = join(dir, 'small-disk');
  mkdirSync(disk);
  if (!mountTmpfs(disk, '1m')) {
    t.skip('needs root to mount a small tmpfs');
    return;
  }
  try {
    const out = join(disk, 'export');
    const r = run('export', '--path', path, '--out', out);
    // Before: "bestshot queue: [ENOSPC] ENOSPC: no space left on device, write".
    assert.match(
      r.stderr,
      new RegExp(`^bestshot queue: \\[ERR_QUEUE\\] export stopped after (\\d+) package\\(s\\): cannot write ${out}/queued/cam-full-disk%3A\\d+/image\\.jpg \\(ENOSPC: disk full\\); the queue is unchanged, and ${out} holds an incomplete export \\(no index\\.json\\): remove it and export again where there is room\n$`),
    );
    assert.equal(r.status, 1);
    const count = Number(/after (\d+) package/.exec(r.stderr)![1]);
    assert.ok(count > 0 && count < 20, r.stderr);
    assert.equal(existsSync(join(out, 'index.json')), false);
    const again = PackageQueue.open({ path, readOnly: true });
    assert.equal(again.depth, 20);
    again.close();
  } finally {
    spawnSync('umount', ['-l', disk]);
  }
});

test('bestshot queue inspect / export of a queue on a read-only file system: read from a copy, the queue untouched', (t) => {
  const disk = join(dir, 'ro-disk');
  mkdirSync(disk);
  if (!mountTmpfs(disk, '8m')) {
    t.skip('needs root to mount a small tmpfs');
    return;
  }
  try {
    const path = join(disk, 'q.db');
    const q = PackageQueue.open({ path });
    const jpeg = Buffer.from([0xff, 0xd8, 9]);
    for (let i = 1; i <= 3; i++) q.enqueue(makePackage('cam-ro', i, jpeg));
    q.deadLetter(q.peekOldest()!.seq, 'HTTP 401: missing or wrong bearer token', 401);
    q.close();
    // A unit's card mounted read-only to rescue its queue.
    assert.equal(spawnSync('mount', ['-o', 'remount,ro', disk]).status, 0);
    const files = readdirSync(disk).sort();
    const inspect = run('inspect', '--path', path, '--json');
    // Before: "[ERR_QUEUE] Cannot open queue database …: unable to open database file", exit 1.
    assert.equal(inspect.status, 0, inspect.stderr);
    assert.match(inspect.stderr, new RegExp(`^bestshot queue: ${disk} cannot be written \\(EROFS\\): reading a copy of the queue in (\\S+), removed afterwards; the queue itself is not touched\n$`));
    const copy = /in (\S+), removed/.exec(inspect.stderr)![1]!;
    assert.equal(existsSync(copy), false, 'the copy is removed');
    const info = JSON.parse(inspect.stdout) as { depth: number; deadLetterCount: number };
    assert.deepEqual([info.depth, info.deadLetterCount], [2, 1]);
    const out = join(dir, 'ro-export');
    const exp = run('export', '--path', path, '--out', out);
    assert.equal(exp.status, 0, exp.stderr);
    assert.equal(exp.stdout, `exported 3 package(s) to ${out}: 2 queued, 1 dead letter(s)\n`);
    assert.ok(readFileSync(join(out, 'dead', 'cam-ro%3A1', 'image.jpg')).equals(jpeg));
    assert.deepEqual(readdirSync(disk).sort(), files);
  } finally {
    spawnSync('umount', ['-l', disk]);
  }
});

test('bestshot queue export --out naming a file or an unwritable place: exit 2 with the reason, nothing written', () => {
  const folder = mkdtempSync(join(dir, 'export-out-'));
  const path = join(folder, 'q.db');
  const q = PackageQueue.open({ path, ackReserveBytes: 0 });
  q.enqueue(makePackage('cam-out', 1, Buffer.from([0xff, 0xd8, 1])));
  q.close();
  const file = join(folder, 'notes.txt');
  writeFileSync(file, 'keep me\n');
  let r = run('export', '--path', path, '--out', file);
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, `bestshot queue: [ERR_USAGE] --out ${file} is a file: export writes into a folder (created when missing)\n`);
  assert.equal(readFileSync(file, 'utf8'), 'keep me\n');
  r = run('export', '--path', path, '--out', join(file, 'sub'));
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stderr, `bestshot queue: [ERR_USAGE] ${file} is a file, not a folder: choose another --out\n`);
  assert.deepEqual(readdirSync(folder).sort(), ['notes.txt', 'q.db']);
});

test('bestshot queue: an option the action does not read is a usage error (inspect --out, export --json were ignored without a word)', () => {
  const folder = mkdtempSync(join(dir, 'unread-'));
  const path = join(folder, 'q.db');
  const q = PackageQueue.open({ path, ackReserveBytes: 0 });
  q.enqueue(makePackage('cam-unread', 1, Buffer.from([0xff, 0xd8, 1])));
  q.close();
  const cases: Array<[string[], string]> = [
    [['inspect', '--out', join(folder, 'x')], "--out is not an option of 'inspect' (its options: --limit, --json)"],
    [['export', '--out', join(folder, 'y'), '--json'], "--json is not an option of 'export' (its options: --out)"],
    [['resend-dead', '--json', '--out', join(folder, 'z')], "--json, --out are not an option of 'resend-dead' (its options: --limit, --max-packages, --max-bytes)"],
  ];
  for (const [[action, ...rest], message] of cases) {
    const r = run(action!, '--path', path, ...rest);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `bestshot queue: [ERR_USAGE] ${message}\n`);
  }
  assert.deepEqual(readdirSync(folder).sort(), ['q.db'], 'nothing written');
});

test('bestshot queue on a path with no queue: exit 2, nothing created', () => {
  const folder = mkdtempSync(join(dir, 'none-'));
  const path = join(folder, 'typo.db');
  for (const action of ['inspect', 'resend-dead', 'export']) {
    const r = run(action, '--path', path, ...(action === 'export' ? ['--out', join(folder, 'out')] : []));
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, `bestshot queue: [ERR_USAGE] no queue at ${path}: --path names the queue database (queue.path in the config)\n`);
  }
  assert.deepEqual(readdirSync(folder), [], 'no database, no .reserve, no export folder');
  // A folder (the stateDir, say): before, "[ERR_QUEUE] Cannot open queue database …: disk I/O error", exit 1.
  for (const action of ['inspect', 'resend-dead', 'export']) {
    const r = run(action, '--path', folder, ...(action === 'export' ? ['--out', join(dir, 'never')] : []));
    assert.equal(r.stderr, `bestshot queue: [ERR_USAGE] ${folder} is a folder: --path names the queue database file in it (queue.path in the config, e.g. ${join(folder, 'queue.sqlite')})\n`);
    assert.equal(r.status, 2);
  }
  assert.deepEqual(readdirSync(folder), [], 'nothing made in the folder');
});

test('bestshot queue inspect / export on a corrupt queue: reported, exit 1, the file left as it is for the service to recover', () => {
  const folder = mkdtempSync(join(dir, 'corrupt-'));
  const path = join(folder, 'q.db');
  const q = PackageQueue.open({ path });
  const blob = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(20000, 0x33)]);
  for (let i = 1; i <= 3; i++) q.enqueue(makePackage('cam-cli', i, blob));
  q.close();
  // Overwrite the JPEGs' overflow pages: the header and the row cells stay readable.
  const raw = new Database(path, { readonly: true });
  const pages = raw.prepare<[], { pageno: number }>("SELECT pageno FROM dbstat WHERE name = 'packages' AND pagetype = 'overflow'").all();
  raw.close();
  const fd = openSync(path, 'r+');
  for (const { pageno } of pages) writeSync(fd, Buffer.alloc(4096, 0xa7), 0, 4096, (pageno - 1) * 4096);
  closeSync(fd);
  const files = readdirSync(folder);
  const bytes = readFileSync(path);
  for (const action of ['inspect', 'export']) {
    const r = run(action, '--path', path, ...(action === 'export' ? ['--out', join(folder, 'out')] : []));
    assert.equal(r.status, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^bestshot queue: \\[ERR_QUEUE_CORRUPT\\] Queue database ${path.replace(/[.]/g, '\\.')} is corrupt \\(.+\\); it was left as it is: 'bestshot run' sets it aside and recovers what is still readable at its next start\n$`),
    );
    assert.ok(readFileSync(path).equals(bytes), `${action} did not rebuild the queue`);
    assert.deepEqual(readdirSync(folder), files, `${action}: nothing set aside, created or exported`);
  }
});

test('bestshot queue export writes a crops package as crop-N.jpg and a frame+crops one as image.jpg + crop-N.jpg, as the receiver stores them', async () => {
  const path = join(dir, 'crops.db');
  const q = PackageQueue.open({ path });
  const crops = [await makeJpeg(6), await makeJpeg(7)];
  const frame = await makeJpeg(5);
  for (const [imageId, content] of [[1, 'crops'], [2, 'frame+crops']] as const) {
    q.enqueue(
      buildPackage({
        cameraId: 'cam-x', imageId, timestampNs: BASE_NS, width: 640, height: 480,
        exposure: { mode: 'manual', exposureTimeUs: 1000, gain: 2 }, cameraPosition: null,
        jpeg: content === 'crops' ? null : frame,
        tracks: [{ trackId: 7, entry: entryAt(1, BASE_NS, 7) }, { trackId: 9, entry: entryAt(1, BASE_NS, 9) }],
        selection: { route: 'cached', trackIds: [7, 9], policy: 'shared-best' },
        content,
        crops: [
          { trackId: 7, rect: { x: 100, y: 80, width: 64, height: 48 }, jpeg: crops[0]! },
          { trackId: 9, rect: { x: 300, y: 200, width: 64, height: 48 }, jpeg: crops[1]! },
        ],
      }),
    );
  }
  q.close();
  const out = join(dir, 'export-crops');
  const r = run('export', '--path', path, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  // Before: one image.jpg holding every crop back to back (a viewer shows the first only).
  const onlyCrops = join(out, 'queued', 'cam-x%3A1');
  assert.deepEqual(readdirSync(onlyCrops).sort(), ['crop-0.jpg', 'crop-1.jpg', 'metadata.json']);
  assert.ok(readFileSync(join(onlyCrops, 'crop-0.jpg')).equals(crops[0]!) && readFileSync(join(onlyCrops, 'crop-1.jpg')).equals(crops[1]!));
  const withFrame = join(out, 'queued', 'cam-x%3A2');
  assert.deepEqual(readdirSync(withFrame).sort(), ['crop-0.jpg', 'crop-1.jpg', 'image.jpg', 'metadata.json']);
  assert.ok(readFileSync(join(withFrame, 'image.jpg')).equals(frame));
  assert.ok(readFileSync(join(withFrame, 'crop-1.jpg')).equals(crops[1]!));
});

test('bestshot queue inspect / export mask URL credentials in dead-letter reasons stored before the sender masked them', () => {
  const path = join(dir, 'old-reasons.db');
  const q = PackageQueue.open({ path });
  const jpeg = Buffer.from([0xff, 0xd8, 1]);
  // Written straight to the queue, as a release before masking stored them.
  q.enqueue(makePackage('cam-old', 1, jpeg));
  q.deadLetter(q.peekOldest()!.seq, 'HTTP 302 to https://ingest:s3cr3tpw@cloud.example/packages: moved', 302);
  q.enqueue(makePackage('cam-old', 2, jpeg));
  q.deadLetter(q.peekOldest()!.seq, 'HTTP 403: https://bucket.example/o?X-Amz-Signature=abc123sig&token=tok456 expired', 403);
  q.close();
  const text = run('inspect', '--path', path);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /cam-old:1 {2}302 {2}HTTP 302 to https:\/\/ingest:\*\*\*@cloud\.example\/packages: moved/);
  assert.match(text.stdout, /cam-old:2 {2}403 {2}HTTP 403: https:\/\/bucket\.example\/o\?X-Amz-Signature=\*\*\*&token=\*\*\* expired/);
  const json = run('inspect', '--path', path, '--json');
  const out = join(dir, 'old-reasons-export');
  const exp = run('export', '--path', path, '--out', out);
  assert.equal(exp.status, 0, exp.stderr);
  for (const shown of [text.stdout, json.stdout, readFileSync(join(out, 'index.json'), 'utf8')]) {
    for (const secret of ['s3cr3tpw', 'abc123sig', 'tok456']) assert.ok(!shown.includes(secret), `${secret} shown:\n${shown}`);
  }
  assert.equal((JSON.parse(json.stdout) as { deadLetters: unknown[] }).deadLetters.length, 2);
});
