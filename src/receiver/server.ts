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
 *   GET  /browse[?token=…]               → HTML page of the newest packages (browse.ts; the token query sets a cookie)
 *   GET  /stats (token), GET /healthz (no token needed)
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
import { cookieToken, renderBrowsePage, TOKEN_COOKIE, type BrowseTrack } from './browse.js';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { accessSync, constants, existsSync, promises as fsp, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isIP, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import busboy from 'busboy';
import { BestshotError, ConfigError, invalidParameterError, unwritableDirAdvice } from '../errors.js';
import { idempotencyKey, sha256Hex, type PackageMetadata } from '../upload/package.js';
import { validatePackageMetadata } from '../upload/schema.js';
import { makeDirectory } from '../process-lock.js';

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
  /** Largest request body accepted, bytes. Default 32 MiB; larger gets 413 as soon as the limit is crossed (chunked bodies too). */
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
  ) {
    super(message);
  }
}

const keyDir = (key: string): string => encodeURIComponent(key);

/**
 * How long close() lets the requests in flight finish, by default: a package of a few hundred KB
 * arrives and is fsynced in well under a second on a working link and disk, and it stays inside
 * the stop time supervisors give before a kill (docker stop: 10 s; systemd: 90 s).
 */
export const DEFAULT_STOP_DRAIN_MS = 5000;

/** Refused requests logged one line each per minute; the rest are counted in one line (logRefusal). */
const REFUSAL_LINES = 20;

/** Leftover of a store interrupted by a crash: `<key>.tmp-<12 hex>` (see store()). */
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
  const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const maxMetadataBytes = options.maxMetadataBytes ?? 1024 * 1024;
  const maxTracks = options.maxTracks ?? 1000;
  const maxJsonDepth = options.maxJsonDepth ?? 32;
  const maxConcurrentUploads = options.maxConcurrentUploads ?? 64;
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
  const log = options.log ?? (() => {});
  const token = options.token;
  const expectedAuth = token !== undefined ? Buffer.from(`Bearer ${token}`) : undefined;
  // Without a CA no client certificate can be verified: every handshake would fail, every client be
  // refused, and the receiver stay silent about why (the start said it listens, and warned of no auth).
  if (options.tls?.requireClientCert === true && options.tls.ca === undefined) {
    throw new ConfigError('tls.ca', 'requireClientCert needs the CA that signed the clients\' certificates: without one every client is refused');
  }
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
  let db: Database.Database;
  try {
    db = new Database(indexPath);
  } catch (err) {
    throw unwritableIndex(err);
  }
  try {
    db.pragma('journal_mode = WAL');
  } catch (err) {
    db.close();
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
    db.pragma('synchronous = FULL');
    db.exec(`CREATE TABLE IF NOT EXISTS packages (
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
  } catch (err) {
    db.close();
    throw unwritableIndex(err);
  }
  const q = {
    has: db.prepare<[string], { seq: number; sha256: string }>('SELECT seq, sha256 FROM packages WHERE key = ?'),
    insert: db.prepare(
      'INSERT OR IGNORE INTO packages (key, camera_id, image_id, timestamp_ns, received_at_ms, bytes, sha256, track_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    dup: db.prepare('UPDATE packages SET duplicates = duplicates + 1 WHERE key = ?'),
    list: db.prepare<[string | null, string | null, number, number], Record<string, unknown>>(
      'SELECT * FROM packages WHERE (? IS NULL OR camera_id = ?) AND seq > ? ORDER BY seq LIMIT ?',
    ),
    recent: db.prepare<[number], Record<string, unknown>>('SELECT * FROM packages ORDER BY seq DESC LIMIT ?'),
    count: db.prepare('SELECT COUNT(*) AS n FROM packages'),
    oldest: db.prepare<[number], { key: string }>('SELECT key FROM packages ORDER BY seq LIMIT ?'),
    remove: db.prepare('DELETE FROM packages WHERE key = ?'),
  };
  /** The tracks of a stored package for the browse page (a package whose metadata cannot be read shows none). */
  const browseTracks = (key: string): BrowseTrack[] => {
    try {
      const meta = JSON.parse(readFileSync(join(pkgDir, keyDir(key), 'metadata.json'), 'utf8')) as {
        tracks?: Array<{ trackId: number; label?: string; entry: { box: { label: string; score: number } } }>;
      };
      return (meta.tracks ?? []).map((t) => ({ trackId: t.trackId, label: t.label ?? t.entry.box.label, score: t.entry.box.score }));
    } catch {
      return [];
    }
  };
  /** upload.content crops of a stored package, for the browse page. */
  const browseCrops = (key: string): { hasImage: boolean; crops: string[] } => {
    try {
      const meta = JSON.parse(readFileSync(join(pkgDir, keyDir(key), 'metadata.json'), 'utf8')) as { image?: unknown; crops?: Array<{ part: string }> };
      return { hasImage: meta.image !== null, crops: (meta.crops ?? []).map((c) => c.part).filter((p) => CROP_PART.test(p)) };
    } catch {
      return { hasImage: true, crops: [] };
    }
  };
  const stats: ReceiverStats = { posts: 0, stored: 0, duplicates: 0, rejected: 0, unauthorized: 0, faultsCut: 0, faultsFailed: 0, faultsDelayed: 0, pruned: 0 };
  /**
   * Retention (maxPackages): the oldest packages beyond the limit go, row first (a GET then says
   * 404, never serves half a package), then the files. One prune at a time; a failure to remove
   * files is logged and retried at the next prune (the row is gone: they are only disk space).
   */
  let storedCount = (q.count.get() as { n: number }).n;
  let pruning: Promise<void> = Promise.resolve();
  const prune = (): Promise<void> =>
    (pruning = pruning.then(async () => {
      if (maxPackages === undefined || storedCount <= maxPackages) return;
      const keys = q.oldest.all(storedCount - maxPackages).map((r) => r.key);
      for (const key of keys) {
        q.remove.run(key);
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

  /**
   * Read the multipart body. Limits hold while reading: the body's bytes are
   * counted as they arrive (413 the moment maxBodyBytes is crossed, chunked
   * or not), the metadata part is capped at maxMetadataBytes; every stream
   * (request, busboy, each part) has an error path that ends in reject.
   */
  function readParts(req: http.IncomingMessage): Promise<{ metadata: Buffer | undefined; image: Buffer | undefined; crops: Map<string, Buffer> }> {
    return new Promise((resolve, reject) => {
      let bb: busboy.Busboy;
      try {
        bb = busboy({ headers: req.headers, limits: { fileSize: maxBodyBytes, fieldSize: maxMetadataBytes, files: 2 + MAX_CROPS, fields: 2, parts: 4 + MAX_CROPS } });
      } catch (err) {
        req.resume();
        reject(new HttpError(415, `expected multipart/form-data (${(err as Error).message})`));
        return;
      }
      const parts: { metadata?: Buffer; image?: Buffer } = {};
      const crops = new Map<string, Buffer>();
      let error: HttpError | undefined;
      let settled = false;
      const fail = (e: HttpError): void => {
        if (settled) return;
        settled = true;
        req.unpipe(bb);
        bb.removeAllListeners('close');
        bb.on('error', () => {}); // later parser errors of an abandoned body
        bb.destroy();
        reject(e);
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
      bb.on('field', (name, value, info) => {
        if (info.valueTruncated) error ??= new HttpError(413, `part '${name}' exceeds ${maxMetadataBytes} bytes`);
        else if (name === 'metadata') parts.metadata = Buffer.from(value, 'utf8');
      });
      bb.on('file', (name, stream) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        const limit = name === 'metadata' ? maxMetadataBytes : maxBodyBytes;
        stream.on('data', (c: Buffer) => {
          bytes += c.length;
          if (bytes > limit) {
            error ??= new HttpError(413, `part '${name}' exceeds ${limit} bytes`);
            chunks.length = 0;
            stream.resume();
            return;
          }
          if (name === 'metadata' || name === 'image' || CROP_PART.test(name)) chunks.push(c);
        });
        stream.on('limit', () => {
          error ??= new HttpError(413, `part '${name}' exceeds ${maxBodyBytes} bytes`);
        });
        stream.on('error', (err: Error) => fail(new HttpError(400, `malformed multipart body: ${err.message}`)));
        stream.on('close', () => {
          if (!error && (name === 'metadata' || name === 'image')) parts[name] = Buffer.concat(chunks);
          else if (!error && CROP_PART.test(name)) crops.set(name, Buffer.concat(chunks));
        });
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
        if (error) reject(error);
        else resolve({ metadata: parts.metadata, image: parts.image, crops });
      });
      req.on('error', (err) => fail(new HttpError(400, `request failed: ${err.message}`)));
      req.on('aborted', () => fail(new HttpError(400, 'request aborted')));
      req.pipe(bb);
    });
  }

  async function store(metadata: PackageMetadata, metadataText: Buffer, image: Buffer | undefined, crops: ReadonlyMap<string, Buffer>): Promise<'stored' | 'duplicate'> {
    const key = metadata.idempotencyKey;
    const prior = q.has.get(key);
    if (prior) {
      // U3: a re-send of the same package is a duplicate; other pixels under a key already
      // stored are another package (a unit whose imageIds restarted): refused, not swallowed.
      if (prior.sha256 !== contentSha256(metadata)) {
        throw new HttpError(409, `a different package is already stored under ${key} (another image sha256): the unit reuses imageIds (its stateDir was lost or reset?)`);
      }
      return 'duplicate';
    }
    const final = join(pkgDir, keyDir(key));
    const tmp = `${final}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      // In the try: a file system out of space or of inodes fails the mkdir itself (ENOSPC), a 507
      // like a write that fails — it was a 500 'internal error', which told the edge's operator nothing.
      await fsp.mkdir(tmp);
      const files: Array<readonly [string, Buffer]> = [...(image ? [['image.jpg', image] as const] : []), ...[...crops].map(([n, d]) => [`${n}.jpg`, d] as const), ['metadata.json', metadataText]];
      for (const [name, data] of files) {
        stopCut();
        const fh = await fsp.open(join(tmp, name), 'w');
        try {
          await fh.writeFile(data);
          await fh.sync();
        } finally {
          await fh.close();
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
      // A full disk (ENOSPC) leaves no half-written package behind, and the client retries.
      await fsp.rm(tmp, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EDQUOT') throw new HttpError(507, 'storage full; retry later', {}, { 'Retry-After': '30' });
      throw err;
    }
    try {
      // Atomic publish: a second writer of the same key finds the directory taken.
      await fsp.rename(tmp, final);
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true });
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      // Another request published this key first (or a crash left its files without an index row).
      index(metadata, image, crops);
      return 'duplicate';
    }
    // Exactly one request per key answers 'stored'.
    return index(metadata, image, crops) ? 'stored' : 'duplicate';
  }

  /**
   * The package's index row; true when this call added it. The index shares the disk: full, the
   * package's files stay published without a row, the edge is told 507 and retries, and the retry
   * (its files found in place) adds the row once there is room.
   */
  function index(m: PackageMetadata, image: Buffer | undefined, crops: ReadonlyMap<string, Buffer>): boolean {
    try {
      return q.insert.run(...indexRow(m, image, crops)).changes > 0;
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_FULL') throw new HttpError(507, 'storage full; retry later', {}, { 'Retry-After': '30' });
      throw err;
    }
  }

  function indexRow(m: PackageMetadata, image: Buffer | undefined, crops: ReadonlyMap<string, Buffer>): [string, string, number, string, number, number, string, string] {
    const trackIds = m.tracks.map((t) => t.trackId);
    let bytes = image?.length ?? 0;
    for (const c of crops.values()) bytes += c.length;
    return [m.idempotencyKey, m.cameraId, m.imageId, m.timestampNs, Date.now(), bytes, contentSha256(m), JSON.stringify(trackIds)];
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
    uploadsReading++;
    let parts: Awaited<ReturnType<typeof readParts>>;
    try {
      parts = await readParts(req);
    } finally {
      uploadsReading--;
    }
    const { metadata: metaBuf, image, crops } = parts;
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
      const data = e.name === 'image' ? image : crops.get(e.name);
      if (!data) throw new HttpError(400, `missing part '${e.name}'`);
      if (data.length !== e.bytes) throw new HttpError(400, `${e.name} has ${data.length} bytes, metadata says ${e.bytes}`);
      if (sha256Hex(data) !== e.sha256) throw new HttpError(400, `${e.name} sha256 does not match metadata`);
      if (data[0] !== 0xff || data[1] !== 0xd8) throw new HttpError(400, `${e.name} is not a JPEG (no SOI marker)`);
    }
    for (const name of crops.keys()) if (!expected.some((e) => e.name === name)) throw new HttpError(400, `part '${name}' is not in the metadata`);
    if (image && !metadata.image) throw new HttpError(400, "part 'image' is not in the metadata (content 'crops')");

    const outcome = await store(metadata, metaBuf, metadata.image ? image : undefined, crops);
    if (outcome === 'duplicate') {
      q.dup.run(expectedKey);
      stats.duplicates++;
    } else {
      stats.stored++;
      storedCount++;
      await prune();
    }
    if (delayed < (faults.delayFirst ?? 0)) {
      delayed++;
      stats.faultsDelayed++;
      log(`POST #${n}: test fault: answering ${faults.delayMs ?? 0} ms late`);
      await pause(faults.delayMs ?? 0);
    }
    log(`POST #${n}: ${expectedKey} ${outcome}`);
    if (outcome === 'duplicate') sendJson(res, 200, { duplicate: true, key: expectedKey });
    else sendJson(res, 201, { stored: true, key: expectedKey });
  }

  function handleGet(res: http.ServerResponse, url: URL): void {
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
        data = readFileSync(join(pkgDir, keyDir(key), m[2]!));
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
      const rows = q.recent.all(200).map(storedPackage);
      const total = (q.count.get() as { n: number }).n;
      const html = renderBrowsePage(rows, (key) => browseTracks(key), total, (key) => browseCrops(key));
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
      if (req.method === 'GET' && url.pathname === '/healthz') return sendJson(res, 200, { ok: true });
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
          'Set-Cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
          'Content-Length': 0,
        });
        res.end();
        return;
      }
      if (!authorized(req)) {
        stats.unauthorized++;
        throw new HttpError(401, 'missing or wrong bearer token');
      }
      if (req.method === 'GET') return handleGet(res, url);
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
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: import('node:tls').TLSSocket) => {
    logRefusal(`TLS handshake refused from ${socket.remoteAddress ?? 'an unknown address'}: ${err.code ?? err.message}`, 'tls');
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
    db.close();
  }
}
