/**
 * The s3 sink (U1/U2 decide when, this decides how): PUTs the JPEG and a
 * JSON sidecar (the package metadata) to an S3-compatible bucket under a
 * deterministic key built from camera id, UTC capture date and imageId, so a
 * re-send after a crash overwrites the same object with the same bytes (U3
 * by construction). Each PUT carries ChecksumSHA256 (the store verifies it
 * where it implements flexible checksums: AWS S3, recent MinIO/Ceph); the
 * answer is verified too: a returned ChecksumSHA256 must match, else a plain
 * MD5 ETag must match the bytes (`verifyEtag`). Then each object is read
 * back by HEAD (size, stored sha256, MD5 ETag): a 200 says the store took a
 * body, not that the key still holds it. A store that applies a PUT whose
 * connection was cut (s3rver does: truncated, sometimes after the retry's
 * 200) leaves other bytes under the key, and no event may name them.
 *
 * Failures are classified as the HTTP sender does (U2): network errors,
 * timeouts, 408/429/5xx and the S3 codes that heal by themselves
 * (NoSuchBucket while an operator creates it, RequestTimeout, BadDigest,
 * ExpiredToken, RequestTimeTooSkewed, SlowDown) are retryable; other 4xx are
 * permanent (dead letter). The SDK's own retries are off (maxAttempts 1):
 * the uploader's back-off paces retries and keeps the FIFO order.
 * Credentials: given ones, else the SDK's default chain (env, shared
 * files, SSO, web identity, ECS/EC2 instance metadata).
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { invalidParameterError } from '../../errors.js';
import { encodeMetadata, type UploadPackage } from '../package.js';
import { classifyStatus, type PackageSender, type SendErrorKind, type SendResult } from '../sender.js';
import { frameImage, type ImageRef } from './event.js';

export interface S3SinkOptions {
  /** Bucket the objects go to (it must exist: the edge never creates buckets). */
  bucket: string;
  /** Key prefix without leading or trailing '/', e.g. 'fleet-a'. Default: none. */
  prefix?: string;
  /** Region for SigV4. Default 'us-east-1' (what most S3-compatible stores accept). */
  region?: string;
  /** Endpoint of an S3-compatible store (MinIO, Ceph RGW, s3rver); default: AWS S3 of the region. */
  endpoint?: string;
  /**
   * Path-style addressing (https://host/bucket/key) instead of virtual-host
   * (https://bucket.host/key). Default false; most self-hosted stores need true.
   */
  forcePathStyle?: boolean;
  /** Static credentials; when absent the SDK's default chain resolves them. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Also store the metadata JSON beside the image (`<imageId>.json`). Default true. */
  sidecar?: boolean;
  /**
   * Check a plain 32-hex ETag against the MD5 of the bytes when the store
   * returns no ChecksumSHA256. Default true; turn off for stores whose
   * ETags are not MD5s (SSE-KMS, some gateways).
   */
  verifyEtag?: boolean;
  /**
   * Objects of at least this many bytes go up as a multipart upload (parts
   * of `partSizeBytes`, each with its own ChecksumSHA256); smaller ones are
   * one PUT. Default 16 MiB: an edge JPEG (30–150 KB) never reaches it.
   */
  multipartThresholdBytes?: number;
  /** Part size of a multipart upload, bytes. Default 8 MiB; S3 needs at least 5 MiB (but for the last part). */
  partSizeBytes?: number;
  /** Time allowed to open the connection, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Time allowed for one request, ms. Default 30000. */
  requestTimeoutMs?: number;
  /** An S3Client to use instead of building one (tests, shared clients); not closed by close(). */
  client?: S3Client;
}

/** The deterministic object keys of a package: `<prefix>/<camera>/<yyyy>/<mm>/<dd>/<imageId>.jpg` and `.json` (UTC capture date). */
export function objectKeys(prefix: string | undefined, cameraId: string, imageId: number, timestampNs: string): { image: string; sidecar: string } {
  const d = new Date(Number(BigInt(timestampNs) / 1_000_000n));
  const yyyy = String(d.getUTCFullYear()).padStart(4, '0');
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  const dd = String(d.getUTCDate()).padStart(2, '0');
  const base = `${prefix ? `${prefix}/` : ''}${cameraId}/${yyyy}/${mm}/${dd}/${imageId}`;
  return { image: `${base}.jpg`, sidecar: `${base}.json` };
}

/** S3 error codes that heal without a change at the edge (retryable despite a 4xx status). */
const RETRYABLE_CODES = new Set(['NoSuchBucket', 'RequestTimeout', 'BadDigest', 'ExpiredToken', 'RequestTimeTooSkewed', 'SlowDown', 'XAmzContentSHA256Mismatch', 'InternalError', 'ServiceUnavailable']);

type Failure = Extract<SendResult, { kind: 'retryable' | 'permanent' }>;

/** Classify an SDK error the way the HTTP sender classifies a response (U2). */
export function classifyS3Error(err: unknown, durationMs: number): Failure {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  if (status === undefined) {
    const timeout = name === 'TimeoutError' || e.code === 'ETIMEDOUT' || /timeout/i.test(e.message ?? '');
    const errorKind: SendErrorKind = timeout ? 'timeout' : 'network';
    const what = name === 'AbortError' ? 'aborted' : `${e.code ?? name}: ${e.message ?? ''}`;
    return { kind: 'retryable', errorKind, reason: `S3 ${what}`, durationMs };
  }
  const reason = `S3 HTTP ${status} ${name}${e.message && e.message !== name ? `: ${e.message.slice(0, 300)}` : ''}`;
  if (RETRYABLE_CODES.has(name)) {
    return { kind: 'retryable', errorKind: status === 429 ? 'http429' : status >= 500 ? 'http5xx' : status === 408 ? 'http408' : 'http4xx', status, reason, durationMs };
  }
  const c = classifyStatus(status);
  if (c.kind === 'ok') return { kind: 'retryable', errorKind: 'network', status, reason: `${reason} (unexpected)`, durationMs };
  if (c.kind === 'permanent') return { kind: 'permanent', errorKind: c.errorKind, status, reason, durationMs };
  return { kind: 'retryable', errorKind: c.errorKind, status, reason, durationMs };
}

export type StoreResult = { kind: 'ok'; ref: ImageRef; durationMs: number } | Failure;

export class S3Sink implements PackageSender {
  readonly bucket: string;
  readonly prefix: string | undefined;
  readonly client: S3Client;
  readonly #ownsClient: boolean;
  readonly #sidecar: boolean;
  readonly #verifyEtag: boolean;
  readonly #multipartThreshold: number;
  readonly #partSize: number;
  /** Set once a read-back HEAD was refused with 403: this unit may write but not read. */
  #cannotRead = false;

  constructor(options: S3SinkOptions) {
    if (typeof options?.bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket)) {
      throw invalidParameterError('S3 bucket name', 'bucket', options?.bucket);
    }
    if (options.prefix !== undefined && (typeof options.prefix !== 'string' || /^\/|\/$/.test(options.prefix))) {
      throw invalidParameterError("key prefix without leading or trailing '/'", 'prefix', options.prefix);
    }
    if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
      throw new TypeError('Expected both accessKeyId and secretAccessKey for static S3 credentials but received only one');
    }
    this.bucket = options.bucket;
    this.prefix = options.prefix || undefined;
    this.#sidecar = options.sidecar ?? true;
    this.#verifyEtag = options.verifyEtag ?? true;
    this.#partSize = options.partSizeBytes ?? 8 * 1024 * 1024;
    if (!Number.isInteger(this.#partSize) || this.#partSize < 5 * 1024 * 1024) {
      throw invalidParameterError('integer >= 5242880 (5 MiB)', 'partSizeBytes', options.partSizeBytes);
    }
    this.#multipartThreshold = options.multipartThresholdBytes ?? 16 * 1024 * 1024;
    if (!Number.isInteger(this.#multipartThreshold) || this.#multipartThreshold < this.#partSize) {
      throw invalidParameterError(`integer >= partSizeBytes (${this.#partSize})`, 'multipartThresholdBytes', options.multipartThresholdBytes);
    }
    this.#ownsClient = options.client === undefined;
    this.client = options.client ?? new S3Client(s3ClientConfig(options));
  }

  keys(pkg: UploadPackage): { image: string; sidecar: string } {
    const m = pkg.metadata;
    return objectKeys(this.prefix, m.cameraId, m.imageId, m.timestampNs);
  }

  /** PUT the image (then the sidecar); ok only when every PUT answered 200 and verified. */
  async store(pkg: UploadPackage, signal?: AbortSignal): Promise<StoreResult> {
    const started = performance.now();
    const elapsed = (): number => performance.now() - started;
    const keys = this.keys(pkg);
    let image: ReturnType<typeof frameImage>;
    try {
      image = frameImage(pkg);
    } catch (err) {
      // No frame image (content 'crops'): a retry cannot help, so it is a dead letter with its reason.
      return { kind: 'permanent', errorKind: 'http4xx', status: 0, reason: (err as Error).message, durationMs: elapsed() };
    }
    try {
      const sidecar = this.#sidecar ? encodeMetadata(pkg.metadata) : undefined;
      await this.#put(keys.image, pkg.jpeg, 'image/jpeg', pkg, signal);
      if (sidecar !== undefined) await this.#put(keys.sidecar, sidecar, 'application/json', pkg, signal);
      // Read back after the last PUT: a cut earlier attempt that the store applies late has had the most time to show.
      await this.#readBack(keys.image, pkg.jpeg, signal);
      if (sidecar !== undefined) await this.#readBack(keys.sidecar, sidecar, signal);
    } catch (err) {
      if (err instanceof ChecksumMismatch) return { kind: 'retryable', errorKind: 'network', reason: err.message, durationMs: elapsed() };
      return classifyS3Error(err, elapsed());
    }
    const m = pkg.metadata;
    return {
      kind: 'ok',
      durationMs: elapsed(),
      ref: {
        contentType: 'image/jpeg',
        bucket: this.bucket,
        key: keys.image,
        ...(this.#sidecar ? { sidecarKey: keys.sidecar } : {}),
        sha256: image.sha256,
        bytes: image.bytes,
        width: m.width,
        height: m.height,
      },
    };
  }

  async #put(key: string, body: Buffer, contentType: string, pkg: UploadPackage, signal?: AbortSignal): Promise<void> {
    if (body.length >= this.#multipartThreshold) return this.#putMultipart(key, body, contentType, pkg, signal);
    const sha256 = createHash('sha256').update(body).digest();
    const sent = sha256.toString('base64');
    const res = await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentLength: body.length,
        ContentType: contentType,
        ChecksumSHA256: sent,
        // Lets a consumer verify by HEAD alone (x-amz-meta-*).
        Metadata: { 'idempotency-key': pkg.idempotencyKey, sha256: sha256.toString('hex') },
      }),
      { abortSignal: signal },
    );
    if (res.ChecksumSHA256 !== undefined) {
      if (res.ChecksumSHA256 !== sent) throw new ChecksumMismatch(`S3 checksum mismatch on ${key}: sent sha256 ${sent}, store answered ${res.ChecksumSHA256}`);
      return;
    }
    this.#checkEtag(key, body, res.ETag);
  }

  #checkEtag(what: string, body: Buffer, answered: string | undefined): void {
    const etag = answered?.replace(/"/g, '');
    if (this.#verifyEtag && etag !== undefined && /^[0-9a-f]{32}$/.test(etag)) {
      const md5 = createHash('md5').update(body).digest('hex');
      if (etag !== md5) throw new ChecksumMismatch(`S3 ETag mismatch on ${what}: bytes have MD5 ${md5}, store answered ${etag}`);
    }
  }

  /** Multipart upload: every part carries and has verified its SHA-256; aborted (best effort) on any failure. */
  async #putMultipart(key: string, body: Buffer, contentType: string, pkg: UploadPackage, signal?: AbortSignal): Promise<void> {
    const sha256 = createHash('sha256').update(body).digest('hex');
    const created = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        ContentType: contentType,
        ChecksumAlgorithm: 'SHA256',
        Metadata: { 'idempotency-key': pkg.idempotencyKey, sha256 },
      }),
      { abortSignal: signal },
    );
    const uploadId = created.UploadId!;
    try {
      const parts: Array<{ PartNumber: number; ETag?: string; ChecksumSHA256?: string }> = [];
      for (let offset = 0, n = 1; offset < body.length; offset += this.#partSize, n++) {
        const part = body.subarray(offset, Math.min(body.length, offset + this.#partSize));
        const sent = createHash('sha256').update(part).digest('base64');
        const res = await this.client.send(
          new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: part, ContentLength: part.length, ChecksumSHA256: sent }),
          { abortSignal: signal },
        );
        if (res.ChecksumSHA256 !== undefined && res.ChecksumSHA256 !== sent) {
          throw new ChecksumMismatch(`S3 checksum mismatch on ${key} part ${n}: sent sha256 ${sent}, store answered ${res.ChecksumSHA256}`);
        }
        if (res.ChecksumSHA256 === undefined) this.#checkEtag(`${key} part ${n}`, part, res.ETag);
        parts.push({ PartNumber: n, ETag: res.ETag, ...(res.ChecksumSHA256 !== undefined ? { ChecksumSHA256: res.ChecksumSHA256 } : {}) });
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }), { abortSignal: signal });
    } catch (err) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
      throw err;
    }
  }

  async send(pkg: UploadPackage, signal?: AbortSignal): Promise<SendResult> {
    const r = await this.store(pkg, signal);
    if (r.kind !== 'ok') return r;
    return { kind: 'ok', status: 200, body: JSON.stringify({ bucket: r.ref.bucket, key: r.ref.key }), durationMs: r.durationMs };
  }

  /** HEAD an object: its size, stored sha256 (x-amz-meta-sha256) and ETag, or undefined when absent. */
  async head(key: string, signal?: AbortSignal): Promise<{ bytes: number; sha256: string | undefined; etag: string | undefined } | undefined> {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
      return { bytes: h.ContentLength ?? 0, sha256: h.Metadata?.sha256, etag: h.ETag?.replace(/"/g, '') };
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw err;
    }
  }

  async #readBack(key: string, body: Buffer, signal?: AbortSignal): Promise<void> {
    const problem = await this.#differs(key, body.length, createHash('sha256').update(body).digest('hex'), createHash('md5').update(body).digest('hex'), signal);
    if (problem !== undefined) throw new ChecksumMismatch(problem);
  }

  /**
   * Whether the image a ref names is still under its key, checked before an event names it again
   * (s3+mqtt re-publishing a remembered object): undefined when it is, else what differs (then PUT again).
   */
  checkStored(ref: ImageRef, signal?: AbortSignal): Promise<string | undefined> {
    return this.#differs(ref.key!, ref.bytes, ref.sha256, undefined, signal);
  }

  /**
   * What differs between the object under `key` and the bytes stored there (size, then the stored
   * sha256, then a plain MD5 ETag), or undefined when it is them. A HEAD refused with 403 cannot
   * tell (write-only credentials: PutObject without GetObject): the PUT's verified answer stands,
   * and this sink stops asking rather than spend a request per package on a refusal.
   */
  async #differs(key: string, bytes: number, sha256: string, md5: string | undefined, signal?: AbortSignal): Promise<string | undefined> {
    if (this.#cannotRead) return undefined;
    let h: Awaited<ReturnType<S3Sink['head']>>;
    try {
      h = await this.head(key, signal);
    } catch (err) {
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 403) throw err;
      this.#cannotRead = true;
      return undefined;
    }
    if (h === undefined) return `S3 object ${key} is missing after it was stored`;
    if (h.bytes !== bytes) return `S3 object ${key} holds ${h.bytes} bytes, not the ${bytes} stored`;
    if (h.sha256 !== undefined && h.sha256 !== sha256) return `S3 object ${key} has stored sha256 ${h.sha256}, not the ${sha256} stored`;
    if (md5 !== undefined && this.#verifyEtag && h.etag !== undefined && /^[0-9a-f]{32}$/.test(h.etag) && h.etag !== md5) {
      return `S3 object ${key} has ETag ${h.etag}, not the MD5 ${md5} of the bytes stored`;
    }
    return undefined;
  }

  close(): void {
    if (this.#ownsClient) this.client.destroy();
  }
}

class ChecksumMismatch extends Error {}

/** The S3Client configuration shared by the sink and the ingest consumer. */
export function s3ClientConfig(
  o: Pick<S3SinkOptions, 'region' | 'endpoint' | 'forcePathStyle' | 'accessKeyId' | 'secretAccessKey' | 'sessionToken' | 'connectTimeoutMs' | 'requestTimeoutMs'>,
): S3ClientConfig {
  return {
    region: o.region ?? 'us-east-1',
    ...(o.endpoint !== undefined ? { endpoint: o.endpoint } : {}),
    forcePathStyle: o.forcePathStyle ?? false,
    ...(o.accessKeyId !== undefined && o.secretAccessKey !== undefined
      ? { credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey, ...(o.sessionToken ? { sessionToken: o.sessionToken } : {}) } }
      : {}),
    // The uploader's back-off paces retries (U2); the SDK's would hold a send slot.
    maxAttempts: 1,
    // Our ChecksumSHA256 only; no extra CRC32 the older S3-compatible stores reject.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: o.connectTimeoutMs ?? 5000, requestTimeout: o.requestTimeoutMs ?? 30000 },
  };
}
