/**
 * The reference cloud receiver (U1–U3): the cloud end for tests, demos and a
 * starting point for users. Accepts a multipart package (parts "metadata"
 * and "image"), checks the bearer token (401) and the metadata against
 * schemas/package.v1.json (400 with the reasons), checks the image against
 * the metadata's size and SHA-256, stores image.jpg + metadata.json on disk
 * with an SQLite index, and answers a known idempotency key (U3) with
 * 200 {"duplicate":true} without storing it twice — when it is the same
 * package: another image under a stored key (a unit whose imageIds
 * restarted) is refused with 409, never taken for the one it already has.
 *
 *   POST /packages                       → 201 {stored:true,key} | 200 {duplicate:true,key} | 409 another package under that key
 *   GET  /packages[?camera=&after=&limit=] → {count, packages:[…]} in arrival order
 *   GET  /packages/<key>/image.jpg | /crop-N.jpg | /metadata.json
 *   GET  /browse[?token=…|?before=<seq>] → HTML page of the newest packages, paged (browse.ts; the token query sets a cookie)
 *   GET  /stats (token), GET|HEAD /healthz (no token needed; 503 with the reason while the store cannot take uploads)
 *
 * Retention: with maxPackages, storing one more removes the oldest; without it
 * the store grows until its disk is full (then 507, the edge keeps its queue).
 *
 * Hostile input is answered, never fatal: every request ends in the one
 * handler's catch (a 4xx with a reason, or a 500 that names no path); every
 * stream has its error path; the body's bytes, the request's duration, the
 * uploads read at once, the metadata's size, JSON nesting and track count
 * are bounded while reading, not after.
 */
import { BROWSE_PAGE_ROWS, cookieToken, renderBrowsePage, summarizeForBrowse, TOKEN_COOKIE, type BrowseSummary } from './browse.js';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { accessSync, constants, createWriteStream, existsSync, promises as fsp, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isIP, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import busboy from 'busboy';
import { BestshotError, ConfigError, invalidParameterError, unwritableDirAdvice } from '../errors.js';
import { idempotencyKey, type PackageMetadata } from '../upload/package.js';
import { validatePackageMetadata } from '../upload/schema.js';
import { makeDirectory } from '../process-lock.js';
import { pemProblem } from '../tls-files.js';

/**
 * Fault injection FOR TESTS ONLY (fault tests of the uploader against a real
 * receiver process). POSTs are numbered from 1 in arrival order.
 */
export interface ReceiverTestFaults {
  /** Cut the connection mid-upload (after the first body bytes) for POSTs 1..cutFirst. */
  cutFirst?: number;
  /** Answer the next failFirst POSTs (after the cut ones) with failStatus, storing nothing. */
  failFirst?: number;
  /** Status of the failed answers. Default 503. */
  failStatus?: number;
  /** Retry-After header sent with the failed answers (seconds or HTTP-date). */
  retryAfter?: string;
  /** Answer the first delayFirst stored POSTs delayMs late (after storing). */
  delayFirst?: number;
  delayMs?: number;
  /**
   * Hold the first slowStoreFirst stores slowStoreMs between writing their files and publishing
   * them (a slow disk's fsync), logging 'test fault: holding the store …' as the hold starts: a
   * stop can then be asked while a package is mid-store.
   */
  slowStoreFirst?: number;
  slowStoreMs?: number;
}

export interface ReceiverTlsOptions {
  /** PEM server certificate and key. */
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM CA used to verify client certificates (mTLS). */
  ca?: string | Buffer;
  /** Require a client certificate signed by `ca`. Default false. */
  requireClientCert?: boolean;
}

export interface ReceiverOptions {
  /** TCP port; 0 (default) picks a free one (see Receiver.url). */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Storage directory (created): packages/<key>/{image.jpg,metadata.json} and index.sqlite. */
  dir: string;
  /** Bearer token required on every request but /healthz; none when undefined. */
  token?: string;
  /** Serve HTTPS (and mTLS with ca + requireClientCert). */
  tls?: ReceiverTlsOptions;
  /**
   * Largest request body accepted, bytes. Default 32 MiB; larger gets 413 as soon as the limit is crossed (chunked bodies too).
   * Its parts are written to disk as they arrive: memory does not grow with it.
   */
  maxBodyBytes?: number;
  /** Largest 'metadata' part, bytes. Default 1 MiB (a package with 1000 tracks is ~400 KiB); larger gets 413. */
  maxMetadataBytes?: number;
  /** Most tracks in one package's metadata. Default 1000; more gets 413. */
  maxTracks?: number;
  /** Deepest JSON nesting of the metadata. Default 32 (package.v1 needs 6); deeper gets 400, checked before parsing. */
  maxJsonDepth?: number;
  /** Uploads whose bodies are read at once; more get 503 with Retry-After. Default 64. */
  maxConcurrentUploads?: number;
  /** Whole request (headers and body) must arrive within this, ms. Default 60000; then 408. */
  requestTimeoutMs?: number;
  /** A connection silent this long is closed, ms. Default 15000. */
  idleTimeoutMs?: number;
  /**
   * Slowest body accepted: an upload that sends fewer than this many bytes in
   * any `slowUploadWindowMs` gets 408 (the edge retries it), so a client
   * trickling bytes cannot hold one of the maxConcurrentUploads slots for the
   * whole requestTimeoutMs. Default 1024 bytes/s (a degraded cellular uplink
   * sends 10× that); 0 = off.
   */
  minUploadBytesPerS?: number;
  /** The window of minUploadBytesPerS, ms. Default 10000. */
  slowUploadWindowMs?: number;
  /**
   * Allow listening on a non-loopback address without a token or TLS client
   * authentication (anyone on the network may store and list). Default false:
   * startReceiver refuses.
   */
  allowUnauthenticated?: boolean;
  /** Where the start-up warnings go (no token on loopback, packages removed by a lowered maxPackages). Default console.error. */
  warn?: (line: string) => void;
  /**
   * Retention: the most packages kept; storing one more removes the oldest (its files and its
   * index row). Default: no limit (the store grows until its disk is full, then answers 507).
   * A key removed is forgotten: sent again, it is stored again.
   */
  maxPackages?: number;
  /**
   * close(): requests already being received or stored get this long to finish and be answered,
   * ms. Default DEFAULT_STOP_DRAIN_MS (5000). Then their connections are cut and a store not yet
   * published is rolled back (its temporary folder removed; the edge, unanswered, sends the
   * package again).
   */
  stopDrainMs?: number;
  /** Test knobs, see ReceiverTestFaults. */
  testFaults?: ReceiverTestFaults;
  /** One line per request outcome; default silent. */
  log?: (line: string) => void;
}

export interface StoredPackage {
  seq: number;
  key: string;
  cameraId: string;
  imageId: number;
  timestampNs: string;
  receivedAtMs: number;
  bytes: number;
  sha256: string;
  trackIds: number[];
  /** Later POSTs of the same key answered as duplicates. */
  duplicates: number;
}

export interface ReceiverStats {
  posts: number;
  stored: number;
  duplicates: number;
  rejected: number;
  unauthorized: number;
  faultsCut: number;
  faultsFailed: number;
  faultsDelayed: number;
  /** Packages removed by the retention limit (maxPackages) since this process started. */
  pruned: number;
}

export interface Receiver {
  /** Base URL, e.g. http://127.0.0.1:41234; POST packages to `${url}/packages`. */
  url: string;
  port: number;
  stats(): ReceiverStats;
  /**
   * Stop: no new connections or requests (a request on a kept-alive connection is answered 503
   * with Retry-After), idle connections closed at once; the requests in flight finish and are
   * answered, for at most stopDrainMs, then their connections are cut and unpublished stores
   * rolled back; the index is closed after the last store ended. Idempotent.
   */
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it finds.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * A log line with its control characters escaped (a newline as \u000a, ESC as \u001b): values
 * of a request reach the log (a metadata idempotencyKey quoted in its 400, a part name, a
 * parser's message), and a key holding a newline and an ANSI escape wrote a forged line of its
 * own ('POST #999: forged:1 stored') in red on the operator's terminal.
 */
export function escapeControl(line: string): string {
  return line.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const keyDir = (key: string): string => encodeURIComponent(key);

/**
 * How long close() lets the requests in flight finish, by default: a package of a few hundred KB
 * arrives and is fsynced in well under a second on a working link and disk, and it stays inside
 * the stop time supervisors give before a kill (docker stop: 10 s; systemd: 90 s).
 */
/** Largest request body accepted by default (ReceiverOptions.maxBodyBytes, --max-body-bytes). */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Uploads read at once by default (ReceiverOptions.maxConcurrentUploads, --max-concurrent-uploads). */
export const DEFAULT_MAX_CONCURRENT_UPLOADS = 64;

export const DEFAULT_STOP_DRAIN_MS = 5000;

/** Refused requests logged one line each per minute; the rest are counted in one line (logRefusal). */
const REFUSAL_LINES = 20;

/** Leftover of an upload interrupted by a crash: `.upload.tmp-<12 hex>` (see handlePost(); `<key>.tmp-<12 hex>` before). */
const TMP_DIR_PATTERN = /\.tmp-[0-9a-f]{12}$/;
/** upload.content crops: part names 'crop-0'… (schemas/package.v1.json crops[].part) and at most this many per package. */
const CROP_PART = /^crop-[0-9]{1,3}$/;
const MAX_CROPS = 256;

/** Loopback: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1' || host === '[::1]') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/**
 * The deepest nesting of arrays and objects in a JSON text, counted without
 * parsing (strings skipped), so a hostile document is refused before
 * JSON.parse or a recursive validator could overflow the stack. Stops
 * counting at `limit + 1`.
 */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A row of the packages table as the API returns it. */
function storedPackage(r: Record<string, unknown>): StoredPackage {
  return {
    seq: r.seq as number,
    key: r.key as string,
    cameraId: r.camera_id as string,
    imageId: r.image_id as number,
    timestampNs: r.timestamp_ns as string,
    receivedAtMs: r.received_at_ms as number,
    bytes: r.bytes as number,
    sha256: r.sha256 as string,
    trackIds: JSON.parse(r.track_ids as string) as number[],
    duplicates: r.duplicates as number,
  };
}

/** The sha256 the index keeps of a package: its frame's, or (content 'crops') its first crop's. */
function contentSha256(m: PackageMetadata): string {
  return m.image?.sha256 ?? m.crops?.[0]?.sha256 ?? '';
}

export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  if (typeof options?.dir !== 'string' || options.dir === '') throw invalidParameterError('non-empty string', 'dir', options?.dir);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidParameterError('integer port between 0 and 65535', 'port', port);
  const host = options.host ?? '127.0.0.1';
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxMetadataBytes = options.maxMetadataBytes ?? 1024 * 1024;
  const maxTracks = options.maxTracks ?? 1000;
  const maxJsonDepth = options.maxJsonDepth ?? 32;
  const maxConcurrentUploads = options.maxConcurrentUploads ?? DEFAULT_MAX_CONCURRENT_UPLOADS;
  const requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
  const minUploadBytesPerS = options.minUploadBytesPerS ?? 1024;
  const slowUploadWindowMs = options.slowUploadWindowMs ?? 10_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 15_000;
  const stopDrainMs = options.stopDrainMs ?? DEFAULT_STOP_DRAIN_MS;
  for (const [name, v] of Object.entries({ maxBodyBytes, maxMetadataBytes, maxTracks, maxJsonDepth, maxConcurrentUploads, requestTimeoutMs, idleTimeoutMs, stopDrainMs })) {
    if (!Number.isInteger(v) || v < 1) throw invalidParameterError('positive integer', name, v);
  }
  if (!Number.isInteger(minUploadBytesPerS) || minUploadBytesPerS < 0) throw invalidParameterError('non-negative integer', 'minUploadBytesPerS', minUploadBytesPerS);
  if (!Number.isInteger(slowUploadWindowMs) || slowUploadWindowMs < 1) throw invalidParameterError('positive integer', 'slowUploadWindowMs', slowUploadWindowMs);
  const maxPackages = options.maxPackages;
  if (maxPackages !== undefined && (!Number.isInteger(maxPackages) || maxPackages < 1)) throw invalidParameterError('positive integer', 'maxPackages', maxPackages);
  const faults = options.testFaults ?? {};
  // Every line escaped: request values (a metadata idempotencyKey, a part name) reach the log.
  const log = options.log ? ((write) => (line: string) => write(escapeControl(line)))(options.log) : () => {};
  const token = options.token;
  const expectedAuth = token !== undefined ? Buffer.from(`Bearer ${token}`) : undefined;
  // Without a CA no client certificate can be verified: every handshake would fail, every client be
  // refused, and the receiver stay silent about why (the start said it listens, and warned of no auth).
  if (options.tls?.requireClientCert === true && options.tls.ca === undefined) {
    throw new ConfigError('tls.ca', 'requireClientCert needs the CA that signed the clients\' certificates: without one every client is refused');
  }
  // A CA that holds no certificate (a key, a path's text) verifies nobody: the start said it listens, then every client was refused.
  const caProblem = options.tls?.requireClientCert === true && options.tls.ca !== undefined ? pemProblem(options.tls.ca.toString(), 'certificate') : undefined;
  if (caProblem !== undefined) throw new ConfigError('tls.ca', `${caProblem}: requireClientCert needs the PEM certificate of the CA that signed the clients' certificates`);
  const clientCertAuth = options.tls?.requireClientCert === true && options.tls.ca !== undefined;
  if (token === undefined && !clientCertAuth) {
    if (!isLoopbackHost(host) && options.allowUnauthenticated !== true) {
      throw new ConfigError(
        'host',
        `refusing to listen on ${host} without a bearer token or TLS client authentication: anyone on the network could store and list packages (set a token, or mTLS with a CA and requireClientCert)`,
      );
    }
    (options.warn ?? ((line: string) => console.error(line)))(
      `WARNING: receiver on ${host} has no bearer token and no TLS client authentication: ANY local process may POST and list packages`,
    );
  }

  const pkgDir = join(options.dir, 'packages');
  makeDirectory(pkgDir);
  // Directories of stores a crash interrupted never got published: remove them.
  for (const name of readdirSync(pkgDir)) {
    if (TMP_DIR_PATTERN.test(name)) rmSync(join(pkgDir, name), { recursive: true, force: true });
  }
  const indexPath = join(options.dir, 'index.sqlite');
  /** The index cannot be made or written at start: the path and the fix, not SQLite's bare 'database or disk is full'. */
  const unwritableIndex = (err: unknown): Error => {
    const code = (err as { code?: string }).code ?? '';
    if (code !== 'SQLITE_FULL' && code !== 'SQLITE_CANTOPEN' && !code.startsWith('SQLITE_READONLY')) return err as Error;
    // SQLite says read-only for a file this user may not write and for a read-only mount alike: ask the file system.
    let errno: string | undefined = 'ENOSPC';
    if (code !== 'SQLITE_FULL') {
      errno = undefined;
      for (const path of [indexPath, options.dir]) {
        try {
          if (existsSync(path)) accessSync(path, constants.W_OK);
        } catch (e) {
          errno ??= (e as NodeJS.ErrnoException).code;
        }
      }
    }
    return new BestshotError('ERR_RECEIVER_INDEX', `receiver index ${indexPath} cannot be written (${code}): ${unwritableDirAdvice(errno, '--dir')}`, { cause: err });
  };
  /** The statements on an open index. */
  const statements = (d: Database.Database) => ({
    has: d.prepare<[string], { seq: number; sha256: string }>('SELECT seq, sha256 FROM packages WHERE key = ?'),
    insert: d.prepare(
      'INSERT OR IGNORE INTO packages (key, camera_id, image_id, timestamp_ns, received_at_ms, bytes, sha256, track_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    dup: d.prepare('UPDATE packages SET duplicates = duplicates + 1 WHERE key = ?'),
    list: d.prepare<[string | null, string | null, number, number], Record<string, unknown>>(
      'SELECT * FROM packages WHERE (? IS NULL OR camera_id = ?) AND seq > ? ORDER BY seq LIMIT ?',
    ),
    recent: d.prepare<[number, number], Record<string, unknown>>('SELECT * FROM packages WHERE seq < ? ORDER BY seq DESC LIMIT ?'),
    count: d.prepare('SELECT COUNT(*) AS n FROM packages'),
    keys: d.prepare<[], string>('SELECT key FROM packages').pluck(),
    oldest: d.prepare<[number], { key: string }>('SELECT key FROM packages ORDER BY seq LIMIT ?'),
    remove: d.prepare('DELETE FROM packages WHERE key = ?'),
  });
  /** Open (or make) the index: its connection, statements, and the file it is (to notice it removed or replaced while running). */
  const openIndex = (): { db: Database.Database; q: ReturnType<typeof statements>; dev: number; ino: number } => {
    let d: Database.Database;
    try {
      d = new Database(indexPath);
    } catch (err) {
      throw unwritableIndex(err);
    }
    try {
      d.pragma('journal_mode = WAL');
    } catch (err) {
      d.close();
      const code = (err as { code?: string }).code;
      if (code !== 'SQLITE_NOTADB' && code !== 'SQLITE_CORRUPT') throw unwritableIndex(err);
      // The packages are files under packages/; the index only lists and deduplicates them.
      throw new BestshotError(
        'ERR_RECEIVER_INDEX',
        `receiver index ${indexPath} is not a readable database (${code}): move it aside and start again; a new index is made, the stored packages under ${pkgDir} stay (a re-sent one is still answered as a duplicate)`,
        { cause: err },
      );
    }
    try {
      d.pragma('synchronous = FULL');
      d.exec(`CREATE TABLE IF NOT EXISTS packages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    camera_id TEXT NOT NULL,
    image_id INTEGER NOT NULL,
    timestamp_ns TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    track_ids TEXT NOT NULL,
    duplicates INTEGER NOT NULL DEFAULT 0
  ); CREATE INDEX IF NOT EXISTS packages_camera ON packages (camera_id, seq);`);
      const { dev, ino } = statSync(indexPath);
      return { db: d, q: statements(d), dev, ino };
    } catch (err) {
      d.close();
      throw unwritableIndex(err);
    }
  };
  let { db, q, dev: indexDev, ino: indexIno } = openIndex();
  /** False after the index file was found removed or replaced and could not be opened again (ensureStore retries). */
  let indexOpen = true;
  let indexFailureLogged: string | undefined;
  const stats: ReceiverStats = { posts: 0, stored: 0, duplicates: 0, rejected: 0, unauthorized: 0, faultsCut: 0, faultsFailed: 0, faultsDelayed: 0, pruned: 0 };
  let storedCount = (q.count.get() as { n: number }).n;

  /**
   * Index the package folders under packages/ that have no index row, from their own
   * metadata.json, oldest folder first (its mtime is its arrival). Such folders are left by a
   * kill -9 between publish and index, by an index moved aside as ERR_RECEIVER_INDEX advises, by a
   * 0-byte index: the receiver started with an empty index, listed nothing and took each
   * re-sent package for a new one, though the packages were on disk. A folder whose metadata.json
   * cannot be read, or is not a package under that folder's key, is counted and left as it is.
   * Synchronous: at start, and when the index is made again while running (ensureStore).
   */
  function reconcile(): { indexed: number; unreadable: number } {
    const known = new Set(q.keys.all());
    const found: Array<{ m: PackageMetadata; mtimeMs: number }> = [];
    let unreadable = 0;
    for (const name of readdirSync(pkgDir)) {
      if (TMP_DIR_PATTERN.test(name)) continue;
      let key: string;
      try {
        key = decodeURIComponent(name);
      } catch {
        unreadable++;
        continue;
      }
      if (known.has(key)) continue;
      try {
        const folder = join(pkgDir, name);
        const m = JSON.parse(readFileSync(join(folder, 'metadata.json'), 'utf8')) as PackageMetadata;
        if (validatePackageMetadata(m).length > 0 || m.idempotencyKey !== key || keyDir(key) !== name) {
          unreadable++;
          continue;
        }
        found.push({ m, mtimeMs: statSync(folder).mtimeMs });
      } catch {
        unreadable++;
      }
    }
    // Folders written within one tick of the file system's clock tie: then by capture time, as they were made.
    const captured = (m: PackageMetadata): bigint => (/^\d+$/.test(m.timestampNs) ? BigInt(m.timestampNs) : 0n);
    found.sort((a, b) => a.mtimeMs - b.mtimeMs || (captured(a.m) < captured(b.m) ? -1 : captured(a.m) > captured(b.m) ? 1 : a.m.idempotencyKey.localeCompare(b.m.idempotencyKey)));
    let indexed = 0;
    db.transaction(() => {
      for (const { m, mtimeMs } of found) if (index(m, Math.round(mtimeMs))) indexed++;
    })();
    return { indexed, unreadable };
  }
  const reconciled = (() => {
    try {
      return reconcile();
    } catch (err) {
      db.close();
      // index() says a full disk as the 507 of an upload; here it is the start's error naming the file and the fix.
      throw unwritableIndex(err instanceof HttpError && err.cause !== undefined ? err.cause : err);
    }
  })();
  if (reconciled.indexed > 0) {
    (options.warn ?? ((line: string) => console.error(line)))(
      `index: ${reconciled.indexed} package folder(s) under packages/ had no index row: indexed from their metadata.json${reconciled.unreadable > 0 ? ` (${reconciled.unreadable} folder${reconciled.unreadable === 1 ? '' : 's'} without a readable package left as it is)` : ''}`,
    );
  }

  /**
   * The store as the receiver works on it: packages/ a folder, index.sqlite the file opened.
   * Checked before an upload is read, again just before it is published, and by /healthz. The
   * store removed while running made every upload a 500 while /healthz said ok, and after a
   * `mkdir -p <dir>/packages` the uploads were acknowledged into the deleted index file (listed
   * nowhere after a restart). Now an index file removed or replaced is opened (made) again and
   * filled from packages/ (reconcile); a missing packages folder is a 503 with Retry-After (the
   * edge keeps the package queued) and is not made again here: an unmounted disk leaves its
   * empty mount point, and the packages would go to the disk under it.
   */
  function ensureStore(): void {
    const retry = { 'Retry-After': '30' };
    try {
      if (!statSync(pkgDir).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new HttpError(503, `the store's packages folder is missing (${code}; removed while running?): make it again (mkdir -p <--dir>/packages) or restart the receiver; retry later`, {}, retry);
    }
    let current: { dev: number; ino: number } | undefined;
    try {
      current = statSync(indexPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new HttpError(503, `the receiver index cannot be checked (${code ?? 'error'}); retry later`, {}, retry);
    }
    if (indexOpen && current !== undefined && current.dev === indexDev && current.ino === indexIno) return;
    const why = !indexOpen ? 'could not be opened' : current === undefined ? 'was removed' : 'was replaced by another file';
    if (indexOpen) {
      // Closed before the new one is opened: the old connection's -wal and -shm go with it, not into the new file.
      indexOpen = false;
      try {
        db.close();
      } catch {}
    }
    let opened: ReturnType<typeof openIndex>;
    try {
      opened = openIndex();
    } catch (err) {
      // Said once, not at every request and health check that tries again.
      const line = `index: ${indexPath} ${why} while running and cannot be opened again: ${(err as Error).message}`;
      if (line !== indexFailureLogged) log((indexFailureLogged = line));
      throw new HttpError(503, 'the receiver index cannot be opened (the receiver log says why); retry later', {}, retry);
    }
    ({ db, q, dev: indexDev, ino: indexIno } = opened);
    indexOpen = true;
    indexFailureLogged = undefined;
    storedCount = (q.count.get() as { n: number }).n;
    browseCache.clear();
    const { indexed } = reconcile();
    log(`index: ${indexPath} ${why} while running: opened it again, ${indexed} package(s) indexed from packages/`);
  }
  /** Why the store cannot take uploads now, or undefined (/healthz). */
  function storeProblem(): string | undefined {
    try {
      ensureStore();
      accessSync(pkgDir, constants.W_OK);
      return undefined;
    } catch (err) {
      if (err instanceof HttpError) return err.message;
      return `the store's packages folder cannot be written (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    }
  }

  /**
   * The browse page's view of each stored package, read once (asynchronously) and kept: a
   * package's metadata never changes once stored. The page re-read and parsed every package's
   * metadata.json twice per request with readFileSync: 200 packages of 1000 tracks held the
   * event loop 2.7 s a page, uploads and /healthz waited behind it.
   */
  const browseCache = new Map<string, Promise<BrowseSummary>>();
  const BROWSE_CACHE_MAX = 4 * BROWSE_PAGE_ROWS;
  const browseSummary = (key: string): Promise<BrowseSummary> => {
    const hit = browseCache.get(key);
    if (hit) {
      // Most recently used last: the oldest entries go first when it is full.
      browseCache.delete(key);
      browseCache.set(key, hit);
      return hit;
    }
    const read = fsp
      .readFile(join(pkgDir, keyDir(key), 'metadata.json'), 'utf8')
      .then((text) => summarizeForBrowse(JSON.parse(text) as unknown, CROP_PART))
      .catch(() => {
        // Unreadable now (removed by hand, pruned meanwhile): shown without tracks, and not kept.
        browseCache.delete(key);
        return summarizeForBrowse(undefined, CROP_PART);
      });
    browseCache.set(key, read);
    while (browseCache.size > BROWSE_CACHE_MAX) browseCache.delete(browseCache.keys().next().value!);
    return read;
  };
  /**
   * Retention (maxPackages): the oldest packages beyond the limit go, row first (a GET then says
   * 404, never serves half a package), then the files. One prune at a time; a failure to remove
   * files is logged and retried at the next prune (the row is gone: they are only disk space).
   */
  let pruning: Promise<void> = Promise.resolve();
  const prune = (): Promise<void> =>
    (pruning = pruning.then(async () => {
      if (maxPackages === undefined || storedCount <= maxPackages) return;
      const keys = q.oldest.all(storedCount - maxPackages).map((r) => r.key);
      for (const key of keys) {
        q.remove.run(key);
        browseCache.delete(key);
        storedCount--;
        stats.pruned++;
        try {
          await fsp.rm(join(pkgDir, keyDir(key)), { recursive: true, force: true });
        } catch (err) {
          log(`retention: ${key}: files not removed (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        }
      }
    }));
  let delayed = 0;
  let slowStores = 0;
  let uploadsReading = 0;
  /** close() was called: new requests are refused (503), the ones in flight drain. */
  let stopping = false;
  /** Aborted when close()'s drain deadline passes: a store not yet published rolls back (stopCut). */
  const drainDeadline = new AbortController();
  /** Every request being handled, until it has been answered (or failed): close() waits for them before closing the index. */
  const inFlight = new Map<http.ServerResponse, Promise<void>>();
  /** A wait (a test fault's) that ends early when the drain deadline passes. */
  const pause = (ms: number): Promise<void> => sleep(ms, undefined, { signal: drainDeadline.signal }).catch(() => {});
  /** Roll back a store the drain deadline caught before its publish: its connection is cut, nothing of it may stay. */
  const stopCut = (): void => {
    if (drainDeadline.signal.aborted) throw new HttpError(503, `receiver stopped: not stored within the ${stopDrainMs} ms drain; retry later`, {}, { 'Retry-After': '5' });
  };

  const sameSecret = (got: Buffer, expected: Buffer): boolean => got.length === expected.length && timingSafeEqual(got, expected);
  const authorized = (req: http.IncomingMessage): boolean => {
    if (!expectedAuth || token === undefined) return true;
    if (sameSecret(Buffer.from(req.headers.authorization ?? ''), expectedAuth)) return true;
    // The browse page's cookie (a browser cannot send the header).
    const fromCookie = cookieToken(req.headers.cookie);
    return fromCookie !== undefined && sameSecret(Buffer.from(fromCookie), Buffer.from(token));
  };

  /** A file part as it was written to the upload's temporary folder: its size, SHA-256 and whether it starts with a JPEG SOI. */
  interface ReceivedFile {
    bytes: number;
    sha256: string;
    soi: boolean;
  }
  interface ReceivedParts {
    metadata: Buffer | undefined;
    /** 'image' and 'crop-N', written to `<tmp>/image.jpg`, `<tmp>/crop-N.jpg`. */
    files: Map<string, ReceivedFile>;
  }

  /** A file system error of a store: out of space is a 507 the edge retries later; anything else is the caller's. */
  const storageError = (err: unknown): unknown => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return new HttpError(507, 'storage full; retry later', {}, { 'Retry-After': '30' });
    return err;
  };

  /**
   * Read the multipart body, writing its file parts straight into the upload's temporary folder
   * `tmp` (hashed and counted as they pass): a body was held in memory twice (its chunks, then
   * their concatenation), and 40 uploads of 31 MiB at once took the receiver to 2.28 GB. Now an
   * upload holds a few stream buffers whatever its size. Limits hold while reading: the body's
   * bytes are counted as they arrive (413 the moment maxBodyBytes is crossed, chunked or not),
   * the metadata part is capped at maxMetadataBytes; a part that is not 'metadata', 'image' or
   * 'crop-N' is refused (400 naming it) and not written; every stream (request, busboy, each
   * part, each file) has an error path that ends in reject, after every file written is closed
   * (so the caller's removal of `tmp` finds them all).
   */
  function readParts(req: http.IncomingMessage, tmp: string): Promise<ReceivedParts> {
    return new Promise((resolve, reject) => {
      let bb: busboy.Busboy;
      try {
        bb = busboy({ headers: req.headers, limits: { fileSize: maxBodyBytes, fieldSize: maxMetadataBytes, files: 2 + MAX_CROPS, fields: 2, parts: 4 + MAX_CROPS } });
      } catch (err) {
        req.resume();
        reject(new HttpError(415, `expected multipart/form-data (${(err as Error).message})`));
        return;
      }
      let metadata: Buffer | undefined;
      const files = new Map<string, ReceivedFile>();
      const writing: Array<{ out: import('node:fs').WriteStream; closed: Promise<void> }> = [];
      const seen = new Set<string>();
      // An HttpError is answered as it says; another error (a file that cannot be written) is a 500 whose detail goes to the log only.
      let error: Error | undefined;
      let settled = false;
      /** Settle once every file being written is closed: the error (the first one) or the parts. */
      const settle = (): void => {
        void Promise.all(writing.map((w) => w.closed)).then(() => (error ? reject(error) : resolve({ metadata, files })));
      };
      const fail = (e: Error): void => {
        if (settled) return;
        settled = true;
        error = e;
        req.unpipe(bb);
        bb.removeAllListeners('close');
        bb.on('error', () => {}); // later parser errors of an abandoned body
        bb.destroy();
        for (const w of writing) w.out.destroy();
        settle();
      };
      let received = 0;
      req.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBodyBytes) fail(new HttpError(413, `body exceeds ${maxBodyBytes} bytes`));
      });
      if (minUploadBytesPerS > 0) {
        let atWindowStart = 0;
        const slow = setInterval(() => {
          if (settled) return clearInterval(slow);
          if (received - atWindowStart < (minUploadBytesPerS * slowUploadWindowMs) / 1000) {
            clearInterval(slow);
            fail(new HttpError(408, `upload slower than ${minUploadBytesPerS} bytes/s over ${slowUploadWindowMs / 1000} s; retry later`));
          }
          atWindowStart = received;
        }, slowUploadWindowMs);
        slow.unref();
        req.once('close', () => clearInterval(slow));
      }
      /** A part this receiver does not know: refused by name, so a client's mistake (or a 1 MB 'evil' part) is not silently taken. */
      const unknownPart = (name: string): HttpError =>
        new HttpError(400, `unknown part '${name.slice(0, 64)}': a package has the parts 'metadata', 'image' and 'crop-N' (upload.content crops)`);
      bb.on('field', (name, value, info) => {
        if (name !== 'metadata') error ??= name === 'image' || CROP_PART.test(name) ? new HttpError(400, `part '${name}' has no filename: send it as a file part`) : unknownPart(name);
        else if (info.valueTruncated) error ??= new HttpError(413, `part '${name}' exceeds ${maxMetadataBytes} bytes`);
        else metadata = Buffer.from(value, 'utf8');
      });
      bb.on('file', (name, stream) => {
        stream.on('error', (err: Error) => fail(new HttpError(400, `malformed multipart body: ${err.message}`)));
        if (name === 'metadata') {
          const chunks: Buffer[] = [];
          let bytes = 0;
          stream.on('data', (c: Buffer) => {
            bytes += c.length;
            if (bytes > maxMetadataBytes) {
              error ??= new HttpError(413, `part '${name}' exceeds ${maxMetadataBytes} bytes`);
              chunks.length = 0;
            } else chunks.push(c);
          });
          stream.on('close', () => {
            if (!error) metadata = Buffer.concat(chunks);
          });
          return;
        }
        if (name !== 'image' && !CROP_PART.test(name)) error ??= unknownPart(name);
        else if (seen.has(name)) error ??= new HttpError(400, `part '${name}' sent twice`);
        seen.add(name);
        // Refused already: the rest of the body is read past (the answer waits for its end), not written.
        if (error || settled) {
          stream.resume();
          return;
        }
        const out = createWriteStream(join(tmp, `${name}.jpg`), { flags: 'wx' });
        writing.push({ out, closed: new Promise((r) => out.once('close', r)) });
        out.on('error', (err) => {
          error ??= storageError(err) as Error;
          stream.unpipe(out);
          stream.resume();
          out.destroy();
        });
        const hash = createHash('sha256');
        let bytes = 0;
        let head = Buffer.alloc(0);
        stream.on('data', (c: Buffer) => {
          bytes += c.length;
          hash.update(c);
          if (head.length < 2) head = Buffer.concat([head, c.subarray(0, 2 - head.length)]);
        });
        stream.on('limit', () => {
          error ??= new HttpError(413, `part '${name}' exceeds ${maxBodyBytes} bytes`);
        });
        stream.on('end', () => {
          if (!error) files.set(name, { bytes, sha256: hash.digest('hex'), soi: head[0] === 0xff && head[1] === 0xd8 });
        });
        stream.pipe(out);
      });
      for (const ev of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) {
        bb.on(ev, () => {
          error ??= new HttpError(400, 'too many parts');
        });
      }
      bb.on('error', (err) => fail(new HttpError(400, `malformed multipart body: ${(err as Error).message}`)));
      bb.on('close', () => {
        if (settled) return;
        settled = true;
        settle();
      });
      req.on('error', (err) => fail(new HttpError(400, `request failed: ${err.message}`)));
      req.on('aborted', () => fail(new HttpError(400, 'request aborted')));
      req.pipe(bb);
    });
  }

  /**
   * The metadata of the package published under `key`, as stored (its metadata.json). Undefined
   * when the folder went meanwhile (pruned): the caller asks the edge to retry.
   */
  async function storedMetadata(key: string): Promise<PackageMetadata | undefined> {
    let text: string;
    try {
      text = await fsp.readFile(join(pkgDir, keyDir(key), 'metadata.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    let m: PackageMetadata | undefined;
    try {
      m = JSON.parse(text) as PackageMetadata;
    } catch {}
    // Not the package of this key (edited by hand, truncated): nothing can be acknowledged against it.
    if (m === undefined || validatePackageMetadata(m).length > 0 || m.idempotencyKey !== key) {
      throw new Error(`the package folder of ${key} holds no readable metadata.json of that key: move the folder aside to take the package again`);
    }
    return m;
  }

  /** 409: another package is stored under the key. */
  const otherPackage = (key: string): HttpError =>
    new HttpError(409, `a different package is already stored under ${key} (another image sha256): the unit reuses imageIds (its stateDir was lost or reset?)`);

  /**
   * Store a package whose files readParts wrote into `tmp`: its metadata.json beside them,
   * everything fsynced, then published by renaming `tmp` to the key's folder. The rename is
   * atomic: of concurrent uploads of one key exactly one publishes. One that finds the folder
   * taken (it lost the race, or a crash left a published folder without its index row) is
   * compared with what is on disk: the stored metadata's content sha256, not the index (which may
   * not have the row yet) and never its own — it indexed its own metadata and answered 200
   * 'duplicate' whatever it held, so another image under the key was acknowledged and the index
   * took its sha256 while image.jpg kept the stored one. The stored package is indexed from its
   * own metadata; the same content is a duplicate, other content is 409.
   */
  async function store(metadata: PackageMetadata, metadataText: Buffer, tmp: string): Promise<'stored' | 'duplicate'> {
    const key = metadata.idempotencyKey;
    const prior = q.has.get(key);
    if (prior) {
      // U3: a re-send of the same package is a duplicate; other pixels under a key already
      // stored are another package (a unit whose imageIds restarted): refused, not swallowed.
      if (prior.sha256 !== contentSha256(metadata)) throw otherPackage(key);
      return 'duplicate';
    }
    const final = join(pkgDir, keyDir(key));
    try {
      stopCut();
      const fh = await fsp.open(join(tmp, 'metadata.json'), 'wx');
      try {
        await fh.writeFile(metadataText);
        await fh.sync();
      } finally {
        await fh.close();
      }
      // The parts were written by streams; each is made durable before the package is published.
      for (const name of await fsp.readdir(tmp)) {
        if (name === 'metadata.json') continue;
        stopCut();
        const part = await fsp.open(join(tmp, name), 'r+');
        try {
          await part.sync();
        } finally {
          await part.close();
        }
      }
      if (slowStores < (faults.slowStoreFirst ?? 0)) {
        slowStores++;
        log(`${key}: test fault: holding the store ${faults.slowStoreMs ?? 0} ms before publishing it`);
        await pause(faults.slowStoreMs ?? 0);
      }
      // The last moment to roll back: once published, the index row follows without a pause (index() is synchronous).
      stopCut();
    } catch (err) {
      // The store removed under the upload: said as such (503), not a 500 naming a missing file.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') ensureStore();
      // A full disk (ENOSPC) leaves no half-written package behind (the caller removes tmp), and the client retries.
      throw storageError(err);
    }
    // The index file removed or replaced during the upload: opened again now, not written after publishing.
    ensureStore();
    try {
      await fsp.rename(tmp, final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      const stored = await storedMetadata(key);
      // Removed between the rename and the read (retention): the edge sends it again and it is stored then.
      if (stored === undefined) throw new HttpError(503, `the package under ${key} was being removed; retry`, {}, { 'Retry-After': '1' });
      index(stored);
      if (contentSha256(stored) !== contentSha256(metadata)) throw otherPackage(key);
      return 'duplicate';
    }
    // Published by this request: it is the one that answers 'stored' (a loser may have indexed the folder first, from its metadata.json).
    index(metadata);
    return 'stored';
  }

  /**
   * The package's index row; true when this call added it. The index shares the disk: full, the
   * package's files stay published without a row, the edge is told 507 and retries, and the retry
   * (its files found in place) adds the row once there is room.
   */
  function index(m: PackageMetadata, receivedAtMs = Date.now()): boolean {
    let added: boolean;
    try {
      added = q.insert.run(...indexRow(m, receivedAtMs)).changes > 0;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_FULL') throw new HttpError(507, 'storage full; retry later', {}, { 'Retry-After': '30' }, { cause: err });
      throw err;
    }
    if (added) storedCount++;
    return added;
  }

  /** The row of a package, from its metadata alone (its parts' sizes and sha256 were checked against it before it was stored). */
  function indexRow(m: PackageMetadata, receivedAtMs: number): [string, string, number, string, number, number, string, string] {
    const trackIds = m.tracks.map((t) => t.trackId);
    let bytes = m.image?.bytes ?? 0;
    for (const c of m.crops ?? []) bytes += c.bytes;
    return [m.idempotencyKey, m.cameraId, m.imageId, m.timestampNs, receivedAtMs, bytes, contentSha256(m), JSON.stringify(trackIds)];
  }

  async function handlePost(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    stats.posts++;
    const n = stats.posts;
    if (!authorized(req)) {
      stats.unauthorized++;
      req.resume();
      throw new HttpError(401, 'missing or wrong bearer token');
    }
    const cl = Number(req.headers['content-length'] ?? 0);
    if (cl > maxBodyBytes) throw new HttpError(413, `body of ${cl} bytes exceeds ${maxBodyBytes}`);
    if (uploadsReading >= maxConcurrentUploads) {
      throw new HttpError(503, `more than ${maxConcurrentUploads} uploads in progress; retry later`, {}, { 'Retry-After': '1' });
    }
    if (n <= (faults.cutFirst ?? 0)) {
      stats.faultsCut++;
      log(`POST #${n}: test fault: cutting the connection mid-upload`);
      req.once('data', () => req.socket.destroy());
      req.resume();
      return;
    }
    if (n <= (faults.cutFirst ?? 0) + (faults.failFirst ?? 0)) {
      stats.faultsFailed++;
      req.resume();
      await new Promise((r) => req.once('end', r));
      const status = faults.failStatus ?? 503;
      log(`POST #${n}: test fault: answering ${status}`);
      sendJson(res, status, { error: 'test fault' }, faults.retryAfter !== undefined ? { 'Retry-After': faults.retryAfter } : {});
      return;
    }
    // Not read into a store that is gone (503, the edge keeps the package); an index file removed meanwhile is made again.
    ensureStore();
    // The key is known only once the metadata is read: the folder is named for the upload, and removed at the next start if a crash leaves it.
    const tmp = join(pkgDir, `.upload.tmp-${randomBytes(6).toString('hex')}`);
    try {
      await fsp.mkdir(tmp);
    } catch (err) {
      // In the try: a file system out of space or of inodes fails the mkdir itself (ENOSPC), a 507
      // like a write that fails — it was a 500 'internal error', which told the edge's operator nothing.
      req.resume();
      throw storageError(err);
    }
    let answer: { status: number; body: unknown };
    try {
      answer = await receive(req, n, tmp);
    } finally {
      // Published: the rename took it, nothing to remove. Refused or failed: nothing of it stays (before the answer: a client may look next).
      await fsp.rm(tmp, { recursive: true, force: true }).catch((err: NodeJS.ErrnoException) => log(`POST #${n}: temporary folder not removed (${err.code ?? err.message}); removed at the next start`));
    }
    sendJson(res, answer.status, answer.body);
  }

  /** Read, check and store one upload whose files go to `tmp`; its answer, or an HttpError. */
  async function receive(req: http.IncomingMessage, n: number, tmp: string): Promise<{ status: number; body: unknown }> {
    uploadsReading++;
    let parts: ReceivedParts;
    try {
      parts = await readParts(req, tmp);
    } finally {
      uploadsReading--;
    }
    const { metadata: metaBuf, files } = parts;
    if (!metaBuf) throw new HttpError(400, "missing part 'metadata'");
    const metaText = metaBuf.toString('utf8');
    if (jsonDepth(metaText, maxJsonDepth) > maxJsonDepth) throw new HttpError(400, `metadata nests deeper than ${maxJsonDepth} levels`);
    let metadata: PackageMetadata;
    try {
      metadata = JSON.parse(metaText) as PackageMetadata;
    } catch (err) {
      throw new HttpError(400, `metadata is not JSON: ${(err as Error).message}`);
    }
    const trackCount = (metadata as { tracks?: unknown } | null)?.tracks;
    if (Array.isArray(trackCount) && trackCount.length > maxTracks) {
      throw new HttpError(413, `metadata has ${trackCount.length} tracks, more than ${maxTracks}`);
    }
    const violations = validatePackageMetadata(metadata);
    if (violations.length > 0) {
      throw new HttpError(400, 'metadata does not match schema bestshot.package/v1', { reasons: violations.map((v) => `${v.path}: ${v.message}`) });
    }
    const expectedKey = idempotencyKey(metadata.cameraId, metadata.imageId);
    if (metadata.idempotencyKey !== expectedKey) throw new HttpError(400, `idempotencyKey '${metadata.idempotencyKey}' is not '${expectedKey}'`);
    const header = req.headers['idempotency-key'];
    if (header !== expectedKey) throw new HttpError(400, `Idempotency-Key header '${String(header ?? '')}' does not match metadata '${expectedKey}'`);
    // upload.content: 'image' (unless 'crops'), then one 'crop-N' part per metadata.crops[] entry.
    const expected: Array<{ name: string; bytes: number; sha256: string }> = [
      ...(metadata.image ? [{ name: 'image', bytes: metadata.image.bytes, sha256: metadata.image.sha256 }] : []),
      ...(metadata.crops ?? []).map((c) => ({ name: c.part, bytes: c.bytes, sha256: c.sha256 })),
    ];
    for (const e of expected) {
      const got = files.get(e.name);
      if (!got) throw new HttpError(400, `missing part '${e.name}'`);
      if (got.bytes !== e.bytes) throw new HttpError(400, `${e.name} has ${got.bytes} bytes, metadata says ${e.bytes}`);
      if (got.sha256 !== e.sha256) throw new HttpError(400, `${e.name} sha256 does not match metadata`);
      if (!got.soi) throw new HttpError(400, `${e.name} is not a JPEG (no SOI marker)`);
    }
    for (const name of files.keys()) {
      if (name === 'image' && !metadata.image) throw new HttpError(400, "part 'image' is not in the metadata (content 'crops')");
      if (!expected.some((e) => e.name === name)) throw new HttpError(400, `part '${name}' is not in the metadata`);
    }

    const outcome = await store(metadata, metaBuf, tmp);
    if (outcome === 'duplicate') {
      q.dup.run(expectedKey);
      stats.duplicates++;
    } else stats.stored++;
    // Whoever added a row (a loser may index a crash's folder): the limit holds either way.
    await prune();
    if (delayed < (faults.delayFirst ?? 0)) {
      delayed++;
      stats.faultsDelayed++;
      log(`POST #${n}: test fault: answering ${faults.delayMs ?? 0} ms late`);
      await pause(faults.delayMs ?? 0);
    }
    log(`POST #${n}: ${expectedKey} ${outcome}`);
    return outcome === 'duplicate' ? { status: 200, body: { duplicate: true, key: expectedKey } } : { status: 201, body: { stored: true, key: expectedKey } };
  }

  async function handleGet(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    if (url.pathname === '/packages') {
      const camera = url.searchParams.get('camera');
      const after = Number(url.searchParams.get('after') ?? 0);
      const limit = Math.min(10000, Number(url.searchParams.get('limit') ?? 1000));
      if (!Number.isInteger(after) || !Number.isInteger(limit) || limit < 1) throw new HttpError(400, 'after and limit must be integers');
      const rows = q.list.all(camera, camera, after, limit).map(storedPackage);
      sendJson(res, 200, { count: rows.length, packages: rows });
      return;
    }
    const m = /^\/packages\/([^/]+)\/(image\.jpg|crop-[0-9]{1,3}\.jpg|metadata\.json)$/.exec(url.pathname);
    if (m) {
      let key: string;
      try {
        key = decodeURIComponent(m[1]!);
      } catch {
        throw new HttpError(400, 'bad key encoding');
      }
      if (!q.has.get(key)) throw new HttpError(404, `no package '${key}'`);
      let data: Buffer;
      try {
        // Asynchronously: a frame may be 32 MiB, and a synchronous read held every other request behind it.
        data = await fsp.readFile(join(pkgDir, keyDir(key), m[2]!));
      } catch (err) {
        // Indexed but its files are gone (removed by hand, or a crash between publish and index): say so without the path.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new HttpError(404, `package '${key}' has no ${m[2]!}`);
        throw err;
      }
      res.writeHead(200, { 'Content-Type': m[2]!.endsWith('.jpg') ? 'image/jpeg' : 'application/json', 'Content-Length': data.length });
      res.end(data);
      return;
    }
    if (url.pathname === '/stats') {
      sendJson(res, 200, stats);
      return;
    }
    if (url.pathname === '/browse') {
      // Paged by seq: ?before=<seq of the last card shown>; a page is at most BROWSE_PAGE_ROWS packages.
      const before = Number(url.searchParams.get('before') ?? Number.MAX_SAFE_INTEGER);
      const limit = Number(url.searchParams.get('limit') ?? BROWSE_PAGE_ROWS);
      if (!Number.isInteger(before) || !Number.isInteger(limit) || limit < 1) throw new HttpError(400, 'before and limit must be integers');
      const rows = q.recent.all(before, Math.min(limit, BROWSE_PAGE_ROWS)).map(storedPackage);
      const total = (q.count.get() as { n: number }).n;
      const summaries = new Map<string, BrowseSummary>();
      // A few at a time: the first page after a start reads every card's metadata once.
      for (let i = 0; i < rows.length; i += 8) {
        const batch = rows.slice(i, i + 8);
        const got = await Promise.all(batch.map((r) => browseSummary(r.key)));
        batch.forEach((r, k) => summaries.set(r.key, got[k]!));
      }
      if (res.destroyed || req.destroyed) return;
      const older = rows.length > 0 && rows.length === Math.min(limit, BROWSE_PAGE_ROWS) ? rows.at(-1)!.seq : undefined;
      const html = renderBrowsePage(rows, summaries, total, older);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(html), 'Content-Security-Policy': "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'" });
      res.end(html);
      return;
    }
    throw new HttpError(404, `no route GET ${url.pathname}`);
  }

  /**
   * Refusals are logged REFUSAL_LINES a minute, the rest summed up in one line: anyone who can
   * reach the port, token or not, wrote a log line per request (thousands a second with
   * keep-alive), filling the disk under the log of a receiver that must never go down.
   */
  let refusalWindowStart = performance.now();
  let refusalsLogged = 0;
  let refusalsHeld: Record<string, number> = {};
  let refusalTimer: NodeJS.Timeout | undefined;
  const flushRefusals = (): void => {
    refusalTimer = undefined;
    const held = Object.values(refusalsHeld).reduce((a, n) => a + n, 0);
    if (held > 0) log(`${held} more refused requests not logged one by one in the last minute, by status: ${JSON.stringify(refusalsHeld)}`);
    refusalsHeld = {};
    refusalsLogged = 0;
    refusalWindowStart = performance.now();
  };
  const logRefusal = (line: string, status: number | 'tls'): void => {
    if (performance.now() - refusalWindowStart >= 60_000 && refusalTimer === undefined) flushRefusals();
    if (refusalsLogged < REFUSAL_LINES) {
      refusalsLogged++;
      log(line);
      return;
    }
    refusalsHeld[status] = (refusalsHeld[status] ?? 0) + 1;
    refusalTimer ??= setTimeout(flushRefusals, Math.max(0, refusalWindowStart + 60_000 - performance.now())).unref();
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // Everything below ends in the one catch: a request can be answered badly, never crash the process.
    let pathname = '?';
    const done = (async () => {
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://receiver');
      } catch {
        throw new HttpError(400, 'malformed request target');
      }
      pathname = url.pathname;
      // Stopping: a request that came after close() (on a kept-alive connection) is not started; the edge retries it.
      if (stopping) throw new HttpError(503, 'receiver stopping; retry later', {}, { 'Retry-After': '5', Connection: 'close' });
      // Monitors ask with HEAD as often as with GET (Node sends no body to a HEAD). Not ok while the
      // store cannot take uploads: it said ok while every upload was a 500 on a removed store.
      if ((req.method === 'GET' || req.method === 'HEAD') && url.pathname === '/healthz') {
        const problem = storeProblem();
        return problem === undefined ? sendJson(res, 200, { ok: true }) : sendJson(res, 503, { ok: false, reason: problem });
      }
      // Browsers ask for an icon after loading /browse; answer with nothing rather than a 404 in their console.
      if (req.method === 'GET' && url.pathname === '/favicon.ico') {
        res.writeHead(204, { 'Cache-Control': 'max-age=86400' }).end();
        return;
      }
      if (req.method === 'POST' && url.pathname === '/packages') return handlePost(req, res);
      const offered = url.searchParams.get('token');
      if (req.method === 'GET' && url.pathname === '/browse' && offered !== null && token !== undefined) {
        if (!sameSecret(Buffer.from(offered), Buffer.from(token))) {
          stats.unauthorized++;
          throw new HttpError(401, 'wrong token');
        }
        // Swap the token in the address bar for an HttpOnly cookie.
        res.writeHead(303, {
          Location: '/browse',
          // Secure over HTTPS: the browser then never sends the token over plain HTTP.
          'Set-Cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/${options.tls ? '; Secure' : ''}`,
          'Content-Length': 0,
        });
        res.end();
        return;
      }
      if (!authorized(req)) {
        stats.unauthorized++;
        throw new HttpError(401, 'missing or wrong bearer token');
      }
      if (req.method === 'GET') {
        // Listed from the index the store has now (made again if it was removed).
        ensureStore();
        return handleGet(req, res, url);
      }
      throw new HttpError(405, `method ${req.method} not allowed on ${url.pathname}`);
    })();
    const answered = done.catch((err: unknown) => {
      const known = err instanceof HttpError;
      const status = known ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      if (req.method === 'POST' && status !== 401) stats.rejected++;
      logRefusal(`${req.method} ${pathname}: ${status} ${message}`, status);
      if (res.headersSent || res.destroyed) return;
      // An unexpected error's message may name a storage path: it goes to the log only.
      const body = known ? { error: message, ...err.extra } : { error: 'internal error' };
      const headers: Record<string, string> = { ...(known ? err.headers : {}), ...(status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {}) };
      try {
        // Do not read the rest of a rejected upload.
        if (!req.complete) headers.Connection = 'close';
        sendJson(res, status, body, headers);
      } catch {
        req.socket.destroy();
        return;
      }
      if (!req.complete) res.once('finish', () => req.socket.destroy());
    });
    inFlight.set(res, answered);
    void answered.finally(() => inFlight.delete(res));
  };

  // A limit lowered since the last start applies before the first request, and is said: the packages go for good.
  const storedAtStart = storedCount;
  await prune();
  if (stats.pruned > 0) {
    (options.warn ?? ((line: string) => console.error(line)))(`retention: removed the ${stats.pruned} oldest of ${storedAtStart} stored packages at start (maxPackages ${maxPackages})`);
  }

  // Node checks request and header timeouts every connectionsCheckingInterval (default 30 s): check often enough for the limit to mean something.
  const connectionsCheckingInterval = Math.max(100, Math.min(1000, Math.floor(requestTimeoutMs / 4)));
  const server = options.tls
    ? https.createServer(
        {
          connectionsCheckingInterval,
          cert: options.tls.cert,
          key: options.tls.key,
          ca: options.tls.ca,
          requestCert: options.tls.requireClientCert ?? false,
          rejectUnauthorized: options.tls.requireClientCert ?? false,
        },
        handler,
      )
    : http.createServer({ connectionsCheckingInterval }, handler);
  server.keepAliveTimeout = 5000;
  // Slow bodies: the whole request within requestTimeoutMs (408), headers within
  // 10 s (or the request timeout when shorter), a silent connection closed after idleTimeoutMs.
  server.requestTimeout = requestTimeoutMs;
  server.headersTimeout = Math.min(10_000, requestTimeoutMs);
  server.timeout = idleTimeoutMs;
  server.on('timeout', (socket: import('node:net').Socket) => socket.destroy());
  // Malformed request lines and headers: answer 400 and close; a socket error is never fatal.
  // A refused TLS handshake (no client certificate, one signed by another CA, a client that does not
  // trust ours) never reaches the handler: said like a refused request, so an operator whose units
  // all fail with 'socket hang up' sees why here (at most REFUSAL_LINES a minute).
  // A client certificate that fails verification (another CA, expired, self-signed) ends the
  // handshake with the socket destroyed: the error is then a bare ECONNRESET and the socket has
  // forgotten its peer ('refused from an unknown address: ECONNRESET'). The reason is the
  // socket's authorizationError, the address is read from the TCP socket under it (kept in
  // 'connection', before the handshake).
  server.on('connection', (raw: import('node:net').Socket) => void raw.remoteAddress);
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: import('node:tls').TLSSocket & { _parent?: import('node:net').Socket | null }) => {
    const from = socket.remoteAddress ?? socket._parent?.remoteAddress ?? 'an unknown address';
    const why = socket.authorizationError ? `client certificate failed verification against the CA (--tls-ca): ${String(socket.authorizationError)}` : (err.code ?? err.message);
    logRefusal(`TLS handshake refused from ${from}: ${why}`, 'tls');
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: import('node:stream').Duplex) => {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    // A taken port: the index was open (its -wal and -shm left beside it, the WAL not checkpointed).
    db.close();
    throw err;
  }
  const actualPort = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    url: `${options.tls ? 'https' : 'http'}://${urlHost}:${actualPort}`,
    port: actualPort,
    stats: () => ({ ...stats }),
    close: () => (closing ??= stop()),
  };

  /**
   * The stop (Receiver.close). It cut every connection at once and closed the index in the
   * listener's close callback: a POST inside store() went on after db.close(), its index insert
   * threw, its files stayed published without an index row, and the edge, cut off, retried and was
   * answered 'duplicate' for a package never acknowledged. Now the requests in flight finish and
   * are answered (at most stopDrainMs), and the index is closed after the last one ended.
   */
  async function stop(): Promise<void> {
    stopping = true;
    if (refusalTimer) clearTimeout(refusalTimer);
    flushRefusals();
    // Their connections end with their answers, not kept alive for requests that would be refused.
    for (const res of inFlight.keys()) if (!res.headersSent) res.setHeader('Connection', 'close');
    const listenerClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (inFlight.size > 0) log(`stopping: ${inFlight.size} request(s) in flight get up to ${stopDrainMs} ms to finish`);
    const deadline = setTimeout(() => {
      log(`stopping: ${inFlight.size} request(s) not done within ${stopDrainMs} ms: connections cut, unpublished stores rolled back`);
      drainDeadline.abort();
      server.closeAllConnections();
    }, stopDrainMs);
    await listenerClosed;
    // A handler may outlive its connection (a client that left mid-store): the index stays open for it.
    while (inFlight.size > 0) await Promise.allSettled([...inFlight.values()]);
    clearTimeout(deadline);
    await pruning;
    if (indexOpen) db.close();
  }
}
