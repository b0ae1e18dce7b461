/**
 * U2 never loses silently: a queue file left empty, or a WAL with garbage
 * over committed frames (SQLite would skip every later commit without a
 * word), is set aside; what is readable is recovered into the fresh queue;
 * the rest is counted (`setAside`) and logged.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { PROJECT_ROOT } from '../../src/paths.js';
import { PackageQueue } from '../../src/upload/index.js';
import { queueLockPath, walDamage } from '../../src/upload/queue.js';
import { makePackage } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'bestshot-qcorrupt-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Enqueue n packages in a child process that exits without closing (as after kill -9: the commits sit in the WAL). */
export function enqueueAndDie(path: string, n: number): void {
  const script = `
    import { PackageQueue } from './src/upload/index.js';
    import { makePackage } from './test/upload/helpers.js';
    const q = PackageQueue.open({ path: process.argv[1] });
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(3000, 7)]);
    for (let i = 1; i <= Number(process.argv[2]); i++) q.enqueue(makePackage('cam-c', i, jpeg));
    process.exit(0);`;
  execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, path, String(n)], { cwd: PROJECT_ROOT, stdio: 'pipe' });
}

test('an empty queue file is set aside and reported (an unknown number lost), not taken for a new queue', () => {
  const path = join(dir, 'empty.db');
  const q = PackageQueue.open({ path });
  q.close();
  truncateSync(path, 0);
  const logged: string[] = [];
  const q2 = PackageQueue.open({ path, log: (m) => logged.push(m) });
  assert.ok(q2.recovered);
  assert.equal(q2.recovered.lost, null);
  assert.equal(
    logged[0],
    `[ERR_QUEUE_CORRUPT] Queue database ${path} is corrupt (the file is empty); set aside as ${q2.recovered.setAsidePath}, recovered 0 package(s) and 0 dead letter(s) into a fresh queue, an unknown number lost`,
  );
  q2.close();
});

test("an empty queue file whose lock a live process holds is that process's fresh file: refused and left, not set aside", async () => {
  const path = join(dir, 'fresh.db');
  writeFileSync(path, '');
  // Another process that owns the queue (as `bestshot run` does, runtime/run-lock.ts) and has only just created its file.
  const script = `
    import { ProcessLock } from './src/process-lock.js';
    ProcessLock.acquire(process.argv[1], { command: 'bestshot run', subject: 'queue', advice: '-' });
    console.log('held');
    setTimeout(() => {}, 30000);`;
  const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, queueLockPath(path)], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve) => owner.stdout.once('data', () => resolve()));
    const since = (JSON.parse(readFileSync(queueLockPath(path), 'utf8')) as { since: string }).since;
    const logged: string[] = [];
    assert.throws(() => PackageQueue.open({ path, log: (m) => logged.push(m) }), {
      code: 'ERR_QUEUE',
      message: `Queue database ${path} looks damaged (the file is empty) but bestshot run (pid ${owner.pid}, since ${since}) holds its lock ${path}.lock: it is that process's queue; left untouched`,
    });
    assert.deepEqual(logged, []);
    assert.equal(statSync(path).size, 0);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('fresh.db.corrupt-')), []);
  } finally {
    owner.kill('SIGKILL');
    await new Promise((r) => owner.once('close', r));
  }
  // Its owner gone (killed), the empty file is what it was before: set aside and reported.
  const q = PackageQueue.open({ path, log: () => {} });
  assert.ok(q.recovered);
  q.close();
});

test('garbage over a WAL frame: the packages before it are recovered, the commits after it counted lost and logged', () => {
  const path = join(dir, 'wal.db');
  enqueueAndDie(path, 25);
  const wal = `${path}-wal`;
  assert.ok(existsSync(wal) && statSync(wal).size > 32, 'the commits are in the WAL');
  assert.equal(walDamage(wal), null, 'an intact WAL is not damage');
  // Garbage over the middle of the WAL (one page's worth).
  const fd = openSync(wal, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, Math.floor(statSync(wal).size / 2));
  closeSync(fd);
  const damage = walDamage(wal);
  assert.ok(damage && damage.lostCommits > 0, 'found');
  const logged: string[] = [];
  const q = PackageQueue.open({ path, log: (m) => logged.push(m) });
  const rec = q.recovered;
  assert.ok(rec);
  assert.equal(logged.length, 1);
  assert.match(logged[0]!, /is corrupt \(WAL (checksum fails; \d+|frames damaged; up to \d+) later commit\(s\) would be skipped( \(\d+ frame header\(s\) unreadable\))?\); set aside as .*, recovered (\d+) package\(s\) and 0 dead letter\(s\) into a fresh queue, (up to )?(\d+) lost$/);
  assert.ok(rec.recovered > 0 && rec.recovered < 25, `recovered ${rec.recovered}`);
  assert.equal(q.depth, rec.recovered);
  // Every package is either recovered or counted lost (the count is an upper bound: one commit per enqueue).
  assert.ok(rec.recovered + (rec.lost ?? 0) >= 25, `${rec.recovered} + ${rec.lost}`);
  assert.equal(q.counters().setAside, rec.lost);
  assert.deepEqual(q.keys(), Array.from({ length: rec.recovered }, (_, i) => `cam-c:${i + 1}`), 'recovered oldest first, keys intact');
  assert.equal(q.peekOldest()?.pkg.jpeg.length, 3002);
  q.close();
});

test('garbage over exactly one WAL frame header, at every frame: never a silent loss, never an undercount', () => {
  // A header overwritten whole reads as neither this generation nor an earlier one;
  // SQLite stops replaying there without a word. When it held a commit flag, that
  // commit must be counted too (the count becomes an upper bound, said in the log).
  const base = join(dir, 'hdr-base.db');
  enqueueAndDie(base, 25);
  const walSize = statSync(`${base}-wal`).size;
  const frameSize = 24 + 4096;
  const frames = Math.floor((walSize - 32) / frameSize);
  assert.ok(frames > 25, `${frames} frames`);
  let cases = 0;
  for (let f = 1; f < frames; f++) {
    const path = join(dir, `hdr-${f}.db`);
    copyFileSync(base, path);
    copyFileSync(`${base}-wal`, `${path}-wal`);
    const fd = openSync(`${path}-wal`, 'r+');
    writeSync(fd, Buffer.alloc(24, 0x5a), 0, 24, 32 + f * frameSize);
    closeSync(fd);
    const logged: string[] = [];
    const q = PackageQueue.open({ path, log: (m) => logged.push(m) });
    const kept = q.depth;
    if (kept < 25) {
      const rec = q.recovered;
      assert.ok(rec, `frame ${f}: ${25 - kept} package(s) gone without a recovery report`);
      assert.ok(rec.lost !== null && kept + rec.lost >= 25, `frame ${f}: ${kept} kept + ${rec.lost} counted lost < 25`);
      assert.equal(rec.lostIsUpperBound, true);
      assert.match(logged[0]!, /frames damaged; up to \d+ later commit\(s\) would be skipped \(1 frame header\(s\) unreadable\).*, up to \d+ lost$/);
      cases++;
    }
    q.close();
  }
  assert.ok(cases > 20, `${cases} damaged-header cases lost packages`);
});

test('a queue file cut short (a copy that stopped, a file system that lost its tail): the rows on the pages left are recovered, the rest counted', () => {
  // At 60% every dead letter is on the pages left, at 30% some are not (their ids then read one at a time).
  for (const kept of [0.6, 0.3]) {
    const path = join(dir, `cut-${kept}.db`);
    const q = PackageQueue.open({ path });
    // 12 kB images: each package spans overflow pages, as real JPEGs do.
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(12_000, 7)]);
    for (let i = 1; i <= 30; i++) {
      q.enqueue(makePackage('cam-cut', i, jpeg));
      if (i <= 20) q.deadLetter(q.peekOldest()!.seq, 'HTTP 401: missing or wrong bearer token', 401);
    }
    for (let i = 31; i <= 60; i++) q.enqueue(makePackage('cam-cut', i, jpeg));
    assert.deepEqual([q.depth, q.deadLetterCount()], [40, 20]);
    q.close();
    const size = statSync(path).size;
    truncateSync(path, Math.floor(size * kept));
    const cut = readFileSync(path);
    const logged: string[] = [];
    const q2 = PackageQueue.open({ path, log: (m) => logged.push(m) });
    assert.ok(q2.recovered);
    const dead = q2.deadLetterCount();
    // Before: SQLite called every read of the file malformed (its header counts the pages it had): 0 and 0 recovered.
    assert.ok(q2.depth + dead > 0, logged[0]);
    assert.ok(q2.depth < 40 || dead < 20, 'the cut lost some');
    assert.equal(q2.recovered.lost, 40 - q2.depth, 'what is not recovered is counted (the counters were readable)');
    // The dead letters that are not recovered are said (ids 1–20, none re-sent: 'of up to 20').
    if (kept === 0.3) assert.ok(dead > 0 && dead < 20, `${dead} dead letters recovered, one id at a time`);
    const deadText = dead < 20 ? `${dead} of up to 20 dead letter(s)` : '20 dead letter(s)';
    assert.equal(
      logged[0],
      `[ERR_QUEUE_CORRUPT] Queue database ${path} is corrupt (database disk image is malformed); set aside as ${q2.recovered.setAsidePath}, recovered ${q2.depth} package(s) and ${deadText} into a fresh queue, ${40 - q2.depth} lost`,
    );
    // Every recovered image is whole; the set-aside file is as it was found, and no copy is left beside it.
    const head = q2.peekOldest();
    if (head) assert.ok(head.pkg.jpeg.equals(jpeg));
    assert.ok(readFileSync(q2.recovered.setAsidePath).equals(cut));
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('salvage')), []);
    q2.close();
  }
});

test('random bytes over a whole queue file after a kill: open does not throw (set aside, fresh queue)', () => {
  const path = join(dir, 'garbage.db');
  enqueueAndDie(path, 5);
  const size = statSync(path).size;
  const fd = openSync(path, 'r+');
  const junk = Buffer.alloc(Math.max(size, 8192));
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 2654435761) >>> 24;
  writeSync(fd, junk, 0, junk.length, 0);
  closeSync(fd);
  const logged: string[] = [];
  const q = PackageQueue.open({ path, log: (m) => logged.push(m) });
  // Either SQLite still reads every page from the WAL, or the file is set aside and what is gone is counted or said unknown.
  if (q.recovered) {
    assert.equal(logged.length, 1);
    assert.ok(q.recovered.lost === null || q.depth + q.recovered.lost >= 5);
  } else assert.equal(q.depth, 5);
  q.enqueue(makePackage('cam-c', 99, Buffer.from([0xff, 0xd8, 1])));
  q.close();
});

test('a damaged b-tree page in the main file is found at open (quick_check), set aside and recovered', () => {
  const path = join(dir, 'page.db');
  const q = PackageQueue.open({ path });
  // 12 kB images: each package's image runs over overflow pages, which opening the queue does not read.
  const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.alloc(12000, 7)]);
  for (let i = 1; i <= 300; i++) q.enqueue(makePackage('cam-p', i, jpeg));
  q.close();
  // One page of 0xFF 50 pages in: only an integrity check reads it at open.
  const pageSize = 4096;
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(pageSize, 0xff), 0, pageSize, 50 * pageSize);
  closeSync(fd);
  const logged: string[] = [];
  const q2 = PackageQueue.open({ path, log: (m) => logged.push(m) });
  try {
    // Before: SQLite's single row '*** in database main ***\nTree … page …' was filtered out whole,
    // so the open passed and the damage was found (or not) later, mid-run.
    assert.ok(q2.recovered, `not detected: ${logged.join('; ')}`);
    assert.match(logged[0] ?? '', /^\[ERR_QUEUE_CORRUPT\] Queue database .* is corrupt \(quick_check: Tree \d+ page \d+ cell \d+: [^\n]+ \(\+\d+ more\)\); set aside as [^\n]+$/);
    assert.ok(q2.recovered.recovered > 250 && q2.recovered.recovered < 300, `recovered ${q2.recovered.recovered} of 300`);
    assert.equal(q2.recovered.recovered + (q2.recovered.lost ?? 0), 300, "every package recovered or counted lost");
  } finally {
    q2.close();
  }
});

/**
 * Give a packages leaf page a rowid out of order: its second cell takes the
 * leaf's last rowid, so the leaf reads [1, 4, 3, 4] — what pages of two
 * moments (a WAL replayed up to damage over a checkpointed file) can show.
 * A seek past 4 then lands on 3: a walk that follows it goes round between
 * 3 and 4, reading row 4 again and again.
 */
function rowidOutOfOrder(path: string): void {
  const db = new Database(path, { readonly: true });
  const root = (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'packages'").get() as { rootpage: number }).rootpage;
  db.close();
  const file = readFileSync(path);
  const pageSize = file.readUInt16BE(16);
  const at = (page: number) => (page - 1) * pageSize + (page === 1 ? 100 : 0);
  assert.equal(file[at(root)], 0x05, 'the packages table spans leaves under an interior root');
  // The root's first cell: the left child's page number.
  const leaf = file.readUInt32BE((root - 1) * pageSize + file.readUInt16BE(at(root) + 12));
  const cell = (i: number) => (leaf - 1) * pageSize + file.readUInt16BE(at(leaf) + 8 + 2 * i);
  const cells = file.readUInt16BE(at(leaf) + 3);
  assert.ok(cells >= 3, 'small rows, several on a leaf');
  // A cell: payload size (a varint: bytes with the high bit set, then one without), rowid (a one-byte varint below 128), record.
  const rowidAt = (c: number) => {
    let o = c;
    while (file[o]! & 0x80) o++;
    return o + 1;
  };
  file[rowidAt(cell(1))] = file[rowidAt(cell(cells - 1))]!;
  writeFileSync(path, file);
}

test('a b-tree page that gives a row twice (a rowid out of order): recovered once, never SQLITE_CONSTRAINT_PRIMARYKEY, counted, as the CLI shows it', () => {
  const path = join(dir, 'twice.db');
  const q = PackageQueue.open({ path });
  for (let i = 1; i <= 20; i++) q.enqueue(makePackage('cam-2x', i, Buffer.from([0xff, 0xd8, 1, 2])));
  q.close();
  // Package 10 also as a dead letter (pages of two moments: before and after it was dead-lettered).
  const raw = new Database(path);
  raw.exec("INSERT INTO dead_letters (seq, idempotency_key, enqueued_at_ms, dead_at_ms, bytes, attempts, status, reason, metadata, jpeg) SELECT seq, idempotency_key, enqueued_at_ms, 0, bytes, 1, 401, 'HTTP 401', metadata, jpeg FROM packages WHERE seq = 10");
  raw.close();
  rowidOutOfOrder(path);
  const bin = join(PROJECT_ROOT, 'bin', 'bestshot.js');
  const cli = (...args: string[]) => spawnSync(process.execPath, [bin, 'queue', ...args, '--path', path], { env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' }, encoding: 'utf8' });
  // The first writer to open the file recovers it. Before: 'bestshot queue: [SQLITE_CONSTRAINT_PRIMARYKEY] UNIQUE
  // constraint failed: packages.seq', exit 1 — with the file already set aside, so the next start found an empty queue
  // (depth 0, setAside=0): all 20 packages gone without a word.
  const resend = cli('resend-dead');
  assert.equal(resend.status, 0, resend.stderr);
  assert.match(
    resend.stderr,
    /^\[ERR_QUEUE_CORRUPT\] Queue database \S+ is corrupt \(quick_check: Tree \d+ page \d+ cell 1: Rowid 4 out of order\); set aside as \S+, recovered 17 package\(s\) and 1 dead letter\(s\) into a fresh queue \(1 row\(s\) its damaged pages gave twice kept once\), up to 2 lost\n$/,
  );
  // The dead letter (package 10) re-queued; rows 2 and 3 are behind the rowid out of order (a point lookup of 3 misses it).
  assert.equal(resend.stdout, 're-queued 1 dead letter(s); queue depth now 18\n');
  const inspect = cli('inspect', '--json');
  assert.equal(inspect.status, 0, inspect.stderr);
  const info = JSON.parse(inspect.stdout) as { depth: number; counters: { setAside: number; enqueued: number } };
  assert.equal(info.depth, 18);
  assert.equal(info.counters.setAside, 2, 'the 2 unreadable counted (metric bestshot_queue_lost_packages)');
  const q2 = PackageQueue.open({ path });
  const keys = q2.keys();
  assert.equal(new Set(keys).size, keys.length, 'no package twice');
  assert.ok(keys.includes('cam-2x:10') && keys.includes('cam-2x:20'));
  q2.close();
});

test('a damaged queue of 160k packages (more than a call takes arguments): recovered and logged, not a RangeError at start', () => {
  const path = join(dir, 'big.db');
  PackageQueue.open({ path }).close();
  // Written in one transaction (enqueue commits each package on its own: minutes for 160k).
  const N = 160_000;
  const raw = new Database(path);
  const ins = raw.prepare("INSERT INTO packages (idempotency_key, enqueued_at_ms, bytes, metadata, jpeg) VALUES (?, 0, 3, '{}', x'ffd801')");
  raw.transaction(() => {
    for (let i = 1; i <= N; i++) ins.run(`cam-big:${i}`);
  })();
  raw.exec(`UPDATE counters SET value = ${N} WHERE name = 'enqueued'`);
  raw.close();
  // Garbage over a page near the end of the file.
  const pages = statSync(path).size / 4096;
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 4096 * (pages - 3));
  closeSync(fd);
  const bin = join(PROJECT_ROOT, 'bin', 'bestshot.js');
  // Before: 'bestshot queue: Maximum call stack size exceeded', exit 1, and no recovery line.
  const resend = spawnSync(process.execPath, [bin, 'queue', 'resend-dead', '--path', path], { env: { ...process.env, BESTSHOT_FROM_SOURCE: '1' }, encoding: 'utf8' });
  assert.equal(resend.status, 0, resend.stderr);
  const m = /recovered (\d+) package\(s\) and 0 dead letter\(s\) into a fresh queue, (\d+) lost\n$/.exec(resend.stderr);
  assert.ok(m, resend.stderr);
  assert.ok(Number(m[1]) > N - 1000, `recovered ${m[1]}`);
  assert.equal(Number(m[1]) + Number(m[2]), N, 'every package recovered or counted lost');
  assert.equal(resend.stdout, `re-queued 0 dead letter(s); queue depth now ${m[1]}\n`);
});
