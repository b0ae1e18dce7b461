import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { QueueError } from '../../src/errors.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { PackageQueue, QUEUE_SCHEMA_VERSION, type UploadPackage } from '../../src/upload/index.js';
import { makeJpeg, makePackage } from './helpers.js';

let dir: string;
let jpeg: Buffer;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-queue-'));
  jpeg = await makeJpeg(7);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const fresh = (name: string): string => join(dir, `${name}.db`);
const pkgs = (n: number, from = 0): UploadPackage[] => Array.from({ length: n }, (_, i) => makePackage('cam-q', from + i, jpeg));

test('U2: FIFO order, removed only by ack, survives close and reopen with its counters', () => {
  const path = fresh('fifo');
  const q = PackageQueue.open({ path });
  for (const p of pkgs(5)) q.enqueue(p);
  assert.equal(q.depth, 5);
  const head = q.peekOldest()!;
  assert.equal(head.idempotencyKey, 'cam-q:0');
  assert.ok(head.pkg.jpeg.equals(jpeg));
  assert.deepEqual(head.pkg.metadata, JSON.parse(JSON.stringify(makePackage('cam-q', 0, jpeg).metadata)));
  assert.equal(q.peekOldest()!.seq, head.seq, 'peek does not remove');
  assert.equal(q.recordFailure(head.seq, 'HTTP 503'), 1);
  assert.equal(q.recordFailure(head.seq, 'HTTP 503'), 2);
  assert.equal(q.ack(head.seq), true);
  assert.equal(q.ack(head.seq), false, 'a second ack of the same seq changes nothing');
  q.close();
  q.close();
  assert.throws(() => q.peekOldest(), { name: 'QueueError', message: `Queue ${path} is closed (peekOldest)` });

  const again = PackageQueue.open({ path });
  assert.deepEqual(again.keys(), ['cam-q:1', 'cam-q:2', 'cam-q:3', 'cam-q:4']);
  assert.equal(again.depth, 4);
  assert.equal(again.bytes, again.keys().length * (jpeg.length + Buffer.byteLength(JSON.stringify(makePackage('cam-q', 1, jpeg).metadata))));
  assert.deepEqual(again.counters(), { enqueued: 5, delivered: 1, dropped: 0, droppedBytes: 0, deadLettered: 0, setAside: 0, replaced: 0 });
  const h = again.peekOldest()!;
  assert.equal(h.attempts, 0);
  again.close();
});

test('U2: full by count — the oldest is dropped and counted, persistently', () => {
  const path = fresh('full-count');
  const q = PackageQueue.open({ path, maxPackages: 3 });
  const results = pkgs(5).map((p) => q.enqueue(p));
  assert.deepEqual(results.map((r) => r.dropped.map((d) => d.idempotencyKey)), [[], [], [], ['cam-q:0'], ['cam-q:1']]);
  assert.deepEqual(q.keys(), ['cam-q:2', 'cam-q:3', 'cam-q:4']);
  assert.equal(q.depth, 3);
  const c = q.counters();
  assert.equal(c.enqueued, 5);
  assert.equal(c.dropped, 2);
  assert.equal(c.droppedBytes, results[3]!.dropped[0]!.bytes + results[4]!.dropped[0]!.bytes);
  q.close();
  const again = PackageQueue.open({ path, maxPackages: 3 });
  assert.equal(again.counters().dropped, 2);
  // enqueued == delivered + dropped + deadLettered + still queued
  const k = again.counters();
  assert.equal(k.enqueued, k.delivered + k.dropped + k.deadLettered + again.depth);
  again.close();
});

test('U2: the package being sent (pinned) is not the one dropped for room; its ack then counts as delivered', () => {
  const q = PackageQueue.open({ path: fresh('pin'), maxPackages: 3 });
  for (const p of pkgs(3, 50)) q.enqueue(p);
  const head = q.peekOldest()!;
  q.pin(head.seq);
  assert.deepEqual(q.enqueue(pkgs(1, 53)[0]!).dropped.map((d) => d.idempotencyKey), ['cam-q:51']);
  assert.equal(q.ack(head.seq), true);
  q.unpin();
  assert.deepEqual(q.keys(), ['cam-q:52', 'cam-q:53']);
  assert.deepEqual(q.counters(), { enqueued: 4, delivered: 1, dropped: 1, droppedBytes: q.bytes / 2, deadLettered: 0, setAside: 0, replaced: 0 });
  // With room for one package only, even the pinned one goes.
  const one = PackageQueue.open({ path: fresh('pin-one'), maxPackages: 1 });
  one.enqueue(pkgs(1, 60)[0]!);
  one.pin(one.peekOldest()!.seq);
  assert.deepEqual(one.enqueue(pkgs(1, 61)[0]!).dropped.map((d) => d.idempotencyKey), ['cam-q:60']);
  assert.equal(one.ack(1), false, 'a dropped package cannot be acknowledged');
  one.close();
  q.close();
});

test('U2: full by bytes — as many oldest as needed are dropped; a package larger than maxBytes is refused, not acknowledged', () => {
  const size = jpeg.length + Buffer.byteLength(JSON.stringify(makePackage('cam-q', 10, jpeg).metadata));
  const q = PackageQueue.open({ path: fresh('full-bytes'), maxBytes: size * 3 + 10 });
  for (const p of pkgs(3, 10)) assert.deepEqual(q.enqueue(p).dropped, []);
  const big = makePackage('cam-q', 99, Buffer.concat([jpeg, Buffer.alloc(size, 1)]));
  const r = q.enqueue(big);
  assert.deepEqual(r.dropped.map((d) => d.idempotencyKey), ['cam-q:10', 'cam-q:11']);
  assert.deepEqual(q.keys(), ['cam-q:12', 'cam-q:99']);
  assert.ok(q.bytes <= q.maxBytes);
  const huge = makePackage('cam-q', 100, Buffer.concat([jpeg, Buffer.alloc(size * 4, 2)]));
  const hugeBytes = huge.jpeg.length + Buffer.byteLength(JSON.stringify(huge.metadata));
  assert.throws(() => q.enqueue(huge), {
    name: 'QueueError',
    code: 'ERR_QUEUE',
    message: `Package cam-q:100 of ${hugeBytes} bytes exceeds the queue's maxBytes ${size * 3 + 10}`,
  });
  assert.deepEqual(q.keys(), ['cam-q:12', 'cam-q:99'], 'a refused package drops nothing');
  assert.equal(q.counters().dropped, 2);
  q.close();
});

test('U2: dead letters keep the reason and status; packages never queued (immediate) can be dead-lettered too', () => {
  const q = PackageQueue.open({ path: fresh('dead') });
  for (const p of pkgs(3, 20)) q.enqueue(p);
  const head = q.peekOldest()!;
  q.recordFailure(head.seq, 'HTTP 503');
  assert.equal(q.deadLetter(head.seq, 'HTTP 400: bad metadata', 400), true);
  const next = q.peekOldest()!;
  assert.equal(q.deadLetter(next.seq, 'HTTP 401: unauthorized', 401), true);
  q.deadLetterPackage(makePackage('cam-q', 30, jpeg), 'HTTP 401: unauthorized', 401);
  const dl = q.deadLetters();
  // Tries: the failed ones before, plus the one that failed for good.
  assert.deepEqual(
    dl.map((d) => [d.seq, d.idempotencyKey, d.status, d.reason, d.attempts]),
    [
      [head.seq, 'cam-q:20', 400, 'HTTP 400: bad metadata', 2],
      [next.seq, 'cam-q:21', 401, 'HTTP 401: unauthorized', 1],
      [null, 'cam-q:30', 401, 'HTTP 401: unauthorized', 1],
    ],
  );
  assert.deepEqual(q.keys(), ['cam-q:22']);
  assert.equal(q.counters().deadLettered, 3);
  q.close();
});

test('U2: the database is in WAL mode with synchronous FULL by default, schema versioned by user_version', () => {
  const path = fresh('pragmas');
  const q = PackageQueue.open({ path });
  assert.equal(q.synchronous, 'FULL');
  q.close();
  const db = new Database(path, { readonly: true });
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('user_version', { simple: true }), QUEUE_SCHEMA_VERSION);
  db.close();
  // A file from a newer program is refused, not migrated backwards.
  const rw = new Database(path);
  rw.pragma(`user_version = ${QUEUE_SCHEMA_VERSION + 1}`);
  rw.close();
  assert.throws(() => PackageQueue.open({ path }), {
    name: 'QueueError',
    code: 'ERR_QUEUE',
    message: `Queue database ${path} has schema version ${QUEUE_SCHEMA_VERSION + 1}, newer than this program's ${QUEUE_SCHEMA_VERSION}`,
  });
});

test('U2: one process owns a queue — a second open is refused while the first holds it', () => {
  const path = fresh('lock');
  const q = PackageQueue.open({ path });
  q.enqueue(pkgs(1)[0]!);
  assert.throws(() => PackageQueue.open({ path }), {
    name: 'QueueError',
    message: `Cannot open queue database ${path}: database is locked (another process holds it open: the queue of another bestshot process, or another program's database)`,
  });
  q.close();
  const again = PackageQueue.open({ path });
  assert.equal(again.depth, 1);
  again.close();
});

test('U2: a garbage queue file → ERR_QUEUE_CORRUPT logged, file set aside with a timestamp, fresh queue started', () => {
  const path = fresh('garbage');
  PackageQueue.open({ path }).close(); // a queue (its ack reserve stays beside it) ...
  writeFileSync(path, Buffer.alloc(8192, 0x5a)); // ... whose file is then overwritten, header and all
  const logged: string[] = [];
  const q = PackageQueue.open({ path, log: (m) => logged.push(m) });
  assert.ok(q.recovered);
  const { error, setAsidePath } = q.recovered;
  assert.ok(error instanceof QueueError);
  assert.equal(error.code, 'ERR_QUEUE_CORRUPT');
  assert.match(setAsidePath, new RegExp(`^${path.replace(/[.]/g, '\\.')}\\.corrupt-\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d-\\d{3}Z$`));
  assert.equal(error.message, `Queue database ${path} is corrupt (file is not a database); set aside as ${setAsidePath}, recovered 0 package(s) and 0 dead letter(s) into a fresh queue, an unknown number lost`);
  assert.deepEqual(logged, [`[ERR_QUEUE_CORRUPT] ${error.message}`]);
  assert.equal(statSync(setAsidePath).size, 8192, 'the corrupt file is kept for inspection');
  assert.equal(q.depth, 0);
  q.enqueue(pkgs(1)[0]!);
  assert.deepEqual(q.counters(), { enqueued: 1, delivered: 0, dropped: 0, droppedBytes: 0, deadLettered: 0, setAside: 0, replaced: 0 });
  q.close();
});

test('U2: a queue path SQLite cannot create a file at → ERR_QUEUE with the cause and the fix', () => {
  // /proc takes no new files, whoever runs the test (root included).
  assert.throws(() => PackageQueue.open({ path: '/proc/bestshot-queue.sqlite' }), {
    name: 'QueueError',
    code: 'ERR_QUEUE',
    message: 'Cannot open queue database /proc/bestshot-queue.sqlite: unable to open database file: check that /proc exists, is writable by this user and is on a file system mounted read-write, or set queue.path elsewhere',
  });
});

test('U2: a file at the queue path that is not a queue (no SQLite header, nothing a queue leaves beside it) is refused and left untouched', () => {
  const path = fresh('foreign');
  const yaml = 'version: 1\ncameras: []\n';
  writeFileSync(path, yaml);
  const logged: string[] = [];
  assert.throws(() => PackageQueue.open({ path, log: (m) => logged.push(m) }), {
    name: 'QueueError',
    code: 'ERR_QUEUE',
    message: `Queue path ${path} holds a file that is not a queue database (no SQLite header, and no -wal, -shm or .reserve file beside it); it was left untouched: set queue.path to a new file, or move that file away if it is a damaged queue`,
  });
  assert.equal(readFileSync(path, 'utf8'), yaml, 'the file is not replaced');
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('foreign')), ['foreign.db'], 'nothing set aside, nothing created beside it');
  assert.deepEqual(logged, []);
});

test('U2: an SQLite database at the queue path that is not a queue (another program\'s) is refused before anything is written', () => {
  const path = fresh('other-app');
  const other = new Database(path);
  other.exec("CREATE TABLE users (id INTEGER, name TEXT); INSERT INTO users VALUES (1, 'ada')");
  other.close();
  chmodSync(path, 0o644);
  const before = readFileSync(path);
  const message = `Queue path ${path} holds an SQLite database that is not a queue (its tables: users); it was left untouched: set queue.path to a new file`;
  // Before: the queue's tables were added beside `users`, the file made 0600 and WAL, a .reserve file made beside it.
  assert.throws(() => PackageQueue.open({ path }), { name: 'QueueError', code: 'ERR_QUEUE', message });
  assert.throws(() => PackageQueue.open({ path, readOnly: true }), { name: 'QueueError', code: 'ERR_QUEUE', message });
  assert.ok(readFileSync(path).equals(before), 'not a byte changed');
  assert.equal(statSync(path).mode & 0o777, 0o644, 'its mode kept');
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('other-app')), ['other-app.db'], 'nothing made beside it');
  // The receiver's index.sqlite has a 'packages' table of its own: refused the same way (it failed
  // with "no such column: idempotency_key", resend-dead with "table packages already exists").
  const index = fresh('receiver-index');
  const rcv = new Database(index);
  rcv.exec('CREATE TABLE packages (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, camera_id TEXT NOT NULL)');
  rcv.close();
  const indexBytes = readFileSync(index);
  for (const readOnly of [false, true]) {
    assert.throws(() => PackageQueue.open({ path: index, readOnly }), {
      name: 'QueueError',
      code: 'ERR_QUEUE',
      message: `Queue path ${index} holds an SQLite database that is not a queue (its tables: packages); it was left untouched: set queue.path to a new file`,
    });
  }
  assert.ok(readFileSync(index).equals(indexBytes), 'the index is untouched');
  // An SQLite file with no table at all is a new database: it becomes the queue.
  const blank = fresh('blank-sqlite');
  new Database(blank).close();
  const q = PackageQueue.open({ path: blank });
  assert.equal(q.depth, 0);
  q.close();
});

test('U2: a queue file cut short inside a page is found at open, set aside, and only whole packages recovered (it read healthy, then failed with disk I/O error)', () => {
  for (const cut of [1000, 100]) {
    const path = fresh(`cut-${cut}`);
    const q = PackageQueue.open({ path });
    const big = Buffer.concat([jpeg, Buffer.alloc(20_000, 7)]);
    for (let i = 0; i < 30; i++) q.enqueue(makePackage('cam-q', i, big));
    q.close();
    const size = statSync(path).size;
    truncateSync(path, size - cut);
    // inspect (read-only) says so and leaves the file as it is.
    assert.throws(() => PackageQueue.open({ path, readOnly: true }), {
      code: 'ERR_QUEUE_CORRUPT',
      message: `Queue database ${path} is corrupt (file cut short: ${size - cut} bytes is not a whole number of 4096-byte pages); it was left as it is: 'bestshot run' sets it aside and recovers what is still readable at its next start`,
    });
    assert.equal(statSync(path).size, size - cut);
    const logged: string[] = [];
    const q2 = PackageQueue.open({ path, log: (m) => logged.push(m) });
    assert.ok(q2.recovered, `cut ${cut}: set aside`);
    assert.match(logged.join('\n'), /file cut short/);
    assert.ok(q2.depth >= 25 && q2.depth < 30, `cut ${cut}: depth ${q2.depth}`);
    // Every package read back is whole: the bytes its metadata's sha256 names (a damaged one was sent before).
    for (let n = 0; ; n++) {
      const head = q2.peekOldest();
      if (!head) break;
      assert.equal(createHash('sha256').update(head.pkg.jpeg).digest('hex'), head.pkg.metadata.image?.sha256, `package ${n}`);
      q2.ack(head.seq);
    }
    q2.close();
  }
});

test('U2: damaged pages inside a real queue file are found by the open check and set aside too', () => {
  const path = fresh('damaged');
  const q = PackageQueue.open({ path });
  for (const p of pkgs(20, 40)) q.enqueue(p);
  q.close();
  assert.equal(existsSync(`${path}-wal`), false, 'close checkpoints the WAL into the file');
  const size = statSync(path).size;
  const fd = openSync(path, 'r+');
  // Overwrite pages 2.. (the tables' b-tree pages) with junk; the header stays valid.
  writeSync(fd, Buffer.alloc(Math.min(size - 4096, 16384), 0xa7), 0, Math.min(size - 4096, 16384), 4096);
  closeSync(fd);
  const logged: string[] = [];
  const q2 = PackageQueue.open({ path, log: (m) => logged.push(m) });
  assert.ok(q2.recovered, 'corruption detected');
  assert.equal(q2.recovered.error.code, 'ERR_QUEUE_CORRUPT');
  assert.equal(
    q2.recovered.error.message,
    `Queue database ${path} is corrupt (database disk image is malformed); set aside as ${q2.recovered.setAsidePath}, recovered 0 package(s) and 0 dead letter(s) into a fresh queue, an unknown number lost`,
  );
  assert.equal(logged.length, 1);
  assert.equal(q2.depth, 0);
  assert.ok(readdirSync(dir).some((f) => f.startsWith('damaged.db.corrupt-')));
  q2.close();
});

// A function call, so TypeScript does not keep the narrowing of q.recovered to null across operations.
const recoveredOf = (q: PackageQueue): PackageQueue['recovered'] => q.recovered;

/** A closed queue file whose JPEG overflow pages (found through dbstat) are overwritten: headers and row cells intact. */
function queueWithDamagedBlobs(name: string, n: number): string {
  const path = fresh(name);
  const q = PackageQueue.open({ path });
  const blob = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(20000, 0x33)]);
  for (let i = 0; i < n; i++) q.enqueue(makePackage('cam-q', 70 + i, blob));
  q.close();
  const raw = new Database(path, { readonly: true });
  const pages = raw.prepare<[], { pageno: number }>("SELECT pageno FROM dbstat WHERE name = 'packages' AND pagetype = 'overflow'").all();
  raw.close();
  assert.ok(pages.length >= n * 4);
  const fd = openSync(path, 'r+');
  for (const { pageno } of pages) writeSync(fd, Buffer.alloc(4096, 0xa7), 0, 4096, (pageno - 1) * 4096);
  closeSync(fd);
  return path;
}

test('U2: corruption met by the first read at open (checkOnOpen none) → set aside, fresh queue; the unreadable packages are counted and logged', () => {
  const path = queueWithDamagedBlobs('runtime-read', 6);
  const logged: string[] = [];
  const q = PackageQueue.open({ path, checkOnOpen: 'none', log: (m) => logged.push(m) });
  const rec = recoveredOf(q);
  assert.ok(rec, 'found by the first read at open');
  assert.equal(rec.error.code, 'ERR_QUEUE_CORRUPT');
  assert.equal(
    rec.error.message,
    `Queue database ${path} is corrupt (database disk image is malformed); set aside as ${rec.setAsidePath}, recovered 0 package(s) and 0 dead letter(s) into a fresh queue, 6 lost`,
  );
  assert.deepEqual(logged, [`[ERR_QUEUE_CORRUPT] ${rec.error.message}`]);
  assert.deepEqual([rec.recovered, rec.lost], [0, 6]);
  assert.ok(existsSync(rec.setAsidePath));
  assert.equal(q.depth, 0);
  assert.deepEqual(q.counters(), { enqueued: 0, delivered: 0, dropped: 0, droppedBytes: 0, deadLettered: 0, setAside: 6, replaced: 0 });
  const r = q.enqueue(pkgs(1, 90)[0]!);
  assert.ok(r.seq > 6, 'sequence numbers continue above the old file: a late ack cannot hit a new package');
  assert.equal(q.ack(3), false);
  assert.deepEqual(q.keys(), ['cam-q:90']);
  q.close();
});

test('U2: corruption met by enqueue (dropping a damaged oldest) → set aside, and the new package is still acknowledged in the fresh queue', () => {
  const path = queueWithDamagedBlobs('runtime-enqueue', 4);
  const logged: string[] = [];
  const q = PackageQueue.open({ path, checkOnOpen: 'none', maxPackages: 4, log: (m) => logged.push(m) });
  const r = q.enqueue(pkgs(1, 95)[0]!);
  assert.deepEqual(r.dropped, []);
  assert.ok(q.recovered);
  assert.equal(logged.length, 1);
  assert.deepEqual(q.keys(), ['cam-q:95']);
  assert.deepEqual(q.counters(), { enqueued: 1, delivered: 0, dropped: 0, droppedBytes: 0, deadLettered: 0, setAside: 4, replaced: 0 });
  q.close();
  const again = PackageQueue.open({ path });
  assert.deepEqual(again.keys(), ['cam-q:95']);
  assert.equal(again.recovered, null);
  again.close();
});

test('queue options are checked with exact messages', () => {
  assert.throws(() => PackageQueue.open({ path: '' }), { name: 'TypeError', message: "Expected non-empty string for path but received '' of type string" });
  assert.throws(() => PackageQueue.open({ path: fresh('x'), maxPackages: 0 }), { name: 'RangeError', message: 'Expected positive integer for maxPackages but received 0 of type number' });
  assert.throws(() => PackageQueue.open({ path: fresh('x'), synchronous: 'OFF' as 'FULL' }), { message: "Expected one of 'FULL', 'NORMAL' for synchronous but received 'OFF' of type string" });
});

/** Every file of a folder with its bytes, to show that a reader changed nothing. */
const snapshot = (folder: string): Record<string, string> =>
  Object.fromEntries(readdirSync(folder).sort().map((f) => [f, readFileSync(join(folder, f)).toString('base64')]));

test('readOnly: a queue is read as it is, a killed writer\'s WAL included, and no file is created or changed', () => {
  const folder = mkdtempSync(join(dir, 'ro-'));
  const live = join(folder, 'live.db');
  const writer = PackageQueue.open({ path: live, ackReserveBytes: 0 });
  for (const p of pkgs(3, 200)) writer.enqueue(p);
  writer.deadLetter(writer.peekOldest()!.seq, 'HTTP 401', 401);
  // The files as kill -9 leaves them: the commits sit in the WAL.
  const path = join(folder, 'killed.db');
  writeFileSync(path, readFileSync(live));
  writeFileSync(`${path}-wal`, readFileSync(`${live}-wal`));
  writer.close();
  rmSync(live);
  const before = snapshot(folder);
  const q = PackageQueue.open({ path, readOnly: true });
  assert.deepEqual(q.keys(), ['cam-q:201', 'cam-q:202']);
  assert.deepEqual(q.deadLetters().map((d) => d.idempotencyKey), ['cam-q:200']);
  assert.equal(q.counters().deadLettered, 1);
  assert.throws(() => q.enqueue(pkgs(1, 300)[0]!), { code: 'SQLITE_READONLY' });
  q.close();
  assert.deepEqual(snapshot(folder), before, 'no -shm, reserve or checkpoint left behind');
  assert.throws(() => PackageQueue.open({ path: join(folder, 'none.db'), readOnly: true }), { code: 'ERR_QUEUE', message: `No queue database at ${join(folder, 'none.db')}` });
  assert.deepEqual(snapshot(folder), before);
});

test('readOnly: a corrupt queue is reported (ERR_QUEUE_CORRUPT) and left as it is; the service recovers it at its next open', () => {
  const path = queueWithDamagedBlobs('ro-corrupt', 3);
  const before = readFileSync(path);
  const files = readdirSync(dir).filter((f) => f.startsWith('ro-corrupt.db'));
  const logged: string[] = [];
  assert.throws(() => PackageQueue.open({ path, readOnly: true, log: (m) => logged.push(m) }), (err: unknown) => {
    assert.ok(err instanceof QueueError);
    assert.equal(err.code, 'ERR_QUEUE_CORRUPT');
    assert.match(err.message, new RegExp(`^Queue database ${path.replace(/[.]/g, '\\.')} is corrupt \\(.+\\); it was left as it is: 'bestshot run' sets it aside and recovers what is still readable at its next start$`));
    return true;
  });
  assert.deepEqual(logged, []);
  assert.ok(readFileSync(path).equals(before), 'not rebuilt');
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('ro-corrupt.db')), files, 'nothing set aside, no -wal or -shm left');
  const service = PackageQueue.open({ path, log: () => {} });
  assert.equal(service.recovered?.error.code, 'ERR_QUEUE_CORRUPT');
  service.close();
});

test('a queue file this user cannot write: the error names the file and the fix, not just "disk I/O error"', (t) => {
  if (process.getuid?.() !== 0 || spawnSync('su', ['nobody', '-s', '/bin/sh', '-c', 'true']).status !== 0) {
    t.skip('needs root to run a step as another user');
    return;
  }
  const d = mkdtempSync(join(tmpdir(), 'bestshot-q-ro-'));
  try {
    const path = join(d, 'q.db');
    PackageQueue.open({ path }).close();
    chmodSync(path, 0o444);
    chmodSync(d, 0o777);
    const script = `import { PackageQueue } from './src/upload/index.js'; try { PackageQueue.open({ path: ${JSON.stringify(path)} }); } catch (e) { console.log(e.code + ' ' + e.message); }`;
    const r = spawnSync('su', ['nobody', '-s', '/bin/sh', '-c', `HOME=${d} ${process.execPath} --import tsx --input-type=module -e ${JSON.stringify(script)}`], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    // Before: 'Cannot open queue database …: disk I/O error', which reads like a failing disk.
    assert.equal(r.stdout.trim(), `ERR_QUEUE Cannot open queue database ${path}: ${path} is not writable by this user (uid 65534): fix its owner or mode, or run as the user that owns the queue`, r.stderr);
    assert.deepEqual(readdirSync(d).sort(), ['q.db', 'q.db.reserve'], 'no -wal or -shm made as the other user');
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
