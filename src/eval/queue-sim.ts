/**
 * Upload simulation for the evaluation: applies a policy's decisions in time
 * order to an in-memory model of the uplink — U1 immediate packages leave at
 * once, U2 cached packages wait in a bounded FIFO that sends its oldest every
 * 1/sendHz — and records when each package is delivered. It measures what the
 * real queue (src/upload) would do with the same decisions, without disk or
 * network: queue peak depth, delivery times, drops and replacements.
 */
import { InvalidStateError, invalidParameterError, outOfRangeError } from '../errors.js';
import type { PolicyDecision } from '../select/index.js';

export interface QueueSimOptions {
  /** U2 sendHz: cached packages sent per second. Default 2 (SPEC). Higher drains the queue faster at more uplink use. */
  sendHz?: number;
  /** U2 capacity in packages; when full the oldest is dropped and counted. Default 1000 (SPEC). */
  capacity?: number;
  /** Time of the first frame, ns: the send timer ticks at startNs + k/sendHz, k ≥ 1. Default 0. */
  startNs?: bigint;
}

/** One package that reached the cloud. */
export interface Delivery {
  imageId: number;
  route: 'immediate' | 'cached';
  /** When the policy decided (its decidedAtNs). */
  decidedAtNs: bigint;
  /** When it left the edge: decidedAtNs for immediate, the send tick for cached. */
  deliveredAtNs: bigint;
  /** The objects whose image this package is (the decision's selected tracks: the crops of upload.content 'crops'). */
  selectedTrackIds: number[];
}

export interface QueueSimResult {
  deliveries: Delivery[];
  /** Largest number of packages waiting in the cache queue at once. */
  peakDepth: number;
  /** Packages dropped because the queue was full (U2). */
  dropped: number;
  /** Queued packages withdrawn by 'replace' decisions (never sent). */
  replaced: number;
}

interface Queued {
  imageId: number;
  decidedAtNs: bigint;
  selectedTrackIds: number[];
}

export class QueueSimulator {
  readonly periodNs: bigint;
  readonly capacity: number;
  #queue: Queued[] = [];
  #nextTickNs: bigint;
  #deliveries: Delivery[] = [];
  #peak = 0;
  #dropped = 0;
  #replaced = 0;
  #finished = false;

  constructor(options: QueueSimOptions = {}) {
    const sendHz = options.sendHz ?? 2;
    if (typeof sendHz !== 'number' || Number.isNaN(sendHz)) throw invalidParameterError('positive number', 'sendHz', sendHz);
    if (!(sendHz > 0) || !Number.isFinite(sendHz)) throw outOfRangeError('positive number', 'sendHz', sendHz);
    const capacity = options.capacity ?? 1000;
    if (typeof capacity !== 'number' || !Number.isInteger(capacity)) throw invalidParameterError('positive integer', 'capacity', capacity);
    if (capacity <= 0) throw outOfRangeError('positive integer', 'capacity', capacity);
    this.periodNs = BigInt(Math.round(1e9 / sendHz));
    this.capacity = capacity;
    this.#nextTickNs = (options.startNs ?? 0n) + this.periodNs;
  }

  /** Packages waiting now. */
  get depth(): number {
    return this.#queue.length;
  }

  /** Run the send timer up to and including `nowNs` (a tick at nowNs sends before decisions taken at nowNs arrive). */
  advance(nowNs: bigint): void {
    while (this.#nextTickNs <= nowNs) {
      const head = this.#queue.shift();
      if (head) {
        this.#deliveries.push({ imageId: head.imageId, route: 'cached', decidedAtNs: head.decidedAtNs, deliveredAtNs: this.#nextTickNs, selectedTrackIds: head.selectedTrackIds });
      }
      this.#nextTickNs += this.periodNs;
    }
  }

  /** Apply decisions taken at `nowNs` (advances the timer to nowNs first). */
  apply(decisions: readonly PolicyDecision[], nowNs: bigint): void {
    if (this.#finished) throw new InvalidStateError('QueueSimulator is finished');
    this.advance(nowNs);
    for (const d of decisions) {
      const selectedTrackIds = d.selected.map((o) => o.trackId);
      switch (d.kind) {
        case 'upload':
          if (d.route === 'immediate') this.#deliver(d.imageId, d.decidedAtNs, selectedTrackIds);
          else this.#enqueue({ imageId: d.imageId, decidedAtNs: d.decidedAtNs, selectedTrackIds });
          break;
        case 'replace': {
          const still = d.replacesImageIds.filter((id) => this.#queue.some((q) => q.imageId === id));
          if (d.route === 'immediate') {
            this.#withdraw(still);
            this.#deliver(d.imageId, d.decidedAtNs, selectedTrackIds);
          } else if (still.length === 0) {
            this.#enqueue({ imageId: d.imageId, decidedAtNs: d.decidedAtNs, selectedTrackIds });
          } else {
            const at = this.#queue.findIndex((q) => q.imageId === still[0]);
            this.#queue[at] = { imageId: d.imageId, decidedAtNs: d.decidedAtNs, selectedTrackIds };
            this.#replaced++;
            this.#withdraw(still.slice(1));
          }
          break;
        }
      }
    }
  }

  /** End of stream: the queue keeps sending at sendHz until it is empty. */
  finish(): QueueSimResult {
    if (!this.#finished) {
      while (this.#queue.length > 0) this.advance(this.#nextTickNs);
      this.#finished = true;
    }
    return { deliveries: [...this.#deliveries], peakDepth: this.#peak, dropped: this.#dropped, replaced: this.#replaced };
  }

  #deliver(imageId: number, decidedAtNs: bigint, selectedTrackIds: number[]): void {
    this.#deliveries.push({ imageId, route: 'immediate', decidedAtNs, deliveredAtNs: decidedAtNs, selectedTrackIds });
  }

  #enqueue(q: Queued): void {
    if (this.#queue.length >= this.capacity) {
      this.#queue.shift();
      this.#dropped++;
    }
    this.#queue.push(q);
    if (this.#queue.length > this.#peak) this.#peak = this.#queue.length;
  }

  #withdraw(ids: readonly number[]): void {
    for (const id of ids) {
      const i = this.#queue.findIndex((q) => q.imageId === id);
      if (i >= 0) {
        this.#queue.splice(i, 1);
        this.#replaced++;
      }
    }
  }
}
