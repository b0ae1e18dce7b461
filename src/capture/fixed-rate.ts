/**
 * Fixed-rate capture (A5): frames are taken at `captureHz` from a camera that
 * may run faster. Each tick takes the newest frame the source holds (a live
 * FrameSource keeps only the newest in its appsink), counts the frames the
 * camera produced in between as skipped (from presentation timestamps and
 * frame durations), and stamps the frame with its imageId, exposure (mode
 * 'auto' while AE runs) and the camera position at its capture time.
 *
 * Ticks lie on a fixed grid t0 + k / captureHz of the monotonic clock, so
 * timer lateness does not accumulate; when a whole period was missed the
 * missed ticks are counted (lateTicks) and the grid continues from now.
 */
import { invalidParameterError, outOfRangeError, InvalidStateError } from '../errors.js';
import type { CameraPosition, ExposureInfo } from '../types.js';
import type { CapturedFrame } from './frame-source.js';
import { validateCameraId } from './image-ids.js';
import type { PositionProvider } from './position/types.js';
import { CameraClock } from './timestamps.js';

/** What fixed-rate capture needs of a frame source (FrameSource satisfies it). */
export interface FrameSourceLike {
  next(): Promise<CapturedFrame | null>;
}

/** Something that knows the exposure of a frame (ExposureController satisfies it). */
export interface ExposureTagger {
  observe(frame: CapturedFrame): Promise<ExposureInfo>;
}

export interface CaptureClock {
  /** Monotonic ns. */
  nowNs(): bigint;
  sleepUntil(ns: bigint): Promise<void>;
}

export const realClock: CaptureClock = {
  nowNs: () => process.hrtime.bigint(),
  sleepUntil: (ns) =>
    new Promise((resolve) => {
      const ms = Number(ns - process.hrtime.bigint()) / 1e6;
      if (ms <= 0) resolve();
      else setTimeout(resolve, ms);
    }),
};

/** A5: the period of a captureHz, ns (validated: a number in (0, 1000]). */
export function capturePeriodNs(captureHz: number): bigint {
  if (typeof captureHz !== 'number' || Number.isNaN(captureHz)) throw invalidParameterError('positive number', 'captureHz', captureHz);
  if (!(captureHz > 0 && captureHz <= 1000)) throw outOfRangeError('number in (0, 1000]', 'captureHz', captureHz);
  return BigInt(Math.round(1e9 / captureHz));
}

let gridsMade = 0;

/**
 * A5: a new id for a captureHz grid (FrameDetections.gridTick.grid), unique in
 * this process: tick indices of two grids (a camera's two openings) cannot be
 * compared, so the tracker falls back to timestamps between them.
 */
export function newGridId(): number {
  return ++gridsMade;
}

/**
 * A5 on a live camera: ticks on a fixed grid t0 + k·period of a monotonic
 * clock, so timer lateness does not accumulate. The first wait() returns at
 * once and sets t0; when a whole period was missed (consumer or source
 * slower than captureHz) the missed ticks are counted (lateTicks) and the
 * grid continues from now rather than firing a burst to catch up.
 */
export class TickGrid {
  readonly periodNs: bigint;
  /** This grid's id (FrameDetections.gridTick.grid). */
  readonly id = newGridId();
  #clock: CaptureClock;
  #t0: bigint | undefined;
  #k = 0n;
  #late = 0;

  constructor(periodNs: bigint, clock: CaptureClock = realClock) {
    if (periodNs <= 0n) throw outOfRangeError('positive period', 'periodNs', periodNs);
    this.periodNs = periodNs;
    this.#clock = clock;
  }

  /** Ticks missed so far. */
  get lateTicks(): number {
    return this.#late;
  }

  /**
   * The tick a frame in hand now was taken for (A5, FrameDetections.gridTick):
   * the latest tick of the grid at or before now, at least the one wait()
   * returned on. A frame the source held at the tick gets that tick; one the
   * loop waited for (a source slower than captureHz) gets the tick it came
   * in, so a 5 fps camera at 10 Hz is two ticks a frame from its first frame
   * on (the grid's own index lags the source until it counts late ticks).
   * 0 before the first wait().
   */
  tickNow(): number {
    if (this.#t0 === undefined) return 0;
    const elapsed = this.#clock.nowNs() - this.#t0;
    const k = elapsed > 0n ? elapsed / this.periodNs : 0n;
    return Number(k > this.#k ? k : this.#k);
  }

  /** Sleep until the next tick of the grid. */
  async wait(): Promise<void> {
    const now = this.#clock.nowNs();
    if (this.#t0 === undefined) {
      this.#t0 = now;
      return;
    }
    this.#k++;
    let due = this.#t0 + this.#k * this.periodNs;
    if (now >= due + this.periodNs) {
      // Missed whole periods: count them and continue on the grid from now.
      const missed = (now - due) / this.periodNs;
      this.#late += Number(missed);
      this.#k += missed;
      due = this.#t0 + this.#k * this.periodNs;
    }
    if (due > now) await this.#clock.sleepUntil(due);
  }
}

/**
 * A5 on a recording: keep the first frame at or after each tick of the
 * captureHz grid of the stream's own time (presentation timestamps), so a
 * replay takes the same frames however fast it is decoded. The grid starts
 * at `originNs`, or at the first frame offered.
 */
export class StreamGrid {
  readonly periodNs: bigint;
  /** This grid's id (FrameDetections.gridTick.grid). */
  readonly id = newGridId();
  #next: bigint | undefined;
  /** Index of the tick at #next. */
  #nextIndex = 0;

  constructor(periodNs: bigint, originNs?: bigint) {
    if (periodNs <= 0n) throw outOfRangeError('positive period', 'periodNs', periodNs);
    this.periodNs = periodNs;
    this.#next = originNs;
  }

  /** True when the frame at `ptsNs` falls on the grid (take it); false when it is skipped. */
  take(ptsNs: bigint): boolean {
    if (this.#next !== undefined && ptsNs < this.#next) return false;
    let next = (this.#next ?? ptsNs) + (this.#next === undefined ? this.periodNs : 0n);
    let index = this.#nextIndex + (this.#next === undefined ? 1 : 0);
    while (next <= ptsNs) {
      next += this.periodNs;
      index++;
    }
    this.#next = next;
    this.#nextIndex = index;
    return true;
  }

  /**
   * The tick of the frame take() took last (FrameDetections.gridTick): the
   * latest tick at or before its pts, counted from the grid's origin (0).
   * A frame that is the first after several ticks (the stream lacks frames)
   * is the last of them, so the ticks between two taken frames are the
   * periods between them, and a 12.5 fps stream at 10 Hz, whose taken frames
   * are 80 or 160 ms apart, is one tick a frame.
   */
  get tick(): number {
    return this.#nextIndex - 1;
  }
}

/**
 * A5: camera frames that fell between two taken frames, from their
 * presentation timestamps and the camera's frame period (0 when either is
 * unknown or time did not advance).
 */
export function framesSkippedBetween(previousPtsNs: bigint | undefined, ptsNs: bigint, framePeriodNs: bigint | undefined): number {
  if (previousPtsNs === undefined || previousPtsNs < 0n || ptsNs < 0n || framePeriodNs === undefined || framePeriodNs <= 0n || ptsNs <= previousPtsNs) return 0;
  return Math.max(0, Math.round(Number(ptsNs - previousPtsNs) / Number(framePeriodNs)) - 1);
}

export interface FixedRateCaptureOptions {
  source: FrameSourceLike;
  cameraId: string;
  /** imageId source (ImageIdAllocator: persistent, never reused). */
  ids: { next(): number };
  /** Frames per second taken. Default 10. Higher gives the selector more candidates at more CPU (detection runs per frame). */
  captureHz?: number;
  /**
   * Exposure of each frame: an ExposureController (A1–A4), or a fixed value
   * for sources without exposure control. Default { mode: 'auto', NaN, NaN }:
   * a camera left in its own AE. A file replay that should be selectable
   * under S2 passes { mode: 'manual', ... }.
   */
  exposure?: ExposureTagger | ExposureInfo;
  /** Camera position provider (fixed or GNSS). Default: none (null positions). */
  position?: PositionProvider;
  /** Camera frame period, ns, for counting skipped frames when frames carry no duration. */
  sourcePeriodNs?: bigint;
  clock?: CaptureClock;
  /**
   * The camera's timestamps (A5: strictly increasing, across steps of the wall
   * clock). Pass the same CameraClock to the captures of one camera's
   * reopenings. Default: a clock of this capture's own.
   */
  timestamps?: CameraClock;
}

/** A frame taken by fixed-rate capture (data model "Frame"). */
export interface AcquiredFrame {
  cameraId: string;
  imageId: number;
  /** Capture time, wall-clock ns (pipeline clock mapped to CLOCK_REALTIME), strictly increasing (A5, CameraClock). */
  timestampNs: bigint;
  /** Capture time, CLOCK_MONOTONIC ns. */
  monotonicNs: bigint;
  exposure: ExposureInfo;
  cameraPosition: CameraPosition | null;
  width: number;
  height: number;
  /** Camera frames dropped since the previous taken frame. */
  skippedBefore: number;
  frame: CapturedFrame;
}

export interface FixedRateStats {
  captureHz: number;
  captured: number;
  skipped: number;
  /** Ticks missed because the consumer or the source was slower than captureHz. */
  lateTicks: number;
}

export class FixedRateCapture {
  readonly cameraId: string;
  readonly captureHz: number;
  readonly periodNs: bigint;
  #o: FixedRateCaptureOptions;
  #grid: TickGrid;
  #timestamps: CameraClock;
  #lastPts: bigint | undefined;
  #stats = { captured: 0, skipped: 0 };
  #busy = false;
  #ended = false;

  constructor(options: FixedRateCaptureOptions) {
    if (options?.source === null || typeof options?.source?.next !== 'function') {
      throw invalidParameterError('frame source', 'source', options?.source);
    }
    this.cameraId = validateCameraId(options.cameraId);
    const hz = options.captureHz ?? 10;
    this.periodNs = capturePeriodNs(hz);
    this.captureHz = hz;
    this.#o = options;
    this.#grid = new TickGrid(this.periodNs, options.clock ?? realClock);
    this.#timestamps = options.timestamps ?? new CameraClock();
  }

  stats(): FixedRateStats {
    return { captureHz: this.captureHz, ...this.#stats, lateTicks: this.#grid.lateTicks };
  }

  /** Wait for the next tick and take the newest frame; null at end of stream. */
  async next(): Promise<AcquiredFrame | null> {
    if (this.#busy) throw new InvalidStateError('next() called while another next() is pending');
    if (this.#ended) return null;
    this.#busy = true;
    try {
      await this.#grid.wait();
      const frame = await this.#o.source.next();
      if (frame === null) {
        this.#ended = true;
        return null;
      }
      return await this.#stamp(frame);
    } finally {
      this.#busy = false;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<AcquiredFrame> {
    for (;;) {
      const f = await this.next();
      if (f === null) return;
      yield f;
    }
  }

  async #stamp(frame: CapturedFrame): Promise<AcquiredFrame> {
    const skipped = framesSkippedBetween(this.#lastPts, frame.ptsNs, frame.durationNs > 0n ? frame.durationNs : this.#o.sourcePeriodNs);
    if (frame.ptsNs >= 0n) this.#lastPts = frame.ptsNs;
    const exp = this.#o.exposure;
    const exposure: ExposureInfo =
      exp === undefined
        ? { mode: 'auto', exposureTimeUs: NaN, gain: NaN }
        : 'observe' in exp
          ? await exp.observe(frame)
          : { ...exp };
    this.#stats.captured++;
    this.#stats.skipped += skipped;
    const timestampNs = this.#timestamps.captured(frame);
    return {
      cameraId: this.cameraId,
      imageId: this.#o.ids.next(),
      timestampNs,
      monotonicNs: frame.captureMonotonicNs,
      exposure,
      // GNSS fixes carry UTC: looked up at the wall clock's capture time, which a step set right.
      cameraPosition: this.#o.position?.positionAt(frame.captureRealtimeNs) ?? null,
      width: frame.width,
      height: frame.height,
      skippedBefore: skipped,
      frame,
    };
  }
}
