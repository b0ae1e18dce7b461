/**
 * The uploader (U1, U2, U3): immediate packages are sent at once with
 * bounded concurrency and fall back to the durable queue on failure (never
 * lost); the queue is drained oldest-first, one package every 1/sendHz, each
 * removed only after a 2xx; retryable failures back off exponentially with
 * jitter (Retry-After honoured) and keep the FIFO order; permanent failures
 * go to the dead-letter table with the reason.
 */
import { InvalidStateError, QueueError, invalidParameterError, optionalNumber } from '../errors.js';
import { TypedEmitter } from '../events.js';
import { backoffDelayMs, resolveBackoff, type BackoffOptions, type ResolvedBackoff } from './backoff.js';
import type { UploadPackage, UploadRoute } from './package.js';
import { PackageQueue, type EnqueueResult, type QueueOptions } from './queue.js';
import { HttpSender, type PackageSender, type SendErrorKind, type SendResult, type SenderOptions } from './sender.js';

export interface UploaderOptions {
  /** A sender, or options for an HttpSender the uploader then owns (and closes). */
  sender: PackageSender | SenderOptions;
  /** A queue, or options for a PackageQueue the uploader then owns (and closes). */
  queue: PackageQueue | QueueOptions;
  /**
   * U2: cached packages sent per second. Default 2 (SPEC). Higher drains a
   * backlog sooner but takes more of the uplink from immediate packages.
   */
  sendHz?: number;
  /**
   * U1: immediate sends in flight at once. Default 2. Higher hides latency
   * on a long-RTT link; lower keeps the uplink for one image at a time.
   */
  immediateConcurrency?: number;
  /**
   * Immediate packages waiting for a send slot. Default 16. Every immediate
   * package is written to the durable queue first, so nothing here is at risk
   * on a kill -9; beyond this count they are left to the queue's drain.
   */
  maxImmediatePending?: number;
  /** Back-off of retryable failures; defaults 500 ms doubling up to 60 s. */
  backoff?: BackoffOptions;
  /**
   * How long close() waits for in-flight sends before aborting them, ms.
   * Default 5000. An aborted cached send stays queued; an aborted immediate
   * send is queued.
   */
  closeTimeoutMs?: number;
  /** Random source for the jitter (tests); default Math.random. */
  random?: () => number;
  /**
   * Monotonic clock, ms (tests); default performance.now. Back-off waits are
   * measured on it, never on the wall clock: a wall clock stepped back (an NTP
   * correction) would hold the queue until it caught up (U2).
   */
  now?: () => number;
}

export interface SentEvent {
  idempotencyKey: string;
  route: UploadRoute;
  status: number;
  durationMs: number;
  /** Response body (the receiver answers {"duplicate":true} for a known key). */
  body: string;
  /** Bytes of the acknowledged package's image. */
  bytes: number;
}

export interface RetryEvent {
  idempotencyKey: string;
  route: UploadRoute;
  errorKind: SendErrorKind;
  reason: string;
  /** Delay before the next try of the queue head; undefined for an immediate package (it is queued). */
  delayMs?: number;
}

export type UploaderEvents = {
  sent: [SentEvent];
  retry: [RetryEvent];
  queued: [{ idempotencyKey: string; reason: 'cached' | 'immediate-failed' | 'immediate-overflow' | 'closing'; seq: number }];
  /** U1: an immediate package written ahead to the queue (so a kill -9 cannot lose it) before its send. */
  persisted: [{ idempotencyKey: string; seq: number }];
  dropped: [{ idempotencyKey: string; bytes: number }];
  deadLettered: [{ idempotencyKey: string; route: UploadRoute; status: number; reason: string }];
  /** A new package the queue could not write (disk full): refused and counted; capture goes on. */
  refused: [{ idempotencyKey: string; reason: string }];
  error: [Error];
};

export interface UploaderStats {
  sentImmediate: number;
  sentCached: number;
  /** Failed tries that will be retried (immediate fallbacks included). */
  retries: number;
  errorsByKind: Record<SendErrorKind, number>;
  /** Persistent queue counters (survive restarts). */
  enqueued: number;
  dropped: number;
  droppedBytes: number;
  deadLettered: number;
  delivered: number;
  /** Packages lost with a corrupt queue file (persistent; see PackageQueue). */
  setAside: number;
  /** Queued packages replaced by a better one of the same objects (counted, never sent). */
  replaced: number;
  /** New packages refused because the queue could not write them (disk full), this run. */
  refusedDiskFull: number;
  /** Delivered packages whose ack waits for disk space (retried, never re-sent). */
  acksPending: number;
  queueDepth: number;
  queueBytes: number;
  immediateInFlight: number;
  immediatePending: number;
}

function isDiskFull(err: unknown): boolean {
  return err instanceof QueueError && err.code === 'ERR_QUEUE_FULL_DISK';
}

function isSender(s: PackageSender | SenderOptions): s is PackageSender {
  return typeof (s as PackageSender).send === 'function';
}

export class Uploader extends TypedEmitter<UploaderEvents> {
  readonly sendHz: number;
  readonly immediateConcurrency: number;
  readonly maxImmediatePending: number;
  readonly queue: PackageQueue;
  readonly #sender: PackageSender;
  readonly #ownsSender: boolean;
  readonly #ownsQueue: boolean;
  readonly #backoff: ResolvedBackoff;
  readonly #closeTimeoutMs: number;
  readonly #random: () => number;
  readonly #now: () => number;

  #timer: NodeJS.Timeout | undefined;
  #draining: Promise<void> | null = null;
  #headFailures = 0;
  /** When the queue head may be tried again, on the monotonic clock (#now), ms. */
  #nextAttemptAt = -Infinity;
  #immediateInFlight = new Set<Promise<void>>();
  #pending: Array<{ pkg: UploadPackage; seq: number }> = [];
  /** Queue seqs of immediate packages being sent or waiting to be: the drain leaves them alone. */
  #immediateSeqs = new Set<number>();
  /** Delivered (2xx) but the ack could not commit (disk full): retried before anything else is sent. */
  #acksPending = new Set<number>();
  #closing = false;
  #closePromise: Promise<void> | null = null;
  #finalStats: UploaderStats | undefined;
  #abort = new AbortController();
  #stats = {
    sentImmediate: 0,
    sentCached: 0,
    retries: 0,
    refusedDiskFull: 0,
    errorsByKind: { network: 0, timeout: 0, http408: 0, http429: 0, http5xx: 0, http4xx: 0, http3xx: 0, broker: 0 } as Record<SendErrorKind, number>,
  };

  constructor(options: UploaderOptions) {
    super();
    this.sendHz = optionalNumber('positive number', 'sendHz', options.sendHz, 2);
    this.immediateConcurrency = optionalNumber('positive integer', 'immediateConcurrency', options.immediateConcurrency, 2);
    if (options.maxImmediatePending !== undefined && (!Number.isInteger(options.maxImmediatePending) || options.maxImmediatePending < 0)) {
      throw invalidParameterError('non-negative integer', 'maxImmediatePending', options.maxImmediatePending);
    }
    this.maxImmediatePending = options.maxImmediatePending ?? 16;
    this.#backoff = resolveBackoff(options.backoff);
    this.#closeTimeoutMs = optionalNumber('positive number', 'closeTimeoutMs', options.closeTimeoutMs, 5000);
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? (() => performance.now());
    this.#ownsSender = !isSender(options.sender);
    this.#sender = isSender(options.sender) ? options.sender : new HttpSender(options.sender);
    this.#ownsQueue = !(options.queue instanceof PackageQueue);
    try {
      this.queue = options.queue instanceof PackageQueue ? options.queue : PackageQueue.open(options.queue);
    } catch (err) {
      if (this.#ownsSender) this.#sender.close();
      throw err;
    }
    this.#timer = setInterval(() => this.#tick(), 1000 / this.sendHz);
  }

  /**
   * Hand a package to the uploader. Either way it is in the durable queue
   * when this returns (the EnqueueResult is returned). 'cached' (U2): the
   * drain sends it at sendHz; 'immediate' (U1): sent now, removed from the
   * queue when acknowledged, left to the drain when the send fails.
   */
  submit(pkg: UploadPackage, route: UploadRoute): EnqueueResult | undefined {
    try {
      return this.#submit(pkg, route);
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      // Disk full: this package is refused and counted; capture continues, and writes resume by themselves once space returns.
      this.#stats.refusedDiskFull++;
      this.emit('refused', { idempotencyKey: pkg.idempotencyKey, reason: (err as Error).message });
      return undefined;
    }
  }

  #submit(pkg: UploadPackage, route: UploadRoute): EnqueueResult | undefined {
    if (this.#closing) throw new InvalidStateError('Uploader is closed');
    if (route === 'cached') return this.#enqueue(pkg, 'cached');
    if (route !== 'immediate') throw invalidParameterError("one of 'immediate', 'cached'", 'route', route);
    // U1 with U2's guarantee: the package is written ahead to the durable
    // queue before it is sent, and removed when the cloud acknowledges it. A
    // kill -9 or power loss during the send leaves it queued, so the drain
    // delivers it later (U3's idempotency key dedupes a send that did arrive).
    const result = this.queue.enqueue(pkg);
    for (const d of result.dropped) this.emit('dropped', { idempotencyKey: d.idempotencyKey, bytes: d.bytes });
    this.emit('persisted', { idempotencyKey: pkg.idempotencyKey, seq: result.seq });
    if (this.#immediateInFlight.size < this.immediateConcurrency) {
      this.#immediateSeqs.add(result.seq);
      this.#startImmediate(pkg, result.seq);
    } else if (this.#pending.length < this.maxImmediatePending) {
      this.#immediateSeqs.add(result.seq);
      this.#pending.push({ pkg, seq: result.seq });
    } else {
      // Too many waiting: it stays in the queue and goes with the drain.
      this.emit('queued', { idempotencyKey: pkg.idempotencyKey, reason: 'immediate-overflow', seq: result.seq });
    }
    return result;
  }

  /**
   * The replace-queued policy: `pkg` supersedes the still-queued packages
   * `replacedKeys` of the same objects. 'cached': it takes the oldest one's
   * queue position (or is enqueued when none is still queued); 'immediate':
   * they are withdrawn and it is sent now. Replaced packages are counted
   * (queue counter `replaced`), never silently lost.
   */
  replace(pkg: UploadPackage, route: UploadRoute, replacedKeys: readonly string[]): void {
    try {
      this.#replace(pkg, route, replacedKeys);
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      this.#stats.refusedDiskFull++;
      this.emit('refused', { idempotencyKey: pkg.idempotencyKey, reason: (err as Error).message });
    }
  }

  #replace(pkg: UploadPackage, route: UploadRoute, replacedKeys: readonly string[]): void {
    if (this.#closing) throw new InvalidStateError('Uploader is closed');
    if (route === 'cached') {
      const r = this.queue.replace(replacedKeys, pkg);
      if (r) {
        this.emit('queued', { idempotencyKey: pkg.idempotencyKey, reason: 'cached', seq: r.seq });
        return;
      }
      this.#enqueue(pkg, 'cached');
      return;
    }
    this.queue.withdraw(replacedKeys);
    this.submit(pkg, route);
  }

  stats(): UploaderStats {
    // After close() the queue is gone: report the counts it had when it closed,
    // so a final 'stopped' line or summary tells the truth.
    if (this.#finalStats) return { ...this.#finalStats, errorsByKind: { ...this.#finalStats.errorsByKind } };
    const c = this.queue.closed ? { enqueued: 0, delivered: 0, dropped: 0, droppedBytes: 0, deadLettered: 0, setAside: 0, replaced: 0 } : this.queue.counters();
    return {
      sentImmediate: this.#stats.sentImmediate,
      sentCached: this.#stats.sentCached,
      retries: this.#stats.retries,
      refusedDiskFull: this.#stats.refusedDiskFull,
      acksPending: this.#acksPending.size,
      errorsByKind: { ...this.#stats.errorsByKind },
      ...c,
      queueDepth: this.queue.closed ? 0 : this.queue.depth,
      queueBytes: this.queue.closed ? 0 : this.queue.bytes,
      immediateInFlight: this.#immediateInFlight.size,
      immediatePending: this.#pending.length,
    };
  }

  #enqueue(pkg: UploadPackage, reason: 'cached' | 'immediate-failed' | 'immediate-overflow' | 'closing'): EnqueueResult {
    const result = this.queue.enqueue(pkg);
    this.emit('queued', { idempotencyKey: pkg.idempotencyKey, reason, seq: result.seq });
    for (const d of result.dropped) this.emit('dropped', { idempotencyKey: d.idempotencyKey, bytes: d.bytes });
    return result;
  }

  #fail(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    if (this.listenerCount('error') > 0) this.emit('error', e);
    else process.emitWarning(`uploader: ${e.message}`);
  }

  #countFailure(r: Extract<SendResult, { kind: 'retryable' | 'permanent' }>): void {
    this.#stats.errorsByKind[r.errorKind]++;
  }

  #startImmediate(pkg: UploadPackage, seq: number): void {
    const p: Promise<void> = this.#sender
      .send(pkg, this.#abort.signal)
      .then((r) => {
        if (this.queue.closed) return;
        if (r.kind === 'ok') {
          this.#ack(seq);
          this.#stats.sentImmediate++;
          this.emit('sent', { idempotencyKey: pkg.idempotencyKey, route: 'immediate', status: r.status, durationMs: r.durationMs, body: r.body, bytes: pkg.jpeg.byteLength });
        } else if (r.kind === 'retryable') {
          if (this.#closing) {
            // Aborted by close(): it stays queued (written ahead), not a failure.
            this.emit('queued', { idempotencyKey: pkg.idempotencyKey, reason: 'closing', seq });
            return;
          }
          this.#countFailure(r);
          this.#stats.retries++;
          this.queue.recordFailure(seq, r.reason);
          this.emit('retry', { idempotencyKey: pkg.idempotencyKey, route: 'immediate', errorKind: r.errorKind, reason: r.reason });
          // U1: a failed immediate package stays in the queue (written ahead) and goes with the drain.
          this.emit('queued', { idempotencyKey: pkg.idempotencyKey, reason: 'immediate-failed', seq });
        } else {
          this.#countFailure(r);
          this.queue.deadLetter(seq, r.reason, r.status);
          this.emit('deadLettered', { idempotencyKey: pkg.idempotencyKey, route: 'immediate', status: r.status, reason: r.reason });
        }
      })
      .catch((err) => this.#fail(err))
      .finally(() => {
        this.#immediateSeqs.delete(seq);
        this.#immediateInFlight.delete(p);
        const next = this.#closing ? undefined : this.#pending.shift();
        if (next) this.#startImmediate(next.pkg, next.seq);
      });
    this.#immediateInFlight.add(p);
  }

  #tick(): void {
    if (this.#closing || this.#draining || this.#now() < this.#nextAttemptAt) return;
    this.#draining = this.#drainOne()
      .catch((err) => this.#fail(err))
      .finally(() => {
        this.#draining = null;
      });
  }

  /** Ack a delivered package; on a full disk keep it pending (retried by the drain, not re-sent). */
  #ack(seq: number): void {
    try {
      this.queue.ack(seq);
      this.#acksPending.delete(seq);
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      this.#acksPending.add(seq);
    }
  }

  /** U2: send the oldest package; remove it only after a 2xx. */
  async #drainOne(): Promise<void> {
    for (const seq of [...this.#acksPending]) this.#ack(seq);
    if (this.#acksPending.size > 0) return; // still full: nothing new is sent until the acks commit
    const head = this.queue.peekOldest();
    if (!head) return;
    if (this.#immediateSeqs.has(head.seq)) return; // being sent as immediate right now
    this.queue.pin(head.seq);
    let r: SendResult;
    try {
      r = await this.#sender.send(head.pkg, this.#abort.signal);
    } finally {
      if (!this.queue.closed) this.queue.unpin();
    }
    if (this.queue.closed) return;
    if (r.kind === 'ok') {
      this.#ack(head.seq);
      this.#headFailures = 0;
      this.#stats.sentCached++;
      this.emit('sent', { idempotencyKey: head.idempotencyKey, route: 'cached', status: r.status, durationMs: r.durationMs, body: r.body, bytes: head.pkg.jpeg.byteLength });
      return;
    }
    if (r.kind === 'permanent') {
      this.#countFailure(r);
      this.#headFailures = 0;
      this.queue.deadLetter(head.seq, r.reason, r.status);
      this.emit('deadLettered', { idempotencyKey: head.idempotencyKey, route: 'cached', status: r.status, reason: r.reason });
      return;
    }
    if (this.#closing) return; // aborted by close(): stays queued, not a failure
    this.#countFailure(r);
    this.#stats.retries++;
    this.queue.recordFailure(head.seq, r.reason);
    this.#headFailures++;
    const delayMs = backoffDelayMs(this.#headFailures, this.#backoff, r.retryAfterMs, this.#random);
    // U2: the wait is a duration on the monotonic clock, so a step of the wall clock neither stretches nor skips it.
    this.#nextAttemptAt = this.#now() + delayMs;
    this.emit('retry', { idempotencyKey: head.idempotencyKey, route: 'cached', errorKind: r.errorKind, reason: r.reason, delayMs });
  }

  /**
   * Stop: pending immediate packages go to the queue, in-flight sends get
   * closeTimeoutMs to finish and are then aborted (an aborted immediate
   * package is queued, an aborted cached one stays queued); then the owned
   * sender and queue are closed. Idempotent: every call returns the same promise.
   */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      this.#closing = true;
      if (this.#timer) clearInterval(this.#timer);
      this.#timer = undefined;
      // Pending immediate packages are already in the queue (written ahead).
      for (const { pkg, seq } of this.#pending.splice(0)) {
        this.#immediateSeqs.delete(seq);
        this.emit('queued', { idempotencyKey: pkg.idempotencyKey, reason: 'closing', seq });
      }
      const inflight = (): Promise<unknown> => Promise.allSettled([...this.#immediateInFlight, ...(this.#draining ? [this.#draining] : [])]);
      let timeout: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        inflight().then(() => false),
        new Promise<boolean>((resolve) => {
          timeout = setTimeout(() => resolve(true), this.#closeTimeoutMs);
        }),
      ]);
      clearTimeout(timeout);
      if (timedOut) {
        this.#abort.abort();
        await inflight();
      }
      if (this.#ownsSender) this.#sender.close();
      if (!this.queue.closed) this.#finalStats = this.stats();
      if (this.#ownsQueue) this.queue.close();
      this.removeAllListeners();
    })();
    return this.#closePromise;
  }
}
