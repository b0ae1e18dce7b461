/**
 * The ingest index: one row per package event, keyed by the event id (the
 * idempotency key, U3). Writes are `INSERT OR IGNORE`, so several consumer
 * processes sharing a subscription (and the broker's at-least-once
 * redeliveries) never index a package twice. SQLite in WAL mode with a busy
 * timeout serves one node; `IngestIndex` is the seam for a real database
 * (Postgres `INSERT … ON CONFLICT DO NOTHING` is the same contract).
 */
import Database from 'better-sqlite3';

export interface IndexRow {
  id: string;
  cameraId: string;
  imageId: number;
  site: string;
  /** Capture time, RFC 3339. */
  time: string;
  bucket: string | null;
  key: string | null;
  sha256: string;
  bytes: number;
  width: number;
  height: number;
  /** Object labels, comma-separated. */
  labels: string;
  /** The whole event JSON. */
  event: string;
  consumer: string;
  indexedAtMs: number;
}

export interface IngestIndex {
  /** True when the id is already indexed. */
  has(id: string): boolean;
  /** The image sha256 indexed under the id, or undefined when the id is not indexed. */
  sha256Of(id: string): string | undefined;
  /** True when a row refers to this stored image (reconcile). */
  hasObject(bucket: string, key: string): boolean;
  /** Insert once; false when the id was already there (a duplicate). */
  insert(row: IndexRow): boolean;
  /** A rejected event (invalid, inconsistent, object missing or wrong). */
  reject(id: string | null, reason: string, payload: string, consumer: string): void;
  /** Count a duplicate seen by `consumer` (for the stats). */
  countDuplicate(consumer: string): void;
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY,
  camera_id TEXT NOT NULL,
  image_id INTEGER NOT NULL,
  site TEXT NOT NULL,
  time TEXT NOT NULL,
  bucket TEXT,
  key TEXT,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  labels TEXT NOT NULL,
  event TEXT NOT NULL,
  consumer TEXT NOT NULL,
  indexed_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_camera_time ON events (camera_id, time);
CREATE INDEX IF NOT EXISTS events_object ON events (bucket, key);
CREATE TABLE IF NOT EXISTS rejected (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT,
  reason TEXT NOT NULL,
  payload TEXT NOT NULL,
  consumer TEXT NOT NULL,
  at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS duplicates (
  consumer TEXT PRIMARY KEY,
  count INTEGER NOT NULL
);
`;

export class SqliteIngestIndex implements IngestIndex {
  readonly db: Database.Database;
  readonly #has: Database.Statement;
  readonly #sha256Of: Database.Statement;
  readonly #insert: Database.Statement;
  readonly #hasObject: Database.Statement;
  readonly #reject: Database.Statement;
  readonly #dup: Database.Statement;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.#has = this.db.prepare('SELECT 1 FROM events WHERE id = ?').pluck();
    this.#sha256Of = this.db.prepare('SELECT sha256 FROM events WHERE id = ?').pluck();
    this.#hasObject = this.db.prepare('SELECT 1 FROM events WHERE bucket = ? AND key = ?').pluck();
    this.#insert = this.db.prepare(
      `INSERT OR IGNORE INTO events (id, camera_id, image_id, site, time, bucket, key, sha256, bytes, width, height, labels, event, consumer, indexed_at_ms)
       VALUES (@id, @cameraId, @imageId, @site, @time, @bucket, @key, @sha256, @bytes, @width, @height, @labels, @event, @consumer, @indexedAtMs)`,
    );
    this.#reject = this.db.prepare('INSERT INTO rejected (id, reason, payload, consumer, at_ms) VALUES (?, ?, ?, ?, ?)');
    this.#dup = this.db.prepare('INSERT INTO duplicates (consumer, count) VALUES (?, 1) ON CONFLICT(consumer) DO UPDATE SET count = count + 1');
  }

  has(id: string): boolean {
    return this.#has.get(id) !== undefined;
  }

  sha256Of(id: string): string | undefined {
    return this.#sha256Of.get(id) as string | undefined;
  }

  hasObject(bucket: string, key: string): boolean {
    return this.#hasObject.get(bucket, key) !== undefined;
  }

  insert(row: IndexRow): boolean {
    return this.#insert.run(row).changes === 1;
  }

  reject(id: string | null, reason: string, payload: string, consumer: string): void {
    this.#reject.run(id, reason, payload.slice(0, 64 * 1024), consumer, Date.now());
  }

  countDuplicate(consumer: string): void {
    this.#dup.run(consumer);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
