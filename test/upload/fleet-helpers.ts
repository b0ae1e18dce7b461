/** Shared pieces of the fleet tests: an index reader and object checks against the real s3rver. */
import { createHash } from 'node:crypto';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { IngestConsumer, SqliteIngestIndex, type IngestOptions } from '../../src/ingest/index.js';
import { s3ClientConfig } from '../../src/upload/sinks/index.js';
import { S3RVER_CREDENTIALS, startMosquitto, startS3rver, type ServerProcess } from './fleet-servers.js';

export const BUCKET = 'fleet-test';

export interface Fleet {
  broker: ServerProcess;
  store: ServerProcess;
  consumers: IngestConsumer[];
}

/** The fleet's cloud end for a test: mosquitto and s3rver under `dir`, two ingest consumers sharing `group`, one index. */
export async function startFleet(dir: string, indexPath: string, group: string, extra: Partial<IngestOptions> = {}): Promise<Fleet> {
  const [broker, store] = await Promise.all([startMosquitto(join(dir, 'mq')), startS3rver(join(dir, 's3'), [BUCKET])]);
  const consumers: IngestConsumer[] = [];
  for (const n of [0, 1]) {
    consumers.push(
      await IngestConsumer.start({
        url: broker.url,
        group,
        clientId: `${group}-consumer-${n}`,
        connections: 2,
        s3: { endpoint: store.url, forcePathStyle: true, ...S3RVER_CREDENTIALS },
        index: new SqliteIngestIndex(indexPath),
        ...extra,
      }),
    );
  }
  return { broker, store, consumers };
}

export async function stopFleet(fleet: Partial<Fleet>, dir: string): Promise<void> {
  await Promise.all((fleet.consumers ?? []).map((c) => c.close()));
  await Promise.all([fleet.broker?.stop(), fleet.store?.stop()]);
  rmSync(dir, { recursive: true, force: true });
}

export function s3For(endpoint: string): S3Client {
  return new S3Client(s3ClientConfig({ endpoint, forcePathStyle: true, ...S3RVER_CREDENTIALS }));
}

export interface IndexedRow {
  id: string;
  bucket: string | null;
  key: string | null;
  sha256: string;
  consumer: string;
  indexed_at_ms: number;
}

/** Read the index file (a separate connection, as another process would). */
export function readIndex(path: string): { rows: IndexedRow[]; rejected: Array<{ id: string | null; reason: string }>; duplicates: number } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  try {
    const rows = db.prepare('SELECT id, bucket, key, sha256, consumer, indexed_at_ms FROM events').all() as IndexedRow[];
    const rejected = db.prepare('SELECT id, reason FROM rejected').all() as Array<{ id: string | null; reason: string }>;
    const duplicates = (db.prepare('SELECT COALESCE(SUM(count), 0) FROM duplicates').pluck().get() as number) ?? 0;
    return { rows, rejected, duplicates };
  } finally {
    db.close();
  }
}

export async function objectSha256(s3: S3Client, bucket: string, key: string): Promise<string> {
  const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return createHash('sha256').update(Buffer.from(await g.Body!.transformToByteArray())).digest('hex');
}
