/**
 * `bestshot ingest`: the cloud end of the fleet tier. An MQTT 5 consumer on
 * a shared subscription (`$share/<group>/<topic>`), so several processes
 * (and several connections per process) split the events between them; each
 * event is validated (schemas/event.v1.json), its object verified in the
 * store (GET + sha256, or HEAD + size and stored sha256), deduped by id
 * (U3) and written to the index with INSERT OR IGNORE. The PUBACK goes only
 * after the row is written, and sessions are persistent (clean start off,
 * session expiry), so an event is never acknowledged before it is indexed:
 * a consumer killed mid-event gets it again, and the index ignores the repeat.
 *
 * A transient store failure (object store down, object not yet visible) is
 * retried with back-off for verifyTimeoutMs while the event stays unacked;
 * after that, or for an invalid event or a wrong sha256, the event is
 * recorded in the `rejected` table and acknowledged (no poison loop); so is
 * an event over maxEventBytes, unread. A store that refuses the consumer's
 * own credentials (401/403, an expired token, a skewed clock, no credentials)
 * is no fault of the event: `denied` says what to fix, and the event waits
 * unacknowledged, retried, for as long as it lasts; it is never rejected for it.
 *
 * A broker that cannot be reached (refused, unknown host, no CONNACK) is
 * waited for, MQTT.js retrying every 250 ms; `waiting` says so with the
 * reason at the first failed attempt and then every waitReportMs, and
 * `connected` when every connection is back, so a mistyped or down broker
 * is never a silent wait.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import mqtt, { type IClientOptions, type IPublishPacket, type ISubscriptionMap, type MqttClient } from 'mqtt';
import { TypedEmitter } from '../events.js';
import { formatViolations } from '../json-schema.js';
import { invalidParameterError, optionalNumber } from '../errors.js';
import { BROKER_URL, isBrokerUrl, mqttConnectFailure } from '../upload/sinks/mqtt.js';
import { objectKeys, s3ClientConfig } from '../upload/sinks/s3.js';
import { validateEvent, type PackageEvent } from '../upload/sinks/event.js';
import { validatePackageMetadata } from '../upload/schema.js';
import type { PackageMetadata } from '../upload/package.js';
import type { IngestIndex } from './index-store.js';

export type VerifyMode = 'get' | 'head' | 'none';

export interface IngestOptions {
  /** Broker URL (mqtt://, mqtts://, ws://, wss://). */
  url: string;
  /** Shared-subscription group; every process of one group shares the load. Default 'bestshot-ingest'. */
  group?: string;
  /** Topic filter under the share. Default 'bestshot/+/+/objects'. */
  topic?: string;
  /** Client id prefix, unique per process and stable across restarts (its persistent sessions). Default 'bestshot-ingest-<hostname>'. */
  clientId?: string;
  /** MQTT connections (each a session in the group) of this process: events are processed one at a time per connection. Default 4. */
  connections?: number;
  /** Session expiry, s: how long the broker keeps a disconnected consumer's session and queue. Default 3600. */
  sessionExpiryS?: number;
  username?: string;
  password?: string;
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The store the events' bucket/key refer to. */
  s3?: { endpoint?: string; region?: string; forcePathStyle?: boolean; accessKeyId?: string; secretAccessKey?: string };
  /** 'get' (default): fetch and hash the object; 'head': size and stored x-amz-meta-sha256; 'none'. */
  verify?: VerifyMode;
  /** How long a transient store failure is retried before the event is rejected, ms. Default 30000. */
  verifyTimeoutMs?: number;
  /**
   * While the broker cannot be reached, `waiting` is emitted at the first failed attempt and then at
   * most every this many ms (lower: a busier log; higher: a long outage looks like a hang). Default 60000.
   */
  waitReportMs?: number;
  /**
   * Events larger than this many bytes are rejected unread (id from the `ce-id` user property).
   * Default 1 MiB: an event is 2–10 KB, one with an inline JPEG (the mqtt sink's capped inline
   * mode) 4/3 of the JPEG more; raise it above inlineImageMaxBytes × 4/3 + 64 KiB where inline
   * images are larger. Higher lets one event hold its connection longer: at ~30 MB each, the
   * events queued behind held the PINGRESP past the keepalive.
   */
  maxEventBytes?: number;
  index: IngestIndex;
}

export interface IngestStats {
  received: number;
  indexed: number;
  duplicates: number;
  rejected: number;
  verifyRetries: number;
}

export type IngestEvents = {
  indexed: [{ id: string; consumer: string }];
  duplicate: [{ id: string }];
  rejected: [{ id: string | null; reason: string }];
  /** The broker cannot be reached (why, for how long so far): at the first failed attempt, then every waitReportMs. */
  waiting: [{ reason: string; forMs: number }];
  /** Every connection is up again after `waiting`. */
  connected: [{ afterMs: number }];
  /**
   * The store refuses this consumer's credentials (what, and what to fix): at the first refusal,
   * then every waitReportMs. The events wait unacknowledged meanwhile, none is rejected for it.
   */
  denied: [{ reason: string; forMs: number }];
  /** The store answers this consumer again after `denied`. */
  allowed: [{ afterMs: number }];
  error: [Error];
};

/** MQTT.js connect timeout: an attempt with no CONNACK by then is closed and retried. */
const CONNECT_TIMEOUT_MS = 5000;

/** Longest wait between two tries of an event while the store refuses the consumer's credentials. */
const DENIED_RETRY_MAX_MS = 10000;

class Transient extends Error {}

/** The store refused the consumer's own credentials, permissions or clock: no fault of the event. */
class StoreDenied extends Error {}

/** The event is left to the broker, unacknowledged: the consumer closes, or the connection it came on is gone. */
class Unacked extends Error {}

/**
 * S3 error codes that blame the consumer whatever its status: AWS answers an expired session
 * token with 400, and the SDK throws CredentialsProviderError, no status, when it finds none.
 */
const DENIED_CODES = new Set(['ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'RequestTimeTooSkewed', 'CredentialsProviderError']);

const SET_CREDENTIALS = "set this consumer's S3 credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or the AWS SDK credential chain: profile, SSO, instance role) and restart it";

/** What the operator fixes for a refusal, by its S3 error code. */
function deniedHint(code: string): string {
  switch (code) {
    case 'InvalidAccessKeyId':
      return `the store knows no such access key id: ${SET_CREDENTIALS}`;
    case 'SignatureDoesNotMatch':
      return `the secret access key is not the key id's: ${SET_CREDENTIALS}`;
    case 'ExpiredToken':
    case 'InvalidToken':
    case 'TokenRefreshRequired':
      return `the session credentials expired or are not valid: renew them (AWS_SESSION_TOKEN with its key pair, or the chain's role or SSO session) and restart this consumer`;
    case 'RequestTimeTooSkewed':
      return "this host's clock is over 15 minutes off the store's: set its time (NTP)";
    case 'CredentialsProviderError':
      return `no credentials found: ${SET_CREDENTIALS}`;
    default:
      // AWS S3 also answers AccessDenied for a missing key to credentials without s3:ListBucket.
      return `the credentials may not read it: grant them s3:GetObject and s3:ListBucket on the bucket (bucket or IAM policy), or ${SET_CREDENTIALS}`;
  }
}

/** A StoreDenied naming `what` and the fix when the S3 error is the consumer's own, else undefined. */
function storeDenial(err: unknown, what: string): StoreDenied | undefined {
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = (err as Error).name;
  if (status !== 401 && status !== 403 && !DENIED_CODES.has(code)) return undefined;
  // A HEAD's answer has no body, so no code: the SDK calls it 'Unknown'.
  const answer = status === undefined ? `${code}: ${(err as Error).message}` : code === 'Unknown' ? `HTTP ${status}` : `HTTP ${status} ${code}`;
  return new StoreDenied(`${what}: ${answer}: ${deniedHint(code)}`);
}

/**
 * A spell of trouble (the broker unreachable, the store refusing the credentials) said at its start
 * and then at most once per period while it lasts, and its end said once.
 */
class Spell {
  #since: number | undefined;
  #saidAt = 0;

  /** The spell's length so far when it is to be said now (0 at its start), else undefined. */
  due(now: number, everyMs: number): number | undefined {
    if (this.#since === undefined) {
      this.#since = now;
      this.#saidAt = now;
      return 0;
    }
    if (now - this.#saidAt < everyMs) return undefined;
    this.#saidAt = now;
    return now - this.#since;
  }

  /** Ends the spell: its length, or undefined when none was on. */
  end(now: number): number | undefined {
    if (this.#since === undefined) return undefined;
    const ms = now - this.#since;
    this.#since = undefined;
    return ms;
  }
}

export class IngestConsumer extends TypedEmitter<IngestEvents> {
  readonly clients: MqttClient[] = [];
  readonly filter: string;
  readonly #o: IngestOptions;
  readonly #s3: S3Client | undefined;
  readonly #verify: VerifyMode;
  readonly #stats: IngestStats = { received: 0, indexed: 0, duplicates: 0, rejected: 0, verifyRetries: 0 };
  #closing = false;
  readonly #waitReportMs: number;
  readonly #maxEventBytes: number;
  /** The broker found unreachable: since when, and when that was last said. */
  readonly #unreachableSpell = new Spell();
  /** The store refusing the consumer's credentials: since when, and when that was last said. */
  readonly #deniedSpell = new Spell();
  /** Aborted by close(): ends the waits between tries at once. */
  readonly #stop = new AbortController();

  private constructor(o: IngestOptions) {
    super();
    if (!isBrokerUrl(o.url)) throw invalidParameterError(BROKER_URL, 'url', o.url);
    this.#o = o;
    this.#waitReportMs = o.waitReportMs ?? 60000;
    this.#maxEventBytes = optionalNumber('positive integer', 'maxEventBytes', o.maxEventBytes, 1024 * 1024);
    this.#verify = o.verify ?? 'get';
    this.filter = `$share/${o.group ?? 'bestshot-ingest'}/${o.topic ?? 'bestshot/+/+/objects'}`;
    this.#s3 = this.#verify === 'none' ? undefined : new S3Client(s3ClientConfig({ ...(o.s3 ?? {}), requestTimeoutMs: 15000 }));
  }

  /**
   * Connect every connection and subscribe; resolves once all are subscribed (waiting for a broker
   * that is down), rejects on a refused CONNECT (bad credentials: an answer, not an outage) after
   * closing what it opened. `listen` is called before the first connection opens, so listeners
   * hear the wait (`waiting`, `connected`) before start() resolves.
   */
  static async start(o: IngestOptions, listen?: (consumer: IngestConsumer) => void): Promise<IngestConsumer> {
    const c = new IngestConsumer(o);
    listen?.(c);
    const n = o.connections ?? 4;
    const prefix = o.clientId ?? `bestshot-ingest-${hostname()}`;
    try {
      await Promise.all(Array.from({ length: n }, (_, i) => c.#connect(`${prefix}-${i}`)));
    } catch (err) {
      // The caller gets no consumer to close: the other connections, the store client and the index are closed here.
      await c.close();
      throw err;
    }
    return c;
  }

  /** A connection attempt failed: said at once in an outage, then every waitReportMs. */
  #unreachable(reason: string): void {
    if (this.#closing) return;
    const forMs = this.#unreachableSpell.due(Date.now(), this.#waitReportMs);
    if (forMs !== undefined) this.emit('waiting', { reason, forMs });
  }

  #reached(): void {
    if (!this.clients.every((c) => c.connected)) return;
    const afterMs = this.#unreachableSpell.end(Date.now());
    if (afterMs !== undefined) this.emit('connected', { afterMs });
  }

  /** The store refused the consumer's credentials: said at once, then every waitReportMs while it lasts. */
  #denied(reason: string): void {
    if (this.#closing) return;
    const forMs = this.#deniedSpell.due(Date.now(), this.#waitReportMs);
    if (forMs !== undefined) this.emit('denied', { reason, forMs });
  }

  /** The store answered with the consumer's credentials (the object, or that it is not there). */
  #allowed(): void {
    const afterMs = this.#deniedSpell.end(Date.now());
    if (afterMs !== undefined) this.emit('allowed', { afterMs });
  }

  stats(): IngestStats {
    return { ...this.#stats };
  }

  #connect(clientId: string): Promise<void> {
    const o = this.#o;
    const opts: IClientOptions = {
      protocolVersion: 5,
      clientId,
      clean: false,
      // Back soon after a broker restart: until the shared subscription is renewed the broker drops events (see reconcile()).
      reconnectPeriod: 250,
      connectTimeout: CONNECT_TIMEOUT_MS,
      keepalive: 30,
      // Subscribed on every CONNACK below: mosquitto 2.0 restores a persistent session after a restart
      // but not its shared subscription, and MQTT.js would skip a topic it believes subscribed.
      resubscribe: false,
      properties: { sessionExpiryInterval: o.sessionExpiryS ?? 3600, receiveMaximum: 32 },
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
      ...(o.cert !== undefined ? { cert: o.cert, key: o.key } : {}),
    };
    const client = mqtt.connect(o.url, opts);
    let subscribed = false;
    // Per attempt: MQTT.js emits 'error' (refused, unknown host, a refused CONNECT) then 'close'; an
    // attempt that timed out closes without an error. The close of an established connection is no
    // failed attempt (the next attempt says whether the broker is gone).
    let failure: string | undefined;
    let reachedThisAttempt = false;
    let refusedAtStart = false;
    // Counts closes: an event whose connection closed is the broker's again (redelivered on resume),
    // so its handler stops at its next wait instead of retrying beside the redelivered copy for ever.
    let closes = 0;
    client.on('error', (err) => {
      if (client.connected) {
        if (!this.#closing && this.listenerCount('error') > 0) this.emit('error', err);
        return;
      }
      failure = mqttConnectFailure(err);
      // A refused CONNECT (an MQTT reason code) before start() resolved fails start (below): no wait to report.
      if (!subscribed && typeof (err as Error & { code?: unknown }).code === 'number') refusedAtStart = true;
    });
    client.on('close', () => {
      closes++;
      if (!reachedThisAttempt && !refusedAtStart) this.#unreachable(failure ?? `no CONNACK within ${CONNECT_TIMEOUT_MS / 1000} s`);
      failure = undefined;
      reachedThisAttempt = false;
    });
    client.on('connect', () => {
      reachedThisAttempt = true;
      this.#reached();
    });
    // The PUBACK is sent when the callback runs: only after the event is indexed (or rejected).
    client.handleMessage = (packet: IPublishPacket, callback: (err?: Error) => void): void => {
      const at = closes;
      this.#handle(packet, clientId, () => closes === at).then(
        () => callback(),
        (err: Error) => {
          // Not acknowledged: the broker redelivers it on the next session resume.
          if (err instanceof Unacked) return callback(err);
          if (this.listenerCount('error') > 0) this.emit('error', err);
          callback(err);
          if (!this.#closing) {
            try {
              client.reconnect();
            } catch {
              // already reconnecting
            }
          }
        },
      );
    };
    this.clients.push(client);
    return new Promise<void>((resolve, reject) => {
      const onConnect = (): void => {
        // The typed map cannot say `resubscribe` beside topic keys; MQTT.js reads it (forces the SUBSCRIBE).
        const map = { [this.filter]: { qos: 1 }, resubscribe: true } as unknown as ISubscriptionMap;
        client.subscribe(map, (err) => {
          if (subscribed) return;
          if (err) return reject(err);
          subscribed = true;
          resolve();
        });
      };
      client.on('connect', onConnect);
      // A broker that is not up yet is waited for (MQTT.js reconnects); a refused CONNECT (bad credentials,
      // not authorized: an MQTT reason code) is an answer, and start() fails with it.
      client.on('error', (err) => {
        if (!subscribed && typeof (err as Error & { code?: unknown }).code === 'number') reject(err);
      });
    });
  }

  /** `live`: whether the connection the event came on is still open (its PUBACK can still go). */
  async #handle(packet: IPublishPacket, consumer: string, live: () => boolean): Promise<void> {
    this.#stats.received++;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(String(packet.payload));
    if (payload.length > this.#maxEventBytes) {
      // Not decoded or parsed: JSON.parse, the schema and an index row of tens of MB hold this
      // connection's next events, and the PINGRESP behind them, for seconds each: the keepalive timed
      // out and events came again. The id the sink puts in a user property names it; the head is kept.
      const ceId = packet.properties?.userProperties?.['ce-id'];
      const id = typeof ceId === 'string' ? ceId : null;
      return this.#reject(id, `event of ${payload.length} bytes is over the limit of ${this.#maxEventBytes} bytes: not read`, payload.subarray(0, 64 * 1024).toString('utf8'), consumer);
    }
    const text = payload.toString('utf8');
    const index = this.#o.index;
    let event: PackageEvent;
    try {
      event = JSON.parse(text) as PackageEvent;
    } catch {
      return this.#reject(null, 'invalid JSON', text, consumer);
    }
    const violations = validateEvent(event);
    const id = typeof (event as { id?: unknown })?.id === 'string' ? event.id : null;
    if (violations.length > 0) return this.#reject(id, `invalid event: ${formatViolations(violations)}`, text, consumer);
    const pkg = event.data.package;
    const img = event.data.image;
    if (event.id !== pkg.idempotencyKey) return this.#reject(event.id, `id '${event.id}' differs from the package's idempotency key '${pkg.idempotencyKey}'`, text, consumer);
    if (pkg.image === null) return this.#reject(event.id, 'the package has no frame image (content crops); events carry frame packages', text, consumer);
    if (img.sha256 !== pkg.image.sha256 || img.bytes !== pkg.image.bytes) return this.#reject(event.id, 'image reference differs from the package metadata (sha256/bytes)', text, consumer);
    // The object key the s3 sink writes is the package's own (camera/yyyy/mm/dd/imageId.jpg under a
    // prefix): an event pointing at another package's object, even one with the same bytes, would
    // index one image under two ids.
    if (img.key !== undefined) {
      const own = objectKeys(undefined, pkg.cameraId, pkg.imageId, pkg.timestampNs).image;
      if (img.key !== own && !img.key.endsWith(`/${own}`)) {
        return this.#reject(event.id, `image key '${img.key}' is not this package's (expected '…${own}')`, text, consumer);
      }
    }
    // U3: a duplicate (re-send or redelivery) costs one lookup, no object fetch. Another image
    // under an indexed id is not a duplicate: a unit whose imageIds restarted (its stateDir lost
    // or reset) — rejected with the reason, as the HTTP receiver answers 409, never dropped as one.
    const indexedSha = index.sha256Of(event.id);
    if (indexedSha !== undefined && indexedSha !== img.sha256) {
      return this.#reject(
        event.id,
        `a different package is already indexed under ${event.id} (another image sha256): the unit reuses imageIds (its stateDir was lost or reset?); the object under the same key may have been overwritten`,
        text,
        consumer,
      );
    }
    if (indexedSha !== undefined) return this.#duplicate(event.id, consumer);
    const problem = await this.#verifyObject(event, live);
    if (problem !== undefined) return this.#reject(event.id, problem, text, consumer);
    const inserted = index.insert({
      id: event.id,
      cameraId: pkg.cameraId,
      imageId: pkg.imageId,
      site: event.bestshotsite,
      time: event.time,
      bucket: img.bucket ?? null,
      key: img.key ?? null,
      sha256: img.sha256,
      bytes: img.bytes,
      width: img.width,
      height: img.height,
      labels: event.data.objects.map((x) => x.label).join(','),
      event: text,
      consumer,
      indexedAtMs: Date.now(),
    });
    if (!inserted) return this.#duplicate(event.id, consumer);
    this.#stats.indexed++;
    this.emit('indexed', { id: event.id, consumer });
  }

  #duplicate(id: string, consumer: string): void {
    this.#stats.duplicates++;
    this.#o.index.countDuplicate(consumer);
    this.emit('duplicate', { id });
  }

  #reject(id: string | null, reason: string, payload: string, consumer: string): void {
    this.#stats.rejected++;
    this.#o.index.reject(id, reason, payload, consumer);
    this.emit('rejected', { id, reason });
  }

  /**
   * undefined when the object is there and right; else why not (after retrying transient failures).
   * While the store refuses the consumer's credentials it retries without a deadline: the event is
   * not at fault, and its object gets the whole verify timeout once the store answers.
   */
  async #verifyObject(event: PackageEvent, live: () => boolean): Promise<string | undefined> {
    const img = event.data.image;
    if (img.inlineBase64 !== undefined) {
      const bytes = Buffer.from(img.inlineBase64, 'base64');
      const sha = createHash('sha256').update(bytes).digest('hex');
      return sha === img.sha256 && bytes.length === img.bytes ? undefined : `inline image sha256 ${sha} (${bytes.length} bytes) differs from ${img.sha256}`;
    }
    if (this.#verify === 'none' || img.bucket === undefined || img.key === undefined || !this.#s3) return undefined;
    const timeoutMs = this.#o.verifyTimeoutMs ?? 30000;
    let deadline = Date.now() + timeoutMs;
    let delay = 100;
    for (;;) {
      try {
        return await this.#check(img.bucket, img.key, img.sha256, img.bytes);
      } catch (err) {
        if (this.#closing) throw new Unacked('closing');
        const denied = err instanceof StoreDenied;
        if (denied) {
          this.#denied(err.message);
          deadline = Date.now() + delay + timeoutMs;
        } else if (Date.now() + delay > deadline) return `object s3://${img.bucket}/${img.key} not verified: ${(err as Error).message}`;
        this.#stats.verifyRetries++;
        await this.#pause(delay, live);
        delay = Math.min(delay * 2, denied ? DENIED_RETRY_MAX_MS : 2000);
      }
    }
  }

  /** Waits before the next try; throws Unacked when the consumer closes or the event's connection is gone. */
  async #pause(ms: number, live: () => boolean): Promise<void> {
    await sleep(ms, undefined, { signal: this.#stop.signal }).catch(() => undefined);
    if (this.#closing) throw new Unacked('closing');
    if (!live()) throw new Unacked('connection closed: the broker delivers the event again');
  }

  /** Throws StoreDenied for the consumer's own credentials, Transient for what may heal; returns a reason for a wrong object. */
  #check(bucket: string, key: string, sha256: string, bytes: number): Promise<string | undefined> {
    return this.#checkWith(this.#s3!, bucket, key, sha256, bytes);
  }

  async #checkWith(s3: S3Client, bucket: string, key: string, sha256: string, bytes: number): Promise<string | undefined> {
    try {
      if (this.#verify === 'head') {
        const h = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        this.#allowed();
        if (h.ContentLength !== bytes) return `object s3://${bucket}/${key} has ${h.ContentLength} bytes, expected ${bytes}`;
        const stored = h.Metadata?.sha256;
        if (stored !== undefined && stored !== sha256) return `object s3://${bucket}/${key} has stored sha256 ${stored}, expected ${sha256}`;
        return undefined;
      }
      const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      this.#allowed();
      const body = Buffer.from(await g.Body!.transformToByteArray());
      const sha = createHash('sha256').update(body).digest('hex');
      if (sha !== sha256) return `object s3://${bucket}/${key} has sha256 ${sha} (${body.length} bytes), expected ${sha256}`;
      return undefined;
    } catch (err) {
      const denial = storeDenial(err, `object s3://${bucket}/${key}`);
      if (denial) throw denial;
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      // A 4xx (404) is the store answering with the consumer's credentials.
      if (status !== undefined && status < 500) this.#allowed();
      // 404: not (yet) visible — the edge PUTs before it publishes, so this heals or times out.
      throw new Transient(status === undefined ? `${(err as Error).name}: ${(err as Error).message}` : `HTTP ${status} ${(err as Error).name}`);
    }
  }

  /**
   * The object store is the record; events are notices. Index every stored
   * package (its JSON sidecar beside the image, s3/s3+mqtt sinks) the index
   * lacks: the sidecar is validated (schemas/package.v1.json), the image
   * verified as for an event, then inserted with INSERT OR IGNORE (U3).
   * Closes the gaps a broker leaves: an event dropped because no consumer
   * session held the subscription (mosquitto 2.0 after a restart), a session
   * that expired, a retained-nothing outage. Rows get consumer 'reconcile'.
   */
  async reconcile(bucket: string, prefix?: string): Promise<{ scanned: number; added: number; rejected: number }> {
    const s3 = this.#s3 ?? new S3Client(s3ClientConfig(this.#o.s3 ?? {}));
    const out = { scanned: 0, added: 0, rejected: 0 };
    let token: string | undefined;
    try {
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ...(prefix ? { Prefix: prefix } : {}), ...(token ? { ContinuationToken: token } : {}) }));
        for (const o of page.Contents ?? []) {
          if (!o.Key?.endsWith('.json')) continue;
          out.scanned++;
          const imageKey = `${o.Key.slice(0, -'.json'.length)}.jpg`;
          if (this.#o.index.hasObject(bucket, imageKey)) continue;
          const g = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
          const text = Buffer.from(await g.Body!.transformToByteArray()).toString('utf8');
          let meta: PackageMetadata;
          try {
            meta = JSON.parse(text) as PackageMetadata;
          } catch {
            out.rejected++;
            this.#reject(null, `sidecar s3://${bucket}/${o.Key}: invalid JSON`, text, 'reconcile');
            continue;
          }
          const violations = validatePackageMetadata(meta);
          if (violations.length > 0) {
            out.rejected++;
            this.#reject(null, `sidecar s3://${bucket}/${o.Key}: ${formatViolations(violations)}`, text, 'reconcile');
            continue;
          }
          if (this.#o.index.has(meta.idempotencyKey)) continue;
          const frame = meta.image;
          if (frame === null) {
            out.rejected++;
            this.#reject(meta.idempotencyKey, `sidecar s3://${bucket}/${o.Key}: the package has no frame image`, text, 'reconcile');
            continue;
          }
          // A refusal of the consumer's credentials ends the pass (below): it is no fault of the package.
          const problem = this.#verify === 'none' ? undefined : await this.#checkWith(s3, bucket, imageKey, frame.sha256, frame.bytes).catch((e: Error) => {
            if (e instanceof StoreDenied) throw e;
            return e.message;
          });
          if (problem !== undefined) {
            out.rejected++;
            this.#reject(meta.idempotencyKey, problem, text, 'reconcile');
            continue;
          }
          const inserted = this.#o.index.insert({
            id: meta.idempotencyKey,
            cameraId: meta.cameraId,
            imageId: meta.imageId,
            site: '',
            time: new Date(Number(BigInt(meta.timestampNs) / 1_000_000n)).toISOString(),
            bucket,
            key: imageKey,
            sha256: frame.sha256,
            bytes: frame.bytes,
            width: meta.width,
            height: meta.height,
            labels: meta.tracks.map((t) => t.label ?? t.entry.box.label).join(','),
            event: text,
            consumer: 'reconcile',
            indexedAtMs: Date.now(),
          });
          if (inserted) {
            out.added++;
            this.#stats.indexed++;
            this.emit('indexed', { id: meta.idempotencyKey, consumer: 'reconcile' });
          }
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      // The listing or a sidecar refused: said with what to fix, as for an event.
      throw storeDenial(err, `bucket s3://${bucket}`) ?? err;
    } finally {
      if (s3 !== this.#s3) s3.destroy();
    }
    return out;
  }

  /** Disconnect every connection (unacked events stay with the broker), close the store client and the index. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#stop.abort();
    await Promise.all(
      this.clients.map(
        (c) =>
          new Promise<void>((r) => {
            const t = setTimeout(() => c.end(true, {}, () => r()), 2000);
            c.end(false, {}, () => {
              clearTimeout(t);
              r();
            });
          }),
      ),
    );
    this.#s3?.destroy();
    this.#o.index.close();
    this.removeAllListeners();
  }
}
