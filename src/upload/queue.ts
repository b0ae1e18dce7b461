/**
 * The durable cache queue (U2): a bounded, circular FIFO of packages in one
 * SQLite database in WAL mode (better-sqlite3).
 *
 * - Bounded by count and bytes (defaults 1000 packages / 512 MiB); when a new
 *   package does not fit, the OLDEST packages are dropped and counted in a
 *   persistent counter, in the same transaction as the insert.
 * - A package leaves only by `ack` (after a 2xx), `deadLetter` (permanent
 *   failure, kept with the reason) or as a counted drop: never silently.
 * - Statements are prepared once; every state change is one transaction, so
 *   the counters always agree with the rows (STYLE 10).
 * - Durability: `synchronous=FULL` by default. In WAL mode FULL fsyncs the WAL
 *   at every commit, so once `enqueue` returns the package survives kill -9
 *   AND power loss. NORMAL survives kill -9 but may lose the last commits on
 *   power loss — the acknowledged-loss U2 forbids; it is offered for SD cards
 *   where the write rate matters more (see docs/upload.md for both measured).
 * - The schema is versioned with `PRAGMA user_version` and migrated forward.
 * - Corruption is looked for at open (an empty file, WAL frames of the
 *   current generation after a checksum break, quick_check, preparing the
 *   statements, the first read) and at every operation. A corrupt file is
 *   set aside (renamed with a timestamp), reported as a QueueError with code
 *   ERR_QUEUE_CORRUPT, a fresh queue is started, the packages still readable
 *   in the old file are copied into it, and what could not be read is
 *   counted (counter `setAside`) and logged — never a silent loss. A file
 *   that is not a queue at all (refuseForeignFile) is refused, untouched.
 * - The database is opened with an exclusive lock: one process owns a queue.
 *   `readOnly` opens an existing queue to look at it (bestshot queue inspect,
 *   export) without changing it, a corrupt one included.
 */
import { accessSync, chmodSync, closeSync, constants, copyFileSync, existsSync, ftruncateSync, openSync, readSync, renameSync, rmSync, statfsSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { QueueError, invalidParameterError, optionalNumber } from '../errors.js';
import { describeHolder, lockHolder, realLocation } from '../process-lock.js';
import type { PackageMetadata, UploadPackage } from './package.js';

export type SynchronousMode = 'FULL' | 'NORMAL';

export interface QueueOptions {
  /** Database file. Its directory must exist. */
  path: string;
  /** Most packages kept. Default 1000 (SPEC). Higher rides out longer outages at the price of older images arriving late. */
  maxPackages?: number;
  /** Most bytes kept (metadata + JPEG). Default 512 MiB (SPEC). Size it to the storage you can spare; the oldest go first. */
  maxBytes?: number;
  /**
   * SQLite `synchronous` in WAL mode. Default 'FULL': an acknowledged package
   * survives power loss (U2). 'NORMAL' skips the fsync per commit (faster on
   * slow flash) and survives a process crash, but not power loss.
   */
  synchronous?: SynchronousMode;
  /**
   * Integrity check when opening. Default 'quick' (PRAGMA quick_check, a few
   * ms per 100 MB); 'none' opens faster but finds corruption only when a read
   * hits it.
   */
  checkOnOpen?: 'quick' | 'none';
  /**
   * Bytes kept free beside the queue file (`<path>.reserve`) for acks: when
   * the disk fills, the reserve is released so an ack can still commit (an
   * ack that cannot commit would re-send the package), and it is taken back
   * once writes succeed again. Default 1 MiB; 0 keeps none.
   */
  ackReserveBytes?: number;
  /** Where the corrupt-file report goes. Default console.error. */
  log?: (message: string) => void;
  /**
   * Open an existing queue to read it only (`bestshot queue inspect` and
   * `export`). Default false. Nothing is created, migrated, written or set
   * aside: no reserve, no checkpoint, and the -wal/-shm files SQLite makes
   * for a read-only reader are removed at close. A corrupt file is reported
   * as an ERR_QUEUE_CORRUPT error and left as it is, for the service to
   * set aside and recover at its next start; writing methods fail.
   */
  readOnly?: boolean;
}

export interface QueuedPackage {
  seq: number;
  idempotencyKey: string;
  pkg: UploadPackage;
  /** Stored size: metadata + JPEG. */
  bytes: number;
  /** Failed tries so far (persisted). */
  attempts: number;
  enqueuedAtMs: number;
}

export interface DeadLetter {
  /** Its queue sequence number; null for an immediate package that never was queued. */
  seq: number | null;
  idempotencyKey: string;
  reason: string;
  status: number | null;
  attempts: number;
  deadAtMs: number;
  bytes: number;
}

/** Persistent counters, kept in the same transactions as the rows. */
export interface QueueCounters {
  enqueued: number;
  delivered: number;
  dropped: number;
  droppedBytes: number;
  deadLettered: number;
  /** Queued packages withdrawn or overwritten by a better image of the same objects (replace-queued policy). */
  replaced: number;
  /**
   * Packages that were queued in a file found corrupt while running and set
   * aside (they stay in the renamed file, not delivered). Counted in the
   * fresh queue so they are not silently gone.
   */
  setAside: number;
}

export interface EnqueueResult {
  seq: number;
  /** Packages dropped (oldest first) to make room, already counted. */
  dropped: Array<{ seq: number; idempotencyKey: string; bytes: number }>;
}

/** What happened when the file opened was corrupt. */
export interface QueueRecovery {
  error: QueueError;
  setAsidePath: string;
  /** Packages read from the set-aside file into the fresh queue. */
  recovered: number;
  /** Packages that could not be read (counted in `setAside`); null when the file gave no way to count them. */
  lost: number | null;
  /**
   * True when `lost` is an upper bound: WAL frame headers were unreadable (some of the counted frames may not have been
   * commits), or the damaged pages gave rows twice (the file's own count may include the second copies).
   */
  lostIsUpperBound: boolean;
}

/**
 * WAL damage SQLite would pass over silently: it stops replaying at the
 * first frame whose checksum fails, or whose salts are not the header's, so
 * commits after it vanish. A frame header is read as one of three kinds:
 * current (the header's salts), stale (an earlier generation: its salt-1 a
 * little below the header's, as SQLite increments salt-1 at each WAL reset;
 * only such frames may follow the current ones, and they end the scan), or
 * damaged (anything else: its commit flag cannot be trusted). After the
 * first bad frame every current commit frame is a lost commit, and every
 * damaged header may have been one, so the count is an upper bound when
 * headers were damaged (`exact: false`). Returns null when the WAL is intact.
 * A WAL whose header itself is garbage loses every frame (lostCommits -1:
 * unknown).
 */
export function walDamage(walPath: string): { reason: string; lostCommits: number; exact: boolean } | null {
  let fd: number;
  try {
    fd = openSync(walPath, 'r');
  } catch {
    return null;
  }
  try {
    const size = statSync(walPath).size;
    if (size === 0) return null;
    const hdr = Buffer.alloc(32);
    if (readSync(fd, hdr, 0, 32, 0) < 32) return { reason: 'WAL header truncated', lostCommits: 0, exact: true };
    const magic = hdr.readUInt32BE(0);
    if (magic !== 0x377f0682 && magic !== 0x377f0683) {
      // Count commit-looking frames is impossible without a header: report the damage, count unknown.
      return { reason: 'WAL header is not a WAL header', lostCommits: -1, exact: false };
    }
    const bigEndian = (magic & 1) === 1;
    const pageSize = hdr.readUInt32BE(8) === 1 ? 65536 : hdr.readUInt32BE(8);
    if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) return { reason: 'WAL header has an invalid page size', lostCommits: -1, exact: false };
    const salt1 = hdr.readUInt32BE(16);
    const salt2 = hdr.readUInt32BE(20);
    const sum = (buf: Buffer, s: [number, number]): [number, number] => {
      let [s0, s1] = s;
      for (let i = 0; i + 8 <= buf.length; i += 8) {
        const a = bigEndian ? buf.readUInt32BE(i) : buf.readUInt32LE(i);
        const b = bigEndian ? buf.readUInt32BE(i + 4) : buf.readUInt32LE(i + 4);
        s0 = (s0 + a + s1) >>> 0;
        s1 = (s1 + b + s0) >>> 0;
      }
      return [s0, s1];
    };
    let chk = sum(hdr.subarray(0, 24), [0, 0]);
    if (chk[0] !== hdr.readUInt32BE(24) || chk[1] !== hdr.readUInt32BE(28)) return { reason: 'WAL header checksum fails', lostCommits: -1, exact: false };
    const frame = Buffer.alloc(24 + pageSize);
    /** An earlier generation's frame: salt-1 at most 2^20 resets behind (mod 2^32) and a sane page number. */
    const isStale = (): boolean => {
      const behind = (salt1 - frame.readUInt32BE(8)) >>> 0;
      return behind >= 1 && behind <= 1 << 20 && frame.readUInt32BE(0) >= 1;
    };
    let broken = false;
    let lost = 0;
    let damagedHeaders = 0;
    for (let off = 32; off + frame.length <= size; off += frame.length) {
      readSync(fd, frame, 0, frame.length, off);
      const current = frame.readUInt32BE(8) === salt1 && frame.readUInt32BE(12) === salt2;
      if (!current && isStale()) break; // the rest is an earlier generation: normal
      if (!current) {
        broken = true;
        damagedHeaders++;
        continue;
      }
      if (!broken) {
        const next = sum(frame.subarray(24), sum(frame.subarray(0, 8), chk));
        if (next[0] !== frame.readUInt32BE(16) || next[1] !== frame.readUInt32BE(20)) broken = true;
        else chk = next;
      }
      if (broken && frame.readUInt32BE(4) !== 0) lost++;
    }
    if (!broken || lost + damagedHeaders === 0) return null;
    const exact = damagedHeaders === 0;
    const reason = exact
      ? `WAL checksum fails; ${lost} later commit(s) would be skipped`
      : `WAL frames damaged; up to ${lost + damagedHeaders} later commit(s) would be skipped (${damagedHeaders} frame header(s) unreadable)`;
    return { reason, lostCommits: lost + damagedHeaders, exact };
  } finally {
    closeSync(fd);
  }
}

const COUNTER_NAMES = ['enqueued', 'delivered', 'dropped', 'droppedBytes', 'deadLettered', 'setAside', 'replaced'] as const;

/** Schema migrations; index i migrates user_version i → i+1. */
const MIGRATIONS: string[] = [
  `CREATE TABLE packages (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     idempotency_key TEXT NOT NULL,
     enqueued_at_ms INTEGER NOT NULL,
     bytes INTEGER NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     last_error TEXT,
     -- the large columns last: reading bytes/attempts never walks a JPEG's overflow pages
     metadata TEXT NOT NULL,
     jpeg BLOB NOT NULL
   );
   CREATE TABLE dead_letters (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     seq INTEGER,
     idempotency_key TEXT NOT NULL,
     enqueued_at_ms INTEGER NOT NULL,
     dead_at_ms INTEGER NOT NULL,
     bytes INTEGER NOT NULL,
     attempts INTEGER NOT NULL,
     status INTEGER,
     reason TEXT NOT NULL,
     metadata TEXT NOT NULL,
     jpeg BLOB NOT NULL
   );
   CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
   ${COUNTER_NAMES.map((n) => `INSERT OR IGNORE INTO counters VALUES ('${n}', 0);`).join('\n')}`,
  // v2: the 'replaced' counter (replace-queued policy).
  `INSERT OR IGNORE INTO counters VALUES ('replaced', 0);`,
];
export const QUEUE_SCHEMA_VERSION = MIGRATIONS.length;

/** The lock file of the process that owns a queue (runtime/run-lock.ts takes it; an open here respects it), beside the file's real location. */
export function queueLockPath(queuePath: string): string {
  return `${realLocation(queuePath)}.lock`;
}

function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  // A short read is a file shorter than its pages say (cut while running): damaged, not a passing I/O error.
  return typeof code === 'string' && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_IOERR_SHORT_READ');
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * A file at the queue path that is not a queue is never set aside: a
 * mistyped `queue.path` (the config file itself, some other file) would
 * otherwise be renamed and replaced by a fresh database. A file counts as a
 * queue, damaged or not, when it starts with SQLite's header or when the
 * files a queue leaves beside it are there (its -wal or -shm, or the ack
 * reserve); anything else is refused, untouched.
 */
function refuseForeignFile(path: string): void {
  if (!existsSync(path) || !statSync(path).isFile() || statSync(path).size === 0) return;
  if (['-wal', '-shm', '.reserve'].some((suffix) => existsSync(path + suffix))) return;
  const head = Buffer.alloc(SQLITE_HEADER.length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (head.equals(SQLITE_HEADER)) return;
  throw new QueueError(
    `Queue path ${path} holds a file that is not a queue database (no SQLite header, and no -wal, -shm or .reserve file beside it); it was left untouched: set queue.path to a new file, or move that file away if it is a damaged queue`,
    'ERR_QUEUE',
  );
}

/**
 * An SQLite database at the queue path that is not a queue (another program's,
 * the receiver's index, a mistyped path) is refused before anything is
 * written: opened as a queue it got the queue's tables beside its own, mode
 * 0600, WAL mode and a .reserve file. A queue has its tables (`packages` with
 * its `idempotency_key`, `dead_letters`, `counters`) from the first migration
 * on, and no others; a database with no table at all is a new one.
 */
const QUEUE_TABLES: readonly string[] = ['packages', 'dead_letters', 'counters'];

/**
 * A database file cut short inside a page (a copy that stopped, a disk that
 * filled while the file grew): quick_check passed it and the queue read
 * 'healthy'; the run then failed on the last page's rows with
 * SQLITE_IOERR_SHORT_READ ('disk I/O error') hundreds of times a second, and
 * the next start sent a package with damaged bytes. SQLite writes whole
 * pages, and its header says how many there are (valid when its
 * version-valid-for equals the change counter). Only read without a -wal
 * beside it: a checkpoint cut off by a crash may leave the file behind its
 * header, and the WAL then has the rest.
 */
function cutShort(path: string): string | undefined {
  const wal = `${path}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0) return undefined;
  const size = statSync(path).size;
  if (size < 100) return undefined;
  const header = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) return undefined; // not a header SQLite wrote: its own checks say so
  if (size % pageSize !== 0) return `file cut short: ${size} bytes is not a whole number of ${pageSize}-byte pages`;
  const pages = header.readUInt32BE(28);
  const headerValid = header.readUInt32BE(92) === header.readUInt32BE(24);
  if (headerValid && pages > size / pageSize) return `file cut short: its header counts ${pages} pages, the file holds ${size / pageSize}`;
  return undefined;
}

function refuseForeignDatabase(db: Database.Database, path: string): void {
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
  if (tables.length === 0) return;
  // A 'packages' table is not enough: the receiver's index.sqlite has one too (opened as a queue it
  // failed with "no such column: idempotency_key", and resend-dead with "table packages already exists").
  const queueColumns = (): boolean =>
    (db.prepare("SELECT name FROM pragma_table_info('packages')").all() as Array<{ name: string }>).some((c) => c.name === 'idempotency_key');
  if (tables.every((t) => QUEUE_TABLES.includes(t)) && tables.includes('packages') && queueColumns()) return;
  const listed = tables.length > 5 ? `${tables.slice(0, 5).join(', ')}, … (${tables.length})` : tables.join(', ');
  throw new QueueError(
    `Queue path ${path} holds an SQLite database that is not a queue (its tables: ${listed}); it was left untouched: set queue.path to a new file`,
    'ERR_QUEUE',
  );
}

function timestampForFile(d = new Date()): string {
  return d.toISOString().replace(/[:.]/g, '-');
}

type DeadRow = Row & { id: number; dead_at_ms: number; status: number | null; reason: string };

type Salvage = {
  packages: Row[];
  dead: DeadRow[];
  /** Packages the file says it held; null when it cannot say. */
  expected: number | null;
  /** Dead letters in the file that could not be read; null when the file cannot say. */
  deadLost: number | null;
  /** `deadLost` counts ids whose read failed, some of which may have been re-sent (their rows deleted). */
  deadLostIsUpperBound: boolean;
  maxSeq: number;
  /** Rows read more than once (kept once), the packages in `alsoDead` among them. */
  duplicates: number;
  /** Dead letters among `duplicates`. */
  deadDuplicates: number;
  /** Steps where the packages' b-tree gave a seq not above the last (pages out of order: its COUNT(*) may count rows twice). */
  outOfOrder: number;
  /** Packages also found as dead letters (kept as dead letters). */
  alsoDead: number;
};

/** A row as the queue's tables require it (NOT NULL, the types written): a damaged record may read back with NULLs or other types. */
function wholeRow(r: Row | undefined): r is Row {
  return (
    r !== undefined &&
    Number.isSafeInteger(r.seq) &&
    typeof r.idempotency_key === 'string' &&
    typeof r.enqueued_at_ms === 'number' &&
    typeof r.metadata === 'string' &&
    Buffer.isBuffer(r.jpeg) &&
    typeof r.bytes === 'number' &&
    typeof r.attempts === 'number'
  );
}

function wholeDeadRow(r: DeadRow | undefined): r is DeadRow {
  return (
    r !== undefined &&
    Number.isSafeInteger(r.id) &&
    (r.seq === null || Number.isSafeInteger(r.seq)) &&
    typeof r.idempotency_key === 'string' &&
    typeof r.enqueued_at_ms === 'number' &&
    typeof r.dead_at_ms === 'number' &&
    typeof r.metadata === 'string' &&
    Buffer.isBuffer(r.jpeg) &&
    typeof r.bytes === 'number' &&
    typeof r.attempts === 'number' &&
    (r.status === null || typeof r.status === 'number') &&
    typeof r.reason === 'string'
  );
}

/**
 * Read what is still readable from a set-aside queue file: each package row
 * on its own (a damaged page loses its rows, not the rest), the dead
 * letters, and how many packages the file says it held (COUNT(*), or
 * failing that the counters; null when neither can be read).
 *
 * A damaged b-tree can give the same row twice: a page out of order sends
 * the walk's "next seq" back to a seq it has read (it then went round
 * between the two until its guard, re-reading the same rows, and the fresh
 * queue refused the second copy: SQLITE_CONSTRAINT_PRIMARYKEY, and the next
 * start found an empty queue, every package of the set-aside file lost
 * without a count); a scan can meet a row twice. Each package and dead
 * letter is kept once (by seq, by id); `duplicates` counts the copies
 * passed over. A package whose seq is also a dead letter's (pages of two
 * moments: it was dead-lettered) is kept as the dead letter only.
 */
export function salvageQueueFile(path: string): Salvage {
  const copy = pagesReadableCopy(path);
  try {
    return salvageFrom(copy ?? path);
  } finally {
    if (copy !== undefined) for (const f of [copy, `${copy}-wal`, `${copy}-shm`]) rmSync(f, { force: true });
  }
}

/**
 * A file cut short (a copy or a file system that lost its tail) still says in
 * its header how many pages it had: SQLite then calls every read of it
 * malformed, so nothing was recovered (a 512 MB queue cut to 200 MB: 0
 * packages, 0 dead letters). A copy whose header counts the pages that are
 * there reads the rows on those pages. Undefined when the file is not cut
 * short (or the copy cannot be made: the file is read as it is).
 */
function pagesReadableCopy(path: string): string | undefined {
  let copy: string | undefined;
  try {
    const size = statSync(path).size;
    const header = Buffer.alloc(100);
    const fd = openSync(path, 'r');
    try {
      if (readSync(fd, header, 0, 100, 0) < 100 || header.subarray(0, 16).toString('latin1') !== 'SQLite format 3\0') return undefined;
    } finally {
      closeSync(fd);
    }
    const raw = header.readUInt16BE(16);
    const pageSize = raw === 1 ? 65536 : raw;
    const pages = Math.floor(size / pageSize);
    if (pageSize < 512 || pages < 1 || header.readUInt32BE(28) * pageSize <= size) return undefined;
    copy = `${path}.salvage-${process.pid}`;
    copyFileSync(path, copy);
    if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`);
    const count = Buffer.alloc(4);
    count.writeUInt32BE(pages);
    const out = openSync(copy, 'r+');
    try {
      writeSync(out, count, 0, 4, 28);
      ftruncateSync(out, pages * pageSize);
    } finally {
      closeSync(out);
    }
    return copy;
  } catch {
    // A copy that could not be made whole (a full disk) is not left beside the set-aside file.
    if (copy !== undefined) for (const f of [copy, `${copy}-wal`]) rmSync(f, { force: true });
    return undefined;
  }
}

function salvageFrom(path: string): Salvage {
  const out: Salvage = { packages: [], dead: [], expected: null, deadLost: null, deadLostIsUpperBound: false, maxSeq: 0, duplicates: 0, deadDuplicates: 0, outOfOrder: 0, alsoDead: 0 };
  let db: Database.Database;
  try {
    if (!existsSync(path) || statSync(path).size === 0) return out;
    db = new Database(path, { fileMustExist: true });
  } catch {
    return out;
  }
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch {
      return undefined;
    }
  };
  try {
    out.maxSeq = attempt(() => (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'packages'").get() as { seq: number } | undefined)?.seq) ?? 0;
    out.expected = attempt(() => (db.prepare('SELECT COUNT(*) AS n FROM packages').get() as { n: number }).n) ?? null;
    if (out.expected === null) {
      // A readable schema without the queue's table: nothing was ever committed past the
      // damage (every commit sat in the WAL), so the WAL's lost commits are the whole count.
      const tables = attempt(() => (db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'packages'").get() as { n: number }).n);
      if (tables === 0) out.expected = 0;
    }
    if (out.expected === null) {
      const c = attempt(() => Object.fromEntries((db.prepare('SELECT name, value FROM counters').all() as Array<{ name: string; value: number }>).map((r) => [r.name, r.value])));
      if (c) out.expected = Math.max(0, (c.enqueued ?? 0) - (c.delivered ?? 0) - (c.dropped ?? 0) - (c.replaced ?? 0) - (c.deadLettered ?? 0));
    }
    // Walk the seqs one row at a time, stepping past any that cannot be read.
    const next = attempt(() => db.prepare<[number], { seq: number }>('SELECT seq FROM packages WHERE seq > ? ORDER BY seq LIMIT 1'));
    const one = attempt(() => db.prepare<[number], Row>('SELECT seq, idempotency_key, enqueued_at_ms, metadata, jpeg, bytes, attempts FROM packages WHERE seq = ?'));
    if (next && one) {
      let at = 0;
      const top = Math.max(out.maxSeq, out.expected ?? 0);
      for (let guard = 0; guard < 1_000_000; guard++) {
        const n = attempt(() => next.get(at));
        // `at` only moves up: a next seq not above it is a page out of order, read as an unreadable step.
        if (n !== undefined && !(n.seq > at)) out.outOfOrder++;
        if (n === undefined || !(n.seq > at)) {
          // An unreadable index step: try the seqs one by one up to the last one assigned.
          if (at >= top) break;
          at++;
        } else at = n.seq;
        const row = attempt(() => one.get(at));
        if (wholeRow(row) && row.seq === at) out.packages.push(row);
      }
    }
    const deadColumns = 'id, seq, idempotency_key, enqueued_at_ms, dead_at_ms, metadata, jpeg, bytes, attempts, status, reason';
    const allDead = attempt(() => db.prepare(`SELECT ${deadColumns} FROM dead_letters ORDER BY id`).all() as DeadRow[]);
    const deadIds = new Set<number>();
    const keep = (d: DeadRow | undefined): boolean => {
      if (!wholeDeadRow(d)) return false;
      if (deadIds.has(d.id)) out.deadDuplicates++;
      else {
        deadIds.add(d.id);
        out.dead.push(d);
      }
      return true;
    };
    if (allDead !== undefined) {
      for (const d of allDead) keep(d);
      const count = attempt(() => (db.prepare('SELECT COUNT(*) AS n FROM dead_letters').get() as { n: number }).n);
      if (count !== undefined) out.deadLost = Math.max(0, count - out.dead.length - out.deadDuplicates);
    } else {
      // A damaged page lost all of them at once: read them one id at a time, as the packages, up to the last id assigned.
      // An id whose read fails may have been a dead letter (or one re-sent, its row deleted): counted as at most lost.
      // No row in sqlite_sequence: no dead letter was ever written (0); an unreadable one: how many is unknown.
      const lastId = attempt(() => (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'dead_letters'").get() as { seq: number } | undefined)?.seq ?? 0);
      const oneDead = attempt(() => db.prepare<[number], DeadRow>(`SELECT ${deadColumns} FROM dead_letters WHERE id = ?`));
      if (lastId !== undefined && oneDead) {
        let unreadable = 0;
        let broken = 0;
        for (let id = 1; id <= Math.min(lastId, 1_000_000); id++) {
          let row: DeadRow | undefined;
          try {
            row = oneDead.get(id);
          } catch {
            unreadable++;
            continue;
          }
          if (row !== undefined && !keep(row)) broken++;
        }
        out.deadLost = unreadable + broken;
        out.deadLostIsUpperBound = unreadable > 0;
      }
    }
    const deadSeqs = new Set(out.dead.map((d) => d.seq));
    const before = out.packages.length;
    out.packages = out.packages.filter((p) => !deadSeqs.has(p.seq));
    out.alsoDead = before - out.packages.length;
    out.duplicates = out.deadDuplicates + out.alsoDead;
  } finally {
    attempt(() => db.close());
  }
  return out;
}

type Row = { seq: number; idempotency_key: string; enqueued_at_ms: number; metadata: string; jpeg: Buffer; bytes: number; attempts: number };

/** The first of `paths` that exists and this process may not write; undefined when none. */
function firstUnwritable(paths: string[]): string | undefined {
  for (const p of paths) {
    if (!existsSync(p)) continue;
    try {
      accessSync(p, constants.W_OK);
    } catch {
      return p;
    }
  }
  return undefined;
}

/** Clears the group and other bits of a file this user owns (no-op when absent, not ours or already private). */
function makePrivate(path: string): void {
  try {
    const st = statSync(path);
    if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) chmodSync(path, st.mode & 0o700);
  } catch {
    // absent, or a file system without modes: nothing to tighten
  }
}

export class PackageQueue {
  readonly path: string;
  readonly maxPackages: number;
  readonly maxBytes: number;
  readonly synchronous: SynchronousMode;
  #recovered: QueueRecovery | null = null;
  #readOnly: boolean;
  /** Read-only: the -wal/-shm files that were not there before the open (SQLite makes them for a reader). */
  #madeByReader: string[] = [];
  #log: (message: string) => void;
  #db!: Database.Database;
  #depth = 0;
  #bytes = 0;
  #closed = false;
  #pinned = -1;
  #lastSeq = 0;
  #reserveBytes = 0;
  #stmt!: ReturnType<PackageQueue['prepare']>;
  #enqueueTx!: (key: string, now: number, metadata: string, jpeg: Buffer, bytes: number) => EnqueueResult;
  #ackTx!: (seq: number) => number;
  #deadTx!: (seq: number, now: number, status: number | null, reason: string) => number;
  #deadDirectTx!: (key: string, now: number, metadata: string, jpeg: Buffer, bytes: number, attempts: number, status: number | null, reason: string) => void;

  private constructor(options: QueueOptions) {
    if (typeof options?.path !== 'string' || options.path.length === 0) throw invalidParameterError('non-empty string', 'path', options?.path);
    this.path = options.path;
    this.maxPackages = optionalNumber('positive integer', 'maxPackages', options.maxPackages, 1000);
    this.maxBytes = optionalNumber('positive integer', 'maxBytes', options.maxBytes, 512 * 1024 * 1024);
    const sync = options.synchronous ?? 'FULL';
    if (sync !== 'FULL' && sync !== 'NORMAL') throw invalidParameterError("one of 'FULL', 'NORMAL'", 'synchronous', sync);
    this.synchronous = sync;
    const check = options.checkOnOpen ?? 'quick';
    if (check !== 'quick' && check !== 'none') throw invalidParameterError("one of 'quick', 'none'", 'checkOnOpen', check);
    const log = options.log ?? ((m: string) => console.error(m));

    this.#log = log;
    this.#readOnly = options.readOnly ?? false;
    if (this.#readOnly) {
      if (!existsSync(this.path)) throw new QueueError(`No queue database at ${this.path}`, 'ERR_QUEUE');
      this.#madeByReader = ['-wal', '-shm'].map((suffix) => this.path + suffix).filter((f) => !existsSync(f));
    }
    this.#reserveBytes = options.ackReserveBytes ?? 1024 * 1024;
    if (!Number.isInteger(this.#reserveBytes) || this.#reserveBytes < 0) throw invalidParameterError('non-negative integer', 'ackReserveBytes', options.ackReserveBytes);
    let walLost = 0;
    let walExact = true;
    try {
      const damage = walDamage(`${this.path}-wal`);
      if (damage) {
        walLost = damage.lostCommits;
        walExact = damage.exact;
        throw Object.assign(new Error(damage.reason), { code: 'SQLITE_CORRUPT_WAL' });
      }
      // A queue file that exists but is empty lost everything it held (SQLite would take it for a new database).
      if (existsSync(this.path) && statSync(this.path).size === 0 && !existsSync(`${this.path}-wal`)) {
        throw Object.assign(new Error('the file is empty'), { code: 'SQLITE_NOTADB' });
      }
      refuseForeignFile(this.path);
      this.#db = this.#openDb(check);
      // Corruption may surface only when statements are prepared or a row is first read.
      this.#prepareAll();
      this.#stmt.oldest.get();
    } catch (err) {
      if (this.#readOnly) {
        try {
          this.#db?.close();
        } catch {
          // a corrupt handle may fail to close
        }
        this.#removeReaderFiles();
        if (isCorruption(err)) throw this.#corruptReadOnly(err);
      }
      if (!isCorruption(err)) {
        if (err instanceof QueueError) throw err;
        const code = (err as { code?: unknown }).code;
        // A queue file this user cannot write fails as SQLITE_IOERR_LOCK (taking the WAL lock), which
        // reads like a failing disk: say which file is not writable.
        const unwritable = typeof code === 'string' && code.startsWith('SQLITE_IOERR') ? firstUnwritable([this.path, `${this.path}-wal`, `${this.path}-shm`]) : undefined;
        const hint =
          code === 'SQLITE_BUSY'
            ? ' (another process holds it open: the queue of another bestshot process, or another program\'s database)'
            : unwritable !== undefined
              ? `: ${unwritable} is not writable by this user (uid ${process.getuid?.() ?? '?'}): fix its owner or mode, or run as the user that owns the queue`
              : code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM'
                ? `: check that ${dirname(this.path)} exists, is writable by this user and is on a file system mounted read-write, or set queue.path elsewhere`
                : '';
        throw new QueueError(`Cannot open queue database ${this.path}: ${(err as Error).message}${hint}`, 'ERR_QUEUE', { cause: err });
      }
      try {
        this.#db?.close();
      } catch {
        // a corrupt handle may fail to close; the file is renamed regardless
      }
      // Another live process holds this queue's lock (runtime/run-lock.ts): the file is its own — an empty
      // one it has just created, a WAL it is writing — and setting it aside would take its packages.
      const holder = lockHolder(queueLockPath(this.path));
      if (holder !== undefined && holder.pid !== process.pid) {
        throw new QueueError(
          `Queue database ${this.path} looks damaged (${(err as Error).message}) but ${describeHolder(holder)} holds its lock ${queueLockPath(this.path)}: it is that process's queue; left untouched`,
          'ERR_QUEUE',
          { cause: err },
        );
      }
      this.#recovered = this.#recoverInto(err, walLost < 0 ? null : walLost, 0, undefined, !walExact);
    }
    this.#takeReserve();
  }

  /**
   * Write the ack reserve file when it is missing; a full disk just leaves it
   * missing for now. It is taken back only when the disk has room for it
   * twice over, so that taking it does not itself fill the disk again (which
   * would refuse the next packages right after space returned).
   */
  #takeReserve(): void {
    if (this.#readOnly || this.#reserveBytes === 0 || existsSync(`${this.path}.reserve`)) return;
    try {
      const fs = statfsSync(dirname(this.path));
      if (fs.bavail * fs.bsize < 2 * this.#reserveBytes) return;
    } catch {
      // no statfs (unusual file system): try the write
    }
    try {
      writeFileSync(`${this.path}.reserve`, Buffer.alloc(this.#reserveBytes));
    } catch {
      try {
        unlinkSync(`${this.path}.reserve`);
      } catch {
        // nothing written
      }
    }
  }

  /** Free the reserve so the next write (an ack) finds room. True when there was one. */
  #releaseReserve(): boolean {
    try {
      unlinkSync(`${this.path}.reserve`);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Set the corrupt file aside, start a fresh queue, copy what is still
   * readable from the old file into it (oldest first), and count and log the
   * rest. `extraLost`: packages known lost beyond the unreadable rows (WAL
   * commits past a checksum break; null when unknown). `lastSeq`: sequence
   * numbers of the fresh queue continue above it.
   */
  #recoverInto(err: unknown, extraLost: number | null, lastSeq: number, knownDepth?: number, upperBound = false): QueueRecovery {
    const { setAsidePath } = this.#setAside(err, false);
    this.#db = this.#openDb('none');
    this.#prepareAll();
    const salvage = salvageQueueFile(setAsidePath);
    const s = this.#stmt;
    const seqFloor = Math.max(lastSeq, salvage.maxSeq);
    // OR IGNORE: a row the fresh queue refuses (a second copy of a seq) must not throw away the whole
    // recovery — the transaction rolled back, the file already set aside, and the next start found an
    // empty queue. What was not inserted is not counted as recovered.
    let recovered = 0;
    let recoveredDead = 0;
    this.#db.transaction(() => {
      if (seqFloor > 0) this.#db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('packages', ?)").run(seqFloor);
      for (const r of salvage.packages) recovered += s.insertRecovered.run(r.seq, r.idempotency_key, r.enqueued_at_ms, r.metadata, r.jpeg, r.bytes, r.attempts).changes;
      for (const d of salvage.dead)
        recoveredDead += s.insertDeadRecovered.run(d.seq, d.idempotency_key, d.enqueued_at_ms, d.dead_at_ms, d.metadata, d.jpeg, d.bytes, d.attempts, d.status, d.reason).changes;
      if (recovered > 0) s.bump.run(recovered, 'enqueued');
      if (recoveredDead > 0) s.bump.run(recoveredDead, 'deadLettered');
    })();
    const duplicates = salvage.duplicates + (salvage.packages.length - recovered) + (salvage.dead.length - recoveredDead);
    const expected = knownDepth ?? salvage.expected;
    let lost: number | null = expected === null ? null : Math.max(0, expected - recovered - salvage.alsoDead);
    if (lost !== null) lost = extraLost === null ? null : lost + extraLost;
    if (lost !== null && lost > 0) s.bump.run(lost, 'setAside');
    // The file's own count may include the copies a damaged b-tree holds twice (rows read twice, pages out of order):
    // then what it says is lost is at most that.
    const bound = (upperBound || duplicates > 0 || salvage.outOfOrder > 0) && lost !== null && lost > 0;
    const totals = s.totals.get()!;
    this.#depth = totals.n;
    this.#bytes = totals.b;
    // A loop, not Math.max(...seqs): a queue of more than ~120k packages is more than a call takes arguments
    // (RangeError after the recovery had committed, so the start failed and the line was never logged).
    let top = seqFloor;
    for (const p of salvage.packages) if (p.seq > top) top = p.seq;
    this.#lastSeq = top;
    const lostText = lost === null ? 'an unknown number lost' : bound ? `up to ${lost} lost` : `${lost} lost`;
    const twice = duplicates > 0 ? ` (${duplicates} row(s) its damaged pages gave twice kept once)` : '';
    // Dead letters are not in `lost` (queued packages, the setAside counter): what could not be read of them is said here.
    const deadLost = salvage.deadLost === null ? null : salvage.deadLost + (salvage.dead.length - recoveredDead);
    // (When nothing can be counted, 'an unknown number lost' already says it.)
    const deadText =
      deadLost === null && lost !== null
        ? `${recoveredDead} dead letter(s) (any others unreadable, how many unknown)`
        : deadLost !== null && deadLost > 0
          ? `${recoveredDead} of ${salvage.deadLostIsUpperBound ? 'up to ' : ''}${recoveredDead + deadLost} dead letter(s)`
          : `${recoveredDead} dead letter(s)`;
    const error = new QueueError(
      `Queue database ${this.path} is corrupt (${(err as Error).message}); set aside as ${setAsidePath}, recovered ${recovered} package(s) and ${deadText} into a fresh queue${twice}, ${lostText}`,
      'ERR_QUEUE_CORRUPT',
      { cause: err },
    );
    this.#log(`[${error.code}] ${error.message}`);
    return { error, setAsidePath, recovered, lost, lostIsUpperBound: bound };
  }

  /** Read-only: corruption is said, not repaired (the queue is left as it is). */
  #corruptReadOnly(err: unknown): QueueError {
    return new QueueError(
      `Queue database ${this.path} is corrupt (${(err as Error).message}); it was left as it is: 'bestshot run' sets it aside and recovers what is still readable at its next start`,
      'ERR_QUEUE_CORRUPT',
      { cause: err },
    );
  }

  /** Read-only: remove the -wal (when still empty) and -shm a read-only reader made, so reading leaves no file behind. */
  #removeReaderFiles(): void {
    for (const f of this.#madeByReader) {
      try {
        if (f.endsWith('-shm') || statSync(f).size === 0) unlinkSync(f);
      } catch {
        // not made after all
      }
    }
  }

  /** Set when a corrupt file was found (at open, or by a later operation) and set aside; the latest such event. */
  get recovered(): QueueRecovery | null {
    return this.#recovered;
  }

  /** Rename the corrupt file (and its -wal/-shm) with a timestamp. */
  #setAside(err: unknown, report = true): { error: QueueError; setAsidePath: string } {
    const setAsidePath = `${this.path}.corrupt-${timestampForFile()}`;
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(this.path + suffix)) renameSync(this.path + suffix, setAsidePath + suffix);
    }
    const error = new QueueError(
      `Queue database ${this.path} is corrupt (${(err as Error).message}); set aside as ${setAsidePath}, starting a fresh queue`,
      'ERR_QUEUE_CORRUPT',
      { cause: err },
    );
    if (report) this.#log(`[${error.code}] ${error.message}`);
    return { error, setAsidePath };
  }

  /** Corruption found while running: set the file aside, continue on a fresh one, count what was queued. */
  #recoverAtRuntime(err: unknown): QueueRecovery {
    const lost = this.#depth;
    const lastSeq = this.#lastSeq;
    try {
      this.#db.close();
    } catch {
      // the handle of a corrupt file may fail to close cleanly; the file is renamed regardless
    }
    this.#pinned = -1;
    // Sequence numbers continue above the old file's, so an ack of a send that was in flight cannot hit a new package.
    const recovery = this.#recoverInto(err, 0, lastSeq, lost);
    this.#recovered = recovery;
    return recovery;
  }

  /** Open (creating or migrating) a queue; see QueueOptions for the defaults. */
  static open(options: QueueOptions): PackageQueue {
    return new PackageQueue(options);
  }

  #openDb(check: 'quick' | 'none'): Database.Database {
    // SQLite opens a file it may not write read-only without a word; the WAL set-up below then failed
    // with 'disk I/O error'. Said first, before the check below reads the file (which, on a WAL file,
    // would make the -wal and -shm files as this user and let the open go on read-only).
    const unwritable = this.#readOnly ? undefined : firstUnwritable([this.path, `${this.path}-wal`, `${this.path}-shm`]);
    if (unwritable !== undefined) {
      throw new QueueError(`Cannot open queue database ${this.path}: ${unwritable} is not writable by this user (uid ${process.getuid?.() ?? '?'}): fix its owner or mode, or run as the user that owns the queue`, 'ERR_QUEUE');
    }
    const db = new Database(this.path, { readonly: this.#readOnly, fileMustExist: this.#readOnly });
    try {
      refuseForeignDatabase(db, this.path);
      if (check === 'quick') {
        const cut = cutShort(this.path);
        if (cut !== undefined) throw Object.assign(new Error(cut), { code: 'SQLITE_CORRUPT' });
      }
    } catch (err) {
      db.close();
      throw err;
    }
    // The queue holds camera images: readable by the service's user alone, whatever the umask, and
    // a queue an earlier version left world-readable (0644) is made private at its next start.
    // Before WAL mode is set: SQLite gives the -wal and -shm files the database file's mode.
    if (!this.#readOnly) for (const suffix of ['', '-wal', '-shm']) makePrivate(this.path + suffix);
    try {
      db.pragma('busy_timeout = 1000');
      // A reader takes no exclusive lock (SQLite cannot read a WAL database read-only under one); the service's lock still keeps it out.
      if (!this.#readOnly) {
        db.pragma('locking_mode = EXCLUSIVE');
        const mode = db.pragma('journal_mode = WAL', { simple: true });
        if (mode !== 'wal') throw new QueueError(`Queue database ${this.path} could not enter WAL mode (got ${String(mode)})`);
        db.pragma(`synchronous = ${this.synchronous}`);
        // Keep the WAL file from staying large after a burst.
        db.pragma('journal_size_limit = 67108864');
      }
      if (check === 'quick') {
        // A row may hold several problems, one a line, the first of them after an
        // '*** in database main ***' line: keep the problems, drop only that header (before, the
        // whole row was dropped with it, and a damaged page went unreported when it was the only row).
        const rows = (db.pragma('quick_check(20)') as Array<{ quick_check: string }>)
          .flatMap((r) => r.quick_check.split('\n'))
          .map((line) => line.trim())
          .filter((line) => line !== 'ok' && line !== '' && !/^\*\*\* in database \S+ \*\*\*$/.test(line));
        if (rows.length > 0) {
          const more = rows.length > 1 ? ` (+${rows.length - 1} more)` : '';
          throw Object.assign(new Error(`quick_check: ${rows[0]}${more}`), { code: 'SQLITE_CORRUPT' });
        }
      }
      this.#migrate(db);
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  #migrate(db: Database.Database): void {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > QUEUE_SCHEMA_VERSION) {
      throw new QueueError(`Queue database ${this.path} has schema version ${version}, newer than this program's ${QUEUE_SCHEMA_VERSION}`);
    }
    // An older schema is read as it is (its missing counters read 0); the service migrates it.
    if (this.#readOnly) return;
    for (let v = version; v < QUEUE_SCHEMA_VERSION; v++) {
      db.transaction(() => {
        db.exec(MIGRATIONS[v]!);
        db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    }
  }

  private prepare(db: Database.Database) {
    return {
      oldest: db.prepare<[], Row>('SELECT seq, idempotency_key, enqueued_at_ms, metadata, jpeg, bytes, attempts FROM packages ORDER BY seq LIMIT 1'),
      oldestBrief: db.prepare<[number], { seq: number; idempotency_key: string; bytes: number }>(
        'SELECT seq, idempotency_key, bytes FROM packages WHERE seq <> ? ORDER BY seq LIMIT 1',
      ),
      brief: db.prepare<[number], { seq: number; idempotency_key: string; bytes: number }>('SELECT seq, idempotency_key, bytes FROM packages WHERE seq = ?'),
      insert: db.prepare('INSERT INTO packages (idempotency_key, enqueued_at_ms, metadata, jpeg, bytes) VALUES (?, ?, ?, ?, ?)'),
      insertRecovered: db.prepare('INSERT OR IGNORE INTO packages (seq, idempotency_key, enqueued_at_ms, metadata, jpeg, bytes, attempts) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      insertDeadRecovered: db.prepare(
        'INSERT OR IGNORE INTO dead_letters (seq, idempotency_key, enqueued_at_ms, dead_at_ms, metadata, jpeg, bytes, attempts, status, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      remove: db.prepare('DELETE FROM packages WHERE seq = ?'),
      byKey: db.prepare<[string], { seq: number; bytes: number }>('SELECT seq, bytes FROM packages WHERE idempotency_key = ?'),
      overwrite: db.prepare(
        'UPDATE packages SET idempotency_key = ?, enqueued_at_ms = ?, metadata = ?, jpeg = ?, bytes = ?, attempts = 0, last_error = NULL WHERE seq = ?',
      ),
      bytesOf: db.prepare<[number], { bytes: number }>('SELECT bytes FROM packages WHERE seq = ?'),
      fail: db.prepare('UPDATE packages SET attempts = attempts + 1, last_error = ? WHERE seq = ? RETURNING attempts'),
      toDead: db.prepare(
        'INSERT INTO dead_letters (seq, idempotency_key, enqueued_at_ms, dead_at_ms, metadata, jpeg, bytes, attempts, status, reason) ' +
          // The try that failed for good counts as one: a package refused at its first send shows 1 try.
          'SELECT seq, idempotency_key, enqueued_at_ms, ?, metadata, jpeg, bytes, attempts + 1, ?, ? FROM packages WHERE seq = ?',
      ),
      insertDead: db.prepare(
        'INSERT INTO dead_letters (seq, idempotency_key, enqueued_at_ms, dead_at_ms, metadata, jpeg, bytes, attempts, status, reason) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      totals: db.prepare<[], { n: number; b: number }>('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM packages'),
      bump: db.prepare('UPDATE counters SET value = value + ? WHERE name = ?'),
      counters: db.prepare<[], { name: string; value: number }>('SELECT name, value FROM counters'),
      keys: db.prepare<[], { idempotency_key: string }>('SELECT idempotency_key FROM packages ORDER BY seq'),
      deadCount: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM dead_letters'),
      dead: db.prepare<[number], Omit<DeadLetter, 'idempotencyKey' | 'deadAtMs'> & { idempotency_key: string; dead_at_ms: number }>(
        'SELECT seq, idempotency_key, reason, status, attempts, dead_at_ms, bytes FROM dead_letters ORDER BY id LIMIT ?',
      ),
    };
  }

  #prepareAll(): void {
    const db = this.#db;
    const s = (this.#stmt = this.prepare(db));
    const totals = s.totals.get()!;
    this.#depth = totals.n;
    this.#bytes = totals.b;
    this.#lastSeq = (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'packages'").get() as { seq: number } | undefined)?.seq ?? 0;
    this.#enqueueTx = db.transaction((key: string, now: number, metadata: string, jpeg: Buffer, bytes: number): EnqueueResult => {
      const dropped: EnqueueResult['dropped'] = [];
      let depth = this.#depth;
      let total = this.#bytes;
      // U2 circular: drop the oldest until the new package fits; each drop counted.
      while (depth > 0 && (depth + 1 > this.maxPackages || total + bytes > this.maxBytes)) {
        // The package being sent is not dropped while its send may still succeed: the next oldest goes.
        const old = s.oldestBrief.get(this.#pinned) ?? s.brief.get(this.#pinned)!;
        s.remove.run(old.seq);
        dropped.push({ seq: old.seq, idempotencyKey: old.idempotency_key, bytes: old.bytes });
        depth--;
        total -= old.bytes;
      }
      if (dropped.length > 0) {
        s.bump.run(dropped.length, 'dropped');
        s.bump.run(dropped.reduce((a, d) => a + d.bytes, 0), 'droppedBytes');
      }
      const seq = Number(s.insert.run(key, now, metadata, jpeg, bytes).lastInsertRowid);
      s.bump.run(1, 'enqueued');
      return { seq, dropped };
    });
    this.#ackTx = db.transaction((seq: number): number => {
      const row = s.bytesOf.get(seq);
      if (!row) return -1;
      s.remove.run(seq);
      s.bump.run(1, 'delivered');
      return row.bytes;
    });
    this.#deadTx = db.transaction((seq: number, now: number, status: number | null, reason: string): number => {
      const row = s.bytesOf.get(seq);
      if (!row) return -1;
      s.toDead.run(now, status, reason, seq);
      s.remove.run(seq);
      s.bump.run(1, 'deadLettered');
      return row.bytes;
    });
    this.#deadDirectTx = db.transaction(
      (key: string, now: number, metadata: string, jpeg: Buffer, bytes: number, attempts: number, status: number | null, reason: string): void => {
        s.insertDead.run(key, now, now, metadata, jpeg, bytes, attempts, status, reason);
        s.bump.run(1, 'deadLettered');
      },
    );
  }

  #guard<T>(what: string, fn: () => T): T {
    if (this.#closed) throw new QueueError(`Queue ${this.path} is closed (${what})`, 'ERR_QUEUE');
    try {
      return fn();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_WRITE' || code === 'SQLITE_IOERR_FSYNC') {
        // The transaction rolled back: nothing changed, the caller's package was not acknowledged.
        throw new QueueError(`Queue ${this.path} cannot write (${what}): disk full or write error (${code}); nothing was changed`, 'ERR_QUEUE_FULL_DISK', {
          cause: err,
        });
      }
      if (!isCorruption(err)) throw err;
      if (this.#readOnly) throw this.#corruptReadOnly(err);
      throw this.#recoverAtRuntime(err).error;
    }
  }

  /**
   * U2: append a package. When this returns, the package is on disk (fsynced
   * with synchronous=FULL): it will be delivered, dead-lettered or counted as
   * dropped, never silently lost. Throws a QueueError when one package alone
   * exceeds maxBytes (it is then NOT acknowledged).
   */
  enqueue(pkg: UploadPackage): EnqueueResult {
    const metadata = JSON.stringify(pkg.metadata);
    const bytes = Buffer.byteLength(metadata) + pkg.jpeg.length;
    if (bytes > this.maxBytes) {
      throw new QueueError(`Package ${pkg.idempotencyKey} of ${bytes} bytes exceeds the queue's maxBytes ${this.maxBytes}`);
    }
    const insert = (): EnqueueResult => this.#guard('enqueue', () => this.#enqueueTx(pkg.idempotencyKey, Date.now(), metadata, pkg.jpeg, bytes));
    let result: EnqueueResult;
    try {
      result = insert();
    } catch (err) {
      // The file turned out corrupt and was set aside: this package goes into the fresh queue.
      if (!(err instanceof QueueError && err.code === 'ERR_QUEUE_CORRUPT')) throw err;
      result = insert();
    }
    this.#lastSeq = result.seq;
    this.#takeReserve();
    this.#depth += 1 - result.dropped.length;
    this.#bytes += bytes - result.dropped.reduce((a, d) => a + d.bytes, 0);
    return result;
  }

  /**
   * Withdraw still-queued packages by idempotency key (the replace-queued
   * policy found a better image of the same objects). The package being sent
   * (pinned) stays. Each withdrawn package is counted as replaced, never
   * silently gone. Returns how many were withdrawn.
   */
  withdraw(keys: readonly string[]): number {
    const removed = this.#guard('withdraw', () =>
      this.#db.transaction(() => {
        let bytes = 0;
        let n = 0;
        for (const key of keys) {
          for (const row of this.#stmt.byKey.all(key)) {
            if (row.seq === this.#pinned) continue;
            this.#stmt.remove.run(row.seq);
            bytes += row.bytes;
            n++;
          }
        }
        if (n > 0) this.#stmt.bump.run(n, 'replaced');
        return { n, bytes };
      })(),
    );
    this.#depth -= removed.n;
    this.#bytes -= removed.bytes;
    return removed.n;
  }

  /**
   * Replace still-queued packages by `pkg`, which takes the queue position
   * (seq) of the oldest of them, so a better image does not wait longer than
   * the one it replaces; the others are withdrawn. All counted as replaced.
   * Returns undefined (nothing changed) when none of `oldKeys` is still
   * queued, or when the swap would exceed maxBytes: enqueue it then.
   */
  replace(oldKeys: readonly string[], pkg: UploadPackage): { seq: number; replaced: number } | undefined {
    const metadata = JSON.stringify(pkg.metadata);
    const bytes = Buffer.byteLength(metadata) + pkg.jpeg.length;
    const result = this.#guard('replace', () =>
      this.#db.transaction(() => {
        const rows = oldKeys
          .flatMap((k) => this.#stmt.byKey.all(k))
          .filter((r) => r.seq !== this.#pinned)
          .sort((a, b) => a.seq - b.seq);
        if (rows.length === 0) return undefined;
        const oldBytes = rows.reduce((a, r) => a + r.bytes, 0);
        if (this.#bytes - oldBytes + bytes > this.maxBytes) return undefined;
        const [first, ...rest] = rows;
        this.#stmt.overwrite.run(pkg.idempotencyKey, Date.now(), metadata, pkg.jpeg, bytes, first!.seq);
        for (const r of rest) this.#stmt.remove.run(r.seq);
        this.#stmt.bump.run(rows.length, 'replaced');
        // The replacing package is a package the queue took, like any enqueued one, so the
        // ledger holds: enqueued = delivered + dropped + deadLettered + setAside + replaced + depth.
        this.#stmt.bump.run(1, 'enqueued');
        return { seq: first!.seq, replaced: rows.length, oldBytes };
      })(),
    );
    if (!result) return undefined;
    this.#depth -= result.replaced - 1;
    this.#bytes += bytes - result.oldBytes;
    return { seq: result.seq, replaced: result.replaced };
  }

  /** The oldest package (FIFO head), or undefined when empty. */
  peekOldest(): QueuedPackage | undefined {
    const row = this.#guard('peekOldest', () => this.#stmt.oldest.get());
    if (!row) return undefined;
    const metadata = JSON.parse(row.metadata) as PackageMetadata;
    return {
      seq: row.seq,
      idempotencyKey: row.idempotency_key,
      pkg: { idempotencyKey: row.idempotency_key, metadata, jpeg: row.jpeg },
      bytes: row.bytes,
      attempts: row.attempts,
      enqueuedAtMs: row.enqueued_at_ms,
    };
  }

  /**
   * Mark the package being sent: while pinned, room for new packages is made
   * by dropping the next oldest instead, so a package delivered during its
   * send is counted as delivered, not dropped. One pin at a time.
   */
  pin(seq: number): void {
    this.#pinned = seq;
  }

  unpin(): void {
    this.#pinned = -1;
  }

  /** The cloud acknowledged (2xx): remove and count as delivered. False when seq is not queued. */
  ack(seq: number): boolean {
    let bytes: number;
    try {
      bytes = this.#guard('ack', () => this.#ackTx(seq));
    } catch (err) {
      // Disk full: release the reserve kept for this, and checkpoint so the
      // WAL restarts from its beginning (the main file's pages exist already:
      // neither needs new space); then try once more. Otherwise the caller
      // retries later, without re-sending.
      if (!(err instanceof QueueError && err.code === 'ERR_QUEUE_FULL_DISK')) throw err;
      this.#releaseReserve();
      try {
        this.#db.pragma('wal_checkpoint(RESTART)');
      } catch {
        // a checkpoint that cannot run now leaves the WAL as it is
      }
      bytes = this.#guard('ack', () => this.#ackTx(seq));
    }
    if (bytes < 0) return false;
    this.#depth--;
    this.#bytes -= bytes;
    return true;
  }

  /** Count a failed try (persisted); returns the attempts so far, 0 when seq is not queued. */
  recordFailure(seq: number, reason: string): number {
    const row = this.#guard('recordFailure', () => this.#stmt.fail.get(reason, seq) as { attempts: number } | undefined);
    return row?.attempts ?? 0;
  }

  /** Permanent failure: move to the dead-letter table with the reason. */
  deadLetter(seq: number, reason: string, status?: number): boolean {
    const bytes = this.#guard('deadLetter', () => this.#deadTx(seq, Date.now(), status ?? null, reason));
    if (bytes < 0) return false;
    this.#depth--;
    this.#bytes -= bytes;
    return true;
  }

  /** Permanent failure of a package that was never queued (an immediate send, U1): store it as a dead letter. */
  deadLetterPackage(pkg: UploadPackage, reason: string, status?: number, attempts = 1): void {
    const metadata = JSON.stringify(pkg.metadata);
    const bytes = Buffer.byteLength(metadata) + pkg.jpeg.length;
    this.#guard('deadLetterPackage', () => this.#deadDirectTx(pkg.idempotencyKey, Date.now(), metadata, pkg.jpeg, bytes, attempts, status ?? null, reason));
  }

  /** Packages queued now. */
  get depth(): number {
    return this.#depth;
  }

  /** Bytes queued now (metadata + JPEG). */
  get bytes(): number {
    return this.#bytes;
  }

  counters(): QueueCounters {
    const rows = this.#guard('counters', () => this.#stmt.counters.all());
    const out: QueueCounters = { enqueued: 0, delivered: 0, dropped: 0, droppedBytes: 0, deadLettered: 0, setAside: 0, replaced: 0 };
    for (const r of rows) if ((COUNTER_NAMES as readonly string[]).includes(r.name)) out[r.name as keyof QueueCounters] = r.value;
    return out;
  }

  /** Idempotency keys in queue order (oldest first). */
  keys(): string[] {
    return this.#guard('keys', () => this.#stmt.keys.all().map((r) => r.idempotency_key));
  }

  /** Dead letters kept now (deadLetters(limit) lists at most limit of them). */
  deadLetterCount(): number {
    return this.#guard('deadLetterCount', () => this.#stmt.deadCount.get()!.n);
  }

  deadLetters(limit = 100): DeadLetter[] {
    return this.#guard('deadLetters', () =>
      this.#stmt.dead.all(limit).map((r) => ({
        seq: r.seq,
        idempotencyKey: r.idempotency_key,
        reason: r.reason,
        status: r.status,
        attempts: r.attempts,
        deadAtMs: r.dead_at_ms,
        bytes: r.bytes,
      })),
    );
  }

  /**
   * Put dead letters back at the queue's tail (after the cause is fixed, e.g.
   * a wrong token): oldest first, attempts reset, `limit` at most, and only
   * as many as the queue has room for (maxPackages, maxBytes): the rest stay
   * dead letters. Beyond the capacity, the service's next enqueue dropped the
   * oldest packages at once to make room (U2): 600 re-queued into a queue of
   * 900 with room for 1000 cost 501 packages. Returns how many were
   * re-queued. They keep their idempotency keys, so one the cloud did store
   * is answered as a duplicate (U3).
   */
  requeueDeadLetters(limit = Number.MAX_SAFE_INTEGER): number {
    const n = this.#guard('requeueDeadLetters', () =>
      this.#db.transaction(() => {
        // Sizes first, the images one at a time: all of them at once held every dead letter's image in memory.
        const sizes = this.#db.prepare<[number], { id: number; bytes: number }>('SELECT id, bytes FROM dead_letters ORDER BY id LIMIT ?').all(limit);
        const one = this.#db.prepare<[number], { idempotency_key: string; metadata: string; jpeg: Buffer; bytes: number }>(
          'SELECT idempotency_key, metadata, jpeg, bytes FROM dead_letters WHERE id = ?',
        );
        const del = this.#db.prepare('DELETE FROM dead_letters WHERE id = ?');
        let { n: depth, b: bytes } = this.#stmt.totals.get()!;
        let moved = 0;
        for (const { id, bytes: b } of sizes) {
          // Oldest first, in order: stop at the first that does not fit rather than skip it.
          if (depth + 1 > this.maxPackages || bytes + b > this.maxBytes) break;
          const r = one.get(id)!;
          this.#stmt.insert.run(r.idempotency_key, Date.now(), r.metadata, r.jpeg, r.bytes);
          del.run(id);
          depth++;
          bytes += b;
          moved++;
        }
        // The ledger (enqueued = delivered + dropped + deadLettered + setAside + replaced + depth)
        // holds by moving them from deadLettered back to the depth: they were enqueued once already.
        if (moved > 0) this.#stmt.bump.run(-moved, 'deadLettered');
        return moved;
      })(),
    );
    const totals = this.#stmt.totals.get()!;
    this.#depth = totals.n;
    this.#bytes = totals.b;
    return n;
  }

  /** Every queued package and dead letter, for export (oldest first). */
  *exportAll(): Generator<{ kind: 'queued' | 'dead'; idempotencyKey: string; reason: string | null; metadata: string; jpeg: Buffer }> {
    for (const r of this.#db.prepare<[], { idempotency_key: string; metadata: string; jpeg: Buffer }>('SELECT idempotency_key, metadata, jpeg FROM packages ORDER BY seq').iterate()) {
      yield { kind: 'queued', idempotencyKey: r.idempotency_key, reason: null, metadata: r.metadata, jpeg: r.jpeg };
    }
    for (const r of this.#db.prepare<[], { idempotency_key: string; reason: string; metadata: string; jpeg: Buffer }>('SELECT idempotency_key, reason, metadata, jpeg FROM dead_letters ORDER BY id').iterate()) {
      yield { kind: 'dead', idempotencyKey: r.idempotency_key, reason: r.reason, metadata: r.metadata, jpeg: r.jpeg };
    }
  }

  /** Enqueue time of the oldest queued package, ms since the epoch; undefined when empty. */
  oldestEnqueuedAtMs(): number | undefined {
    return this.#guard('oldest', () => (this.#db.prepare('SELECT MIN(enqueued_at_ms) AS t FROM packages').get() as { t: number | null }).t ?? undefined);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Idempotent. Checkpoints the WAL into the main file. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#readOnly) {
      this.#db.close();
      this.#removeReaderFiles();
      return;
    }
    try {
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      // A full disk cannot take the checkpoint; the packages are safe in the
      // WAL file and the next open replays it. Closing must still succeed.
      this.#log(`queue ${this.path}: checkpoint at close failed (${(err as Error).message}); the WAL keeps the data`);
    } finally {
      this.#db.close();
    }
  }
}
