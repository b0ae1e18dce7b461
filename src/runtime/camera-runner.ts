/**
 * One camera's pipeline on the main thread: capture at captureHz (A5) →
 * detection in the inference pool → tracking and selection in the camera's
 * pinned worker → JPEG + package → uploader (U1/U2).
 *
 * The event loop never waits on pixels or inference: pixels stay in the
 * frame ring (one copy, made by the addon), the tensor crosses to the
 * inference worker in a shared-memory slot, boxes cross to the tracking
 * worker. Back-pressure: at most `maxInFlight` frames are between capture and
 * the end of detection; a live frame that finds them all busy is dropped
 * BEFORE detection and counted, so latency stays bounded. Offline replays
 * wait instead (nothing dropped).
 */
import { CaptureError, InvalidStateError } from '../errors.js';
import type { Piscina } from 'piscina';
import type { CapturedFrame, FrameSource } from '../capture/index.js';
import { CameraClock, capturePeriodNs, encodeJpeg, framesSkippedBetween, StreamGrid, TickGrid } from '../capture/index.js';
import { FrameRing, validateSelectionParams } from '../select/index.js';
import { buildPackage, cropTrackIds, idempotencyKey, packageParts, type UploadContent, type UploadPackage, type UploadRoute } from '../upload/index.js';
import { cropRectWithMargin, cutCrop, type CropRect } from '../select/crop-stats.js';
import type { PixelFormat, YuvMatrix } from '../capture/index.js';
import type { Box, CameraPosition, ExposureInfo, FrameDetections, GridTick, TrackEntry } from '../types.js';
import { TypedEmitter } from '../events.js';
import type { DetectorPool } from '../detect/index.js';
import type { CameraTask, CameraTaskResult, CameraWorkerInit, WireDecision } from './camera-worker.js';

export interface RetainedFrame {
  /** Gives the pixels back to the source's slot pool (once; later calls do nothing). */
  release(): void;
  width: number;
  height: number;
  format: PixelFormat;
  /** I420 frames: how their Y'CbCr maps to R'G'B'. */
  yuv?: YuvMatrix;
  /** Empty once the frame was compacted (`jpeg`). */
  pixels: Uint8Array;
  /** A held frame past the ring's window keeps its package JPEG (at jpegQuality) instead of its pixels. */
  jpeg?: Promise<Buffer>;
  captureMonotonicNs: bigint;
  timestampNs: bigint;
  exposure: ExposureInfo;
  cameraPosition: CameraPosition | null;
}

/** Where packages go: the Uploader, or a recorder in evaluation. */
export interface PackageSink {
  submit(pkg: UploadPackage, route: UploadRoute): void;
  /** Replace still-queued packages of the same objects (replace-queued policy); default: submit. */
  replace?(pkg: UploadPackage, route: UploadRoute, replacedKeys: string[]): void;
}

export interface ImageIdSource {
  next(): number;
}

/**
 * Why a frame the product wanted was lost. Frames the captureHz grid does not
 * take (A5) are not drops: they are *skipped* and counted apart, so an alert
 * on drops fires only when something was lost.
 */
export type DropReason = 'busy' | 'detect-error' | 'track-error' | 'evicted';

export interface FrameRecord {
  imageId: number;
  timestampNs: bigint;
  boxes: number;
  tracks: Array<{ trackId: number; entry: TrackEntry }>;
  /** ms from capture to: detection done, tracking+selection done, packages built. */
  latency: { detect: number; track: number; total: number };
}

export interface UploadRecord {
  cameraId: string;
  imageId: number;
  idempotencyKey: string;
  route: UploadRoute;
  kind: WireDecision['kind'];
  timestampNs: bigint;
  bytes: number;
  selectedTrackIds: number[];
  tracks: Array<{ trackId: number; entry: TrackEntry }>;
  replacesImageIds: number[];
  /** Wall-clock ms when the package was handed to the sink. */
  submittedAtMs: number;
  width: number;
  height: number;
  /** The package's first image (the sink's own bytes, not a copy): for the run's report; don't keep it longer than needed. */
  jpeg: Uint8Array;
  /**
   * upload.content 'crops' / 'frame+crops': each crop part with its track and its rectangle in the
   * frame's pixels (the sink's bytes, as `jpeg`). With 'crops', `jpeg` is the first of them.
   */
  crops?: Array<{ trackId: number; rect: CropRect; jpeg: Uint8Array }>;
  /** upload.content when the package is not a whole frame ('crops': no frame image). */
  content?: Exclude<UploadContent, 'frame'>;
}

export type CameraRunnerEvents = {
  frame: [FrameRecord];
  upload: [UploadRecord];
  drop: [DropReason, number];
  skip: [number];
  /** A recording whose stream has no frame between these two pts (ns): frames the file lacks. */
  gap: [bigint, bigint];
  workerRestart: ['detect' | 'track', string];
  tracksEnded: [number[]];
  /**
   * A live camera's measured delivery (frames taken per second over a window
   * of rateWindowMs, after rateSettleMs from its first frame) crossed 90 % of
   * captureHz: `slow` true when it delivers fewer, false when it is back. A
   * recording: its frame rate over its first 2 s of stream, when fewer (once).
   */
  rate: [number, boolean];
  error: [Error];
};

export interface CameraRunnerOptions {
  cameraId: string;
  captureHz: number;
  /** 'live': drop frames when busy; 'offline': wait (replays). */
  mode: 'live' | 'offline';
  /**
   * Frames between capture and the end of their selection (detection,
   * tracking, JPEG). Default 3: two in the two inference workers while the
   * previous one is tracked and encoded. A live frame finding them all busy
   * is dropped; so latency is bounded by about this many frame times.
   */
  maxInFlight?: number;
  jpegQuality: number;
  /**
   * upload.content (src/upload/content.ts). Default 'frame': the whole frame
   * at jpegQuality, the package exactly as SPEC's data model has it.
   */
  /** upload.content and its parts' settings; contextMaxWidth 0 = the context frame at full size. */
  content?: { mode: UploadContent; cropJpegQuality: number; contextJpegQuality: number; contextMaxWidth?: number; cropMargin: number };
  /** Exposure the frame was taken with (A1–A5); called once per frame taken, in order (it meters). */
  exposure: (frame: CapturedFrame) => ExposureInfo | Promise<ExposureInfo>;
  /** Camera position at a capture time (fixed, or interpolated from GNSS). */
  position: (timestampNs: bigint) => CameraPosition | null;
  workerInit: Omit<CameraWorkerInit, 'trackIdFloor'>;
  /** First trackId (persisted high-water mark + 1). Default 1. */
  trackIdFloor?: number;
  /**
   * Told, after each tracking task, the lowest trackId not yet handed out
   * (the service keeps its persisted high-water mark above it, so ids are
   * never reused across restarts: data model, T2).
   */
  trackIdsUsed?: (nextId: number) => void;
  /** Frames kept unreferenced in the ring. Default: ringSeconds of frames. */
  ringCapacity?: number;
  /** Seconds of frames kept unreferenced (config cameras[].ringSeconds). Default 0.5. */
  ringSeconds?: number;
  /**
   * Also JPEG-encode every processed frame and count its bytes (stats.everyFrameBytes):
   * the exact "send every frame" baseline of a replay report. Costs one encode per frame.
   */
  measureEveryFrame?: boolean;
  /**
   * A live source that has delivered and then gives no frame, no error and no end for this long
   * fails (CaptureError), and the service reopens it. Default 30000 ms. rtspsrc ends a silent
   * stream itself after ~20–25 s; a V4L2 camera whose driver stops delivering (a USB hiccup)
   * waits in v4l2src for ever, the camera counted as delivering.
   */
  stallTimeoutMs?: number;
  /**
   * A live camera's delivery rate is measured from this long after its first
   * frame (start-up: preroll, auto exposure) over windows of rateWindowMs.
   * Defaults 5000 and 10000 ms.
   */
  rateSettleMs?: number;
  rateWindowMs?: number;
  /**
   * How a frame a selection policy still holds is kept once it is older than
   * the ring's window (config cameras[].heldFrames): 'jpeg' (default) encodes
   * its package JPEG and gives the pixels back, 'pixels' keeps the raw frame.
   * Only with upload.content 'frame' (crops need the pixels).
   */
  heldFrames?: 'jpeg' | 'pixels';
  /**
   * The camera's timestamps (A5), shared by every runner of one camera (its
   * source's reopenings) so they strictly increase across them. Default: a
   * clock of this runner's own.
   */
  clock?: CameraClock;
}

const NO_PIXELS = new Uint8Array(0);

interface InFlight {
  exposure: ExposureInfo;
  frame: CapturedFrame;
  imageId: number;
  timestampNs: bigint;
  /** The wall-clock time the camera position is looked up at (GNSS fixes carry UTC). */
  positionAtNs: bigint;
  capturedAtMs: number;
  /** A5: the captureHz tick the frame was taken for; frames dropped after it still count as ticks (T2). */
  gridTick: GridTick;
}

/**
 * Frames the ring keeps unreferenced: ringSeconds (default 0.5) of frames at
 * captureHz, between 4 and 64. Each is a pixel slot of width×height×3 bytes
 * (docs/performance.md: 1 s instead of 2 s saved 27 MiB per 1280×720 camera
 * at 10 Hz; 0.5 s with held frames as JPEG another 8 MiB).
 */
export function ringCapacityFor(options: Pick<CameraRunnerOptions, 'captureHz' | 'ringCapacity' | 'ringSeconds'>): number {
  return options.ringCapacity ?? Math.min(64, Math.max(4, Math.ceil(options.captureHz * (options.ringSeconds ?? 0.5))));
}

export class CameraRunner extends TypedEmitter<CameraRunnerEvents> {
  readonly cameraId: string;
  readonly ring: FrameRing<RetainedFrame>;
  /** The last frame's end in stream time (pts + duration), ns; -1 before the first frame. A recording's end is checked against it. */
  streamEndNs = -1n;
  readonly stats = {
    captured: 0,
    processed: 0,
    /** Source frames the captureHz grid did not take (A5): expected, not a loss. */
    skipped: 0,
    /** Ticks of a live camera's captureHz grid missed because the loop was late (A5). */
    lateTicks: 0,
    /** A recording's stream time read so far (ms, pts to pts): against the wall clock, a realtime replay falling behind shows. */
    streamMs: 0,
    /** The wall-clock time (ms) those stream intervals took to read: a loop's reopenings are not in it. */
    streamWallMs: 0,
    dropped: { busy: 0, 'detect-error': 0, 'track-error': 0, evicted: 0 } as Record<DropReason, number>,
    packages: { immediate: 0, cached: 0 },
    bytes: 0,
    everyFrameBytes: 0,
    /** Selected packages that could not be built or handed to the uploader (counted, never silent). */
    packageErrors: 0,
    /** Objects the selection policy gave up on, never sent ('budget': not affordable within budgetMaxWaitS). */
    unsentObjects: 0,
    tracksCreated: 0,
    activeTracks: 0,
    workerRestarts: 0,
    /** Held frames that keep their JPEG instead of their pixels (heldFrames 'jpeg'). */
    heldFramesCompacted: 0,
  };
  #opts: CameraRunnerOptions & { maxInFlight: number };
  #detect: DetectorPool;
  #shard: Piscina;
  #sink: PackageSink;
  #ids: ImageIdSource;
  #chain: Promise<void> = Promise.resolve();
  #inFlight = 0;
  #slotWaiters: Array<() => void> = [];
  #policyRefs = new Map<number, number>();
  /** [imageId, bytes] of the packages built since the last task, for the policy (CameraTask.packageBytes). */
  #packageBytes: Array<[number, number]> = [];
  /** Frames still held by the policy when the pipeline let go of them, oldest first (heldFrames 'jpeg'). */
  #held: number[] = [];
  readonly #compactHeld: boolean;
  /** S1's minScore1 of this camera's selection: crops carry the qualifying tracks of a frame (content.ts cropTrackIds). */
  readonly #minScore1: number;
  #trackIdFloor: number;
  /** A live camera's frames taken per second in the last measured window (rateWindowMs); undefined before one. */
  deliveredHz: number | undefined;
  /** The last window measured fewer than 90 % of captureHz. */
  slowSource = false;
  /** The window being measured: from `ms` (performance.now) with `captured` frames taken; captured -1 while settling. */
  #rateWindow: { ms: number; captured: number; skipped?: number } | undefined;
  /** A live camera's frames sent per second in the last measured window: those taken and those the appsink let go (pts gaps). */
  sentHz: number | undefined;
  #stopping = false;
  #source: FrameSource | undefined;
  #hadState = false;

  constructor(options: CameraRunnerOptions, deps: { detect: DetectorPool; shard: Piscina; sink: PackageSink; imageIds: ImageIdSource }) {
    super((err) => this.emit('error', err instanceof Error ? err : new Error(String(err))));
    this.cameraId = options.cameraId;
    this.#opts = { ...options, maxInFlight: options.maxInFlight ?? 3 };
    this.#detect = deps.detect;
    this.#shard = deps.shard;
    this.#sink = deps.sink;
    this.#ids = deps.imageIds;
    this.#trackIdFloor = options.trackIdFloor ?? 1;
    this.#minScore1 = validateSelectionParams(options.workerInit.policyOptions.params ?? {}).minScore1;
    this.ring = new FrameRing<RetainedFrame>({ capacity: ringCapacityFor(options), onEvict: (_id, frame) => frame.release() });
    this.#compactHeld = (options.heldFrames ?? 'jpeg') === 'jpeg' && (options.content === undefined || options.content.mode === 'frame');
  }

  get maxTrackId(): number {
    return this.#trackIdFloor - 1;
  }

  /** Ask the loop to stop taking frames; run() then drains what is in flight. */
  stop(): void {
    this.#stopping = true;
    this.#source?.close();
  }

  /**
   * Run until the source ends or stop(). Frames in flight are finished and
   * policies flushed (held candidates sent) before it resolves.
   */
  async run(source: FrameSource, live: boolean): Promise<void> {
    this.#source = source;
    // A5, one pacer for every path (capture/fixed-rate.ts): a live camera is read on the
    // captureHz grid of the monotonic clock (its appsink keeps only the newest frame);
    // a recording keeps the frames on the captureHz grid of its own timestamps.
    const periodNs = capturePeriodNs(this.#opts.captureHz);
    const ticks = new TickGrid(periodNs);
    const onGrid = new StreamGrid(periodNs);
    const clock = this.#opts.clock ?? new CameraClock();
    // A recording's frames are its opening's origin + stream time (A5, capture/timestamps.ts).
    let origin: { ns: bigint; firstPts: bigint } | undefined;
    let lastPtsNs: bigint | undefined;
    let lastStreamPtsNs: bigint | undefined;
    let lastStreamAtMs: number | undefined;
    try {
      while (!this.#stopping) {
        if (live) {
          await ticks.wait();
          this.stats.lateTicks = ticks.lateTicks;
        }
        const frame = live && this.stats.captured > 0 ? await this.#nextWithin(source, this.#opts.stallTimeoutMs ?? 30_000) : await source.next();
        if (frame === null) break;
        this.stats.captured++;
        if (live) this.#measureRate(performance.now());
        else if (frame.ptsNs >= 0n) this.#measureRecordedRate(frame.ptsNs);
        if (frame.ptsNs >= 0n) this.streamEndNs = frame.ptsNs + (frame.durationNs > 0n ? frame.durationNs : 0n);
        if (!live && frame.ptsNs >= 0n) {
          // A damaged recording loses frames without a word from GStreamer (the decoder drops what
          // it cannot decode, the demuxer skips what it cannot parse): 1.8 s of an AVI with 50 kB
          // overwritten went missing, and the run looked whole. A gap of more than 4 frames and at
          // least 250 ms is said; a variable frame rate's jitter is not.
          const gap = lastStreamPtsNs === undefined ? 0n : frame.ptsNs - lastStreamPtsNs;
          if (gap >= 250_000_000n && (frame.durationNs <= 0n || gap > 4n * frame.durationNs)) this.emit('gap', lastStreamPtsNs!, frame.ptsNs);
          const nowMs = performance.now();
          if (gap > 0n && lastStreamAtMs !== undefined) {
            this.stats.streamMs += Number(gap) / 1e6;
            this.stats.streamWallMs += nowMs - lastStreamAtMs;
          }
          lastStreamAtMs = nowMs;
          lastStreamPtsNs = frame.ptsNs;
        }
        if (live) {
          // The frames the appsink let go between two ticks show as a pts gap of several frame durations.
          const skipped = framesSkippedBetween(lastPtsNs, frame.ptsNs, frame.durationNs);
          if (skipped > 0) this.#skip(skipped);
        } else if (!onGrid.take(frame.ptsNs)) {
          source.releaseTensor(frame);
          source.releasePixels(frame);
          this.#skip(1);
          continue;
        }
        // Taken before a busy drop can lose the frame: the next frame's tick then counts it (T2).
        const gridTick: GridTick = live ? { grid: ticks.id, index: ticks.tickNow() } : { grid: onGrid.id, index: onGrid.tick };
        if (frame.ptsNs >= 0n) lastPtsNs = frame.ptsNs;
        if (this.#inFlight >= this.#opts.maxInFlight) {
          // Only a live source can lose frames by waiting; a recording waits (back-pressure).
          if (this.#opts.mode === 'live' && live) {
            source.releaseTensor(frame);
            source.releasePixels(frame);
            this.#drop('busy');
            continue;
          }
          await new Promise<void>((r) => this.#slotWaiters.push(r));
        }
        let timestampNs: bigint;
        // A live frame's position is looked up at its wall-clock capture time, not at a timestamp
        // that runs ahead of the wall clock since it stepped back (GNSS fixes carry UTC).
        let positionAtNs: bigint;
        if (live || frame.ptsNs < 0n) {
          timestampNs = clock.captured(frame);
          positionAtNs = frame.captureRealtimeNs;
        } else {
          origin ??= { ns: clock.recordingOrigin(periodNs), firstPts: frame.ptsNs };
          timestampNs = clock.recorded(origin.ns + (frame.ptsNs - origin.firstPts));
          positionAtNs = timestampNs;
        }
        const exposure = await this.#opts.exposure(frame);
        this.#admit({ frame, imageId: this.#ids.next(), timestampNs, positionAtNs, capturedAtMs: performance.now(), exposure, gridTick }, source);
      }
    } finally {
      await this.#chain;
      await this.#flush();
    }
  }

  /** source.next(), or a CaptureError when a live source that delivered before stalls (stallTimeoutMs). */
  async #nextWithin(source: FrameSource, ms: number): Promise<CapturedFrame | null> {
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CaptureError(`the live camera sent no frame for ${ms / 1000} s and GStreamer reported no error (stalled): it is reopened`)), ms);
    });
    try {
      return await Promise.race([source.next(), stalled]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A5 takes frames on the captureHz grid, but a live camera sending fewer
   * (a V4L2 mode at 5 frames/s, an RTSP stream at a low frame rate, a
   * decoder short of CPU) gives fewer: the loop waits on the source, and
   * nothing said so (lateTicks counted it as the loop's lateness). The rate
   * is measured in frames taken per window, not per frame, and the change
   * is emitted, so it is said once and not per frame.
   */
  #measureRate(nowMs: number): void {
    const w = this.#rateWindow;
    if (w === undefined) {
      this.#rateWindow = { ms: nowMs + (this.#opts.rateSettleMs ?? 5000), captured: -1 };
      return;
    }
    if (w.captured < 0) {
      if (nowMs >= w.ms) this.#rateWindow = { ms: nowMs, captured: this.stats.captured, skipped: this.stats.skipped };
      return;
    }
    const elapsedMs = nowMs - w.ms;
    if (elapsedMs < (this.#opts.rateWindowMs ?? 10_000)) return;
    const hz = ((this.stats.captured - w.captured) * 1000) / elapsedMs;
    // The frames the appsink let go between two reads (pts gaps) were sent too: a camera sending
    // enough while fewer are taken is not slow — the loop ran late, the unit short of CPU.
    this.sentHz = hz + ((this.stats.skipped - (w.skipped ?? this.stats.skipped)) * 1000) / elapsedMs;
    this.#rateWindow = { ms: nowMs, captured: this.stats.captured, skipped: this.stats.skipped };
    this.deliveredHz = hz;
    const slow = hz < 0.9 * this.#opts.captureHz;
    if (slow !== this.slowSource) {
      this.slowSource = slow;
      this.emit('rate', hz, slow);
    }
  }

  /**
   * A recording's frame rate, in its own time: frames decoded over its first
   * 2 s of stream (a variable frame rate averaged). A recording with fewer
   * frames per second than captureHz gives each of them to the grid, fewer
   * than configured; said once (the 'rate' event), not measured again.
   */
  #measureRecordedRate(ptsNs: bigint): void {
    const w = this.#rateWindow;
    if (w === undefined) {
      this.#rateWindow = { ms: Number(ptsNs) / 1e6, captured: this.stats.captured };
      return;
    }
    if (w.captured < 0) return;
    const elapsedMs = Number(ptsNs) / 1e6 - w.ms;
    if (elapsedMs < 2000) return;
    const hz = ((this.stats.captured - w.captured) * 1000) / elapsedMs;
    this.#rateWindow = { ms: 0, captured: -1 };
    this.deliveredHz = hz;
    if (hz < 0.9 * this.#opts.captureHz) {
      this.slowSource = true;
      this.emit('rate', hz, true);
    }
  }

  #skip(n: number): void {
    this.stats.skipped += n;
    this.emit('skip', n);
  }

  #drop(reason: DropReason, n = 1): void {
    this.stats.dropped[reason] += n;
    this.emit('drop', reason, n);
  }

  #admit(f: InFlight, source: FrameSource): void {
    const { frame, imageId, timestampNs } = f;
    this.#inFlight++;
    let released = false;
    this.ring.put(imageId, {
      release: () => {
        if (released) return;
        released = true;
        source.releasePixels(frame);
      },
      width: frame.width,
      height: frame.height,
      format: frame.format,
      ...(frame.yuv ? { yuv: frame.yuv } : {}),
      pixels: frame.pixels,
      captureMonotonicNs: frame.captureMonotonicNs,
      timestampNs,
      exposure: f.exposure,
      cameraPosition: this.#opts.position(f.positionAtNs),
    });
    this.ring.retain(imageId); // the pipeline's own reference until selection has run
    const detected = (async () => {
      try {
        if (!frame.tensor || !frame.letterbox) throw new InvalidStateError('frame has no detector tensor (the source was opened without tensor options)');
        return await this.#detect.detect({ tensor: frame.tensor, letterbox: frame.letterbox, frameWidth: frame.width, frameHeight: frame.height });
      } finally {
        source.releaseTensor(frame);
      }
    })();
    // Awaited in #select once the frames before it are tracked, maybe well after it failed: without a
    // handler now, a detection refused at once (DetectorPool.idle before a forced exit, while a replay
    // still had frames queued) was an unhandled rejection that ended the process (exit 1, or 134 with
    // an inference in flight). #select counts the failure.
    detected.catch(() => {});
    const done = (): void => {
      this.#inFlight--;
      this.#slotWaiters.shift()?.();
    };
    // Tracking is strictly in frame order: chain it.
    this.#chain = this.#chain
      .then(() => this.#select(f, detected))
      .catch((err: unknown) => {
        // Never let one frame's failure stop the chain (later frames would never be tracked).
        this.emit('error', err instanceof Error ? err : new Error(String(err)));
      })
      .finally(done);
  }

  async #select(f: InFlight, detected: Promise<Box[]>): Promise<void> {
    const { frame, imageId, timestampNs } = f;
    let boxes: Box[];
    const retained = this.ring.get(imageId)!;
    try {
      boxes = await detected;
    } catch (err) {
      this.#drop('detect-error');
      this.emit('workerRestart', 'detect', (err as Error).message);
      this.ring.release(imageId);
      return;
    }
    const detectDone = performance.now();
    const detections: FrameDetections = {
      cameraId: this.cameraId,
      imageId,
      timestampNs,
      exposureMode: retained.exposure.mode,
      cameraPosition: retained.cameraPosition,
      width: frame.width,
      height: frame.height,
      boxes,
      gridTick: f.gridTick,
    };
    let result: CameraTaskResult;
    try {
      // The pixels cross as a shared-memory view (no copy) when they live in a SharedArrayBuffer slot.
      const image =
        retained.pixels.buffer instanceof SharedArrayBuffer
          ? { width: frame.width, height: frame.height, stride: frame.stride, format: retained.format, ...(retained.yuv ? { yuv: retained.yuv } : {}), pixels: retained.pixels }
          : undefined;
      result = await this.#runTask({ op: 'frame', detections, ...(image ? { image } : {}) });
    } catch (err) {
      this.#drop('track-error');
      this.ring.release(imageId);
      return;
    }
    const trackDone = performance.now();
    await this.#apply(result);
    if (this.#opts.measureEveryFrame) this.stats.everyFrameBytes += (await encodeJpeg(retained, { quality: this.#opts.jpegQuality })).byteLength;
    this.ring.release(imageId);
    if (this.#compactHeld) {
      if (this.ring.refs(imageId) > 0) this.#held.push(imageId);
      this.#compactHeldBefore(imageId - this.ring.capacity);
    }
    this.stats.processed++;
    this.emit('frame', {
      imageId,
      timestampNs,
      boxes: boxes.length,
      tracks: result.frameTracks,
      latency: { detect: detectDone - f.capturedAtMs, track: trackDone - f.capturedAtMs, total: performance.now() - f.capturedAtMs },
    });
  }

  /**
   * Held frames (a policy's candidates, after the pipeline let go) older than
   * `beforeId` keep their package JPEG instead of their pixels: at 1280×720 a
   * policy holds 30–50 frames of 2.6 MiB (shared-best's candidates, up to
   * maxLatencyS), a JPEG is 10–20× smaller, and it is the image the package
   * sends anyway (docs/performance.md, "Held frames as JPEG").
   */
  #compactHeldBefore(beforeId: number): void {
    while (this.#held.length > 0 && this.#held[0]! < beforeId) {
      const id = this.#held.shift()!;
      const frame = this.ring.get(id);
      if (frame === undefined || frame.jpeg !== undefined || this.ring.refs(id) === 0) continue;
      this.ring.retain(id); // the encoder's own reference: the pixels stay until it has read them
      const jpeg = encodeJpeg(frame, { quality: this.#opts.jpegQuality });
      frame.jpeg = jpeg;
      jpeg.then(
        () => {
          frame.pixels = NO_PIXELS;
          frame.release();
          this.stats.heldFramesCompacted++;
        },
        () => {
          frame.jpeg = undefined; // the package encodes from the pixels, which stay
        },
      ).finally(() => this.ring.release(id));
    }
  }

  async #runTask(task: Omit<CameraTask, 'init'>): Promise<CameraTaskResult> {
    const init: CameraWorkerInit = { ...this.#opts.workerInit, trackIdFloor: this.#trackIdFloor };
    const packageBytes = this.#packageBytes.splice(0);
    try {
      const result = (await this.#shard.run({ ...task, init, ...(packageBytes.length > 0 ? { packageBytes } : {}) })) as CameraTaskResult;
      if (result.created && this.#hadState) {
        // The worker lost this camera's state (it crashed and was replaced):
        // what the old policy held is gone with it; tracks restart above the old ids.
        this.stats.workerRestarts++;
        this.emit('workerRestart', 'track', 'camera state re-created after a tracking worker restart');
        this.#releasePolicyRefs();
      }
      this.#hadState = true;
      this.#trackIdFloor = Math.max(this.#trackIdFloor, result.maxTrackId + 1);
      this.#opts.trackIdsUsed?.(this.#trackIdFloor);
      return result;
    } catch (err) {
      this.emit('workerRestart', 'track', (err as Error).message);
      throw err;
    }
  }

  #releasePolicyRef(id: number): void {
    this.ring.release(id);
    const n = (this.#policyRefs.get(id) ?? 0) - 1;
    if (n > 0) this.#policyRefs.set(id, n);
    else this.#policyRefs.delete(id);
  }

  #releasePolicyRefs(): void {
    for (const [id, n] of this.#policyRefs) for (let i = 0; i < n; i++) this.ring.release(id);
    this.#policyRefs.clear();
  }

  async #apply(result: CameraTaskResult): Promise<void> {
    for (const [op, id] of result.refOps) {
      if (op === 'retain') {
        this.ring.retain(id);
        this.#policyRefs.set(id, (this.#policyRefs.get(id) ?? 0) + 1);
      } else {
        this.#releasePolicyRef(id);
      }
    }
    this.stats.tracksCreated += result.newTrackIds.length;
    this.stats.activeTracks = result.activeTracks;
    this.stats.unsentObjects += result.unsentObjects;
    if (result.endedTrackIds.length > 0) this.emit('tracksEnded', result.endedTrackIds);
    await this.#applyDecisions(result);
  }

  async #applyDecisions(result: CameraTaskResult): Promise<void> {
    for (const d of result.decisions) {
      const frame = this.ring.get(d.imageId);
      if (!frame) {
        this.#drop('evicted');
        const n = (this.#policyRefs.get(d.imageId) ?? 0) - 1;
        if (n > 0) this.#policyRefs.set(d.imageId, n);
        else this.#policyRefs.delete(d.imageId);
        continue;
      }
      try {
        await this.#upload(d, frame);
      } catch (err) {
        // E.g. the queue's disk is full (ERR_QUEUE_FULL_DISK): the package was
        // not acknowledged; it is counted and the pipeline goes on.
        this.stats.packageErrors++;
        this.emit('error', err instanceof Error ? err : new Error(String(err)));
      } finally {
        this.#releasePolicyRef(d.imageId); // the decision's reference (select/policy.ts)
      }
    }
  }

  /** The images of a package by upload.content: the frame, or [a context frame and] a crop per object. */
  async #images(d: WireDecision, frame: RetainedFrame): Promise<{ jpeg: Buffer | null; crops?: Array<{ trackId: number; rect: CropRect; jpeg: Buffer }> }> {
    const c = this.#opts.content;
    if (c === undefined || c.mode === 'frame') return { jpeg: await (frame.jpeg ?? encodeJpeg(frame, { quality: this.#opts.jpegQuality })) };
    const boxes = d.tracks.map((t) => ({ trackId: t.trackId, box: t.entry.box }));
    const ids = new Set(cropTrackIds(d.selectedTrackIds, boxes, frame.width, frame.height, this.#minScore1, d.cropsOf));
    const crops: Array<{ trackId: number; rect: CropRect; jpeg: Buffer }> = [];
    for (const t of boxes) {
      if (!ids.has(t.trackId)) continue;
      const box = cropRectWithMargin(t.box, frame.width, frame.height, c.cropMargin);
      if (box === null) continue;
      // Row copies of the crop (memcpy), then the native encoder; no per-pixel work here.
      const { rect, image } = cutCrop(frame, box);
      crops.push({ trackId: t.trackId, rect, jpeg: await encodeJpeg(image, { quality: c.cropJpegQuality }) });
    }
    if (crops.length === 0) return { jpeg: await encodeJpeg(frame, { quality: this.#opts.jpegQuality }) }; // nothing to crop: the frame
    const contextOptions = { quality: c.contextJpegQuality, ...(c.contextMaxWidth ? { maxWidth: c.contextMaxWidth } : {}) };
    const jpeg = c.mode === 'frame+crops' ? await encodeJpeg(frame, contextOptions) : null;
    return { jpeg, crops };
  }

  async #upload(d: WireDecision, frame: RetainedFrame): Promise<void> {
    const images = await this.#images(d, frame);
    // A package of crops ('crops', 'frame+crops'): its content mode and crops, for the package and the upload record.
    const cropParts =
      images.crops === undefined ? undefined : { content: this.#opts.content!.mode as Exclude<UploadContent, 'frame'>, crops: images.crops };
    const pkg = buildPackage({
      cameraId: this.cameraId,
      imageId: d.imageId,
      timestampNs: d.timestampNs,
      captureMonotonicNs: frame.captureMonotonicNs,
      width: frame.width,
      height: frame.height,
      exposure: frame.exposure,
      cameraPosition: frame.cameraPosition,
      jpeg: images.jpeg,
      tracks: d.tracks,
      selection: { route: d.route, trackIds: d.selectedTrackIds, policy: this.#opts.workerInit.policy },
      ...cropParts,
    });
    const bytes = pkg.jpeg.byteLength;
    if (d.kind === 'replace' && this.#sink.replace) {
      this.#sink.replace(pkg, d.route, d.replacesImageIds.map((id) => idempotencyKey(this.cameraId, id)));
    } else {
      this.#sink.submit(pkg, d.route);
    }
    this.stats.packages[d.route]++;
    this.stats.bytes += bytes;
    // What the package took, for the policy's next task ('budget' pays real bytes, not its estimate).
    this.#packageBytes.push([d.imageId, bytes]);
    this.emit('upload', {
      cameraId: this.cameraId,
      imageId: d.imageId,
      idempotencyKey: pkg.idempotencyKey,
      route: d.route,
      kind: d.kind,
      timestampNs: d.timestampNs,
      bytes,
      selectedTrackIds: d.selectedTrackIds,
      tracks: d.tracks,
      replacesImageIds: d.replacesImageIds,
      submittedAtMs: Date.now(),
      width: frame.width,
      height: frame.height,
      // The first image part: the frame ('frame', 'frame+crops') or the first crop ('crops').
      jpeg: cropParts === undefined ? pkg.jpeg : packageParts(pkg)[0]!.data,
      ...cropParts,
    });
  }

  async #flush(): Promise<void> {
    try {
      const result = await this.#runTask({ op: 'flush' });
      await this.#apply(result);
    } catch (err) {
      this.emit('error', err as Error);
    }
  }
}
