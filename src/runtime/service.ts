/**
 * The whole product as a service: every configured camera's pipeline
 * (camera-runner.ts), one detector pool shared by all cameras, tracking
 * shards with each camera pinned to one, one uploader with its durable
 * queue, optionally the reference receiver on loopback, metrics.
 *
 * Lifecycle: stop() (SIGTERM/SIGINT) stops capture, finishes the frames in
 * flight, flushes selection policies, closes the uploader (in-flight sends
 * finish or go back to the queue) and the pools; idempotent. A camera whose
 * source fails is reopened with exponential back-off while the other cameras
 * keep running.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { detectorOptions, refuseMissingRecording, unsupportedRecordings, policyOptions, queueOptions, senderOptions, sinkOptions, trackerOptions, uploaderOptions, type BestshotConfig, type CameraConfig } from '../config/index.js';
import { DetectorPool, tensorOptionsFor, type DetectorPoolOptions } from '../detect/index.js';
import { compilePackageValidator, Uploader, type UploaderOptions, type UploaderStats, type UploadPackage, type UploadRoute } from '../upload/index.js';
import { backoffDelayMs, resolveBackoff, type ResolvedBackoff } from '../upload/backoff.js';
import { startReceiver, type Receiver } from '../receiver/index.js';
import { TypedEmitter } from '../events.js';
import { createLogger, RepeatedLine } from '../log.js';
import { BestshotError, ConfigError } from '../errors.js';
import type { ExposureInfo } from '../types.js';
import { TrackingShards } from './shards.js';
import { CameraRunner, ringCapacityFor, type DropReason, type FrameRecord, type PackageSink, type UploadRecord } from './camera-runner.js';
import { openSource, type OpenedSource } from './sources.js';
import { ExposureController, FixedPosition, GpsdPosition, ImageIdAllocator, type PositionProvider } from '../capture/acquisition.js';
import { CameraClock, describeVideoStreams, recordingCutShort, SlotPool, type CapturedFrame, type ClockStep } from '../capture/index.js';
import { loadNative, type NativeBinding } from '../capture/native.js';
import type { CameraWorkerInit } from './camera-worker.js';
import { deadLetterHint, resendDeadCommand, retryHint, type QueueRef, type SinkType } from './upload-hints.js';
import { slowSourceWarning } from './rate-warning.js';
import { resolveTrackerOptions } from '../track/index.js';
import { makeDirectory } from '../process-lock.js';

/** How long a camera's reopening waits for its last pipeline's teardown (Service #released). */
const RELEASE_WAIT_MS = 2000;

/** Dead letters said one line each in a run before they are summed up (#logDeadLetters). */
const DEAD_LETTER_LINES = 10;
/** At most one line per this long for the dead letters past the first DEAD_LETTER_LINES. */
const DEAD_LETTER_SUMMARY_MS = 60_000;

export interface RuntimeLogger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}


/** The exposure each frame was taken with (A1–A5); called once per frame, in order. */
type ExposureSource = (frame: CapturedFrame) => ExposureInfo | Promise<ExposureInfo>;

export type ServiceEvents = {
  frame: [string, FrameRecord];
  upload: [UploadRecord];
  drop: [string, DropReason, number];
  skip: [string, number];
  cameraEnded: [string];
  cameraError: [string, Error];
  /** A failed camera is reopened after `backoffMs` (not emitted for one given up on). */
  cameraRetrying: [string, number];
  workerRestart: [string, 'detect' | 'track', string];
};

export interface ServiceOptions {
  config: BestshotConfig;
  /** 'live' drops frames when a stage falls behind; 'offline' (replay) waits. Default 'live'. */
  mode?: 'live' | 'offline';
  logger?: RuntimeLogger;
  /** Inference workers. Default: config model.workers (see inferenceWorkersFor). */
  detectWorkers?: number;
  /** Reopen a failed live camera after this back-off (with jitter), doubling to 30 s. Default 1000 ms. */
  retryBaseMs?: number;
  /** A sink other than the uploader (evaluation). */
  sink?: PackageSink;
  /** Encode every processed frame too, counting the every-frame bytes (replay reports). */
  measureEveryFrame?: boolean;
  /** A live camera that delivered and then sends nothing this long is reopened (CameraRunnerOptions.stallTimeoutMs). Default 30000 ms. */
  stallTimeoutMs?: number;
  /** The detection worker module (DetectorPoolOptions.workerModule): fault drills wrap the default one. */
  detectorWorkerModule?: URL;
  /** The window a camera's load is measured over (overloaded: frames dropped busy, a realtime recording behind). Default 10000 ms. */
  loadWindowMs?: number;
}

/** What one run did, from the runners' and the queue's own counters. */
export interface RunCounts {
  frames: { captured: number; processed: number; skipped: number; dropped: Record<string, number> };
  /** Packages built by selection, by route (S5), their image bytes, and selections that could not be built. */
  packages: { immediate: number; cached: number; bytes: number; errors: number; unsentObjects: number };
  /** Acknowledged sends in this run (U1 / U2); a duplicate ack of a re-sent package counts once per send. */
  sentImmediate: number;
  sentCached: number;
  /** Packages removed from the queue as acknowledged in this run. */
  delivered: number;
  /** Packages the full queue dropped (U2 circular) and packages dead-lettered, in this run. */
  queueDropped: number;
  deadLettered: number;
  /** Queued packages a better image of the same objects replaced ('replace-queued'), never sent, in this run. */
  replaced: number;
  /** Still in the queue file; sent at the next start. */
  stillQueued: number;
  /** In the queue file when this run started: left by an earlier run, sent first. */
  queuedAtStart: number;
  /** New packages the queue could not write (disk full), in this run: refused, never sent. */
  refusedDiskFull: number;
  /** Dead letters in the queue file when this run started (refused by the endpoint in earlier runs). */
  deadLettersAtStart: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** How often a camera that stays down with the same cause is said again. */
const CAMERA_OUTAGE_REPEAT_MS = 60_000;

export interface CameraStatus {
  id: string;
  /** 'failed': a recording that cannot be played (not retried; `bestshot run` exits 1). */
  state: 'starting' | 'running' | 'retrying' | 'ended' | 'failed' | 'stopped';
  /** The runner of the source opened last; each reopening (a looping file, a reconnect) starts a new one. */
  runner: CameraRunner | undefined;
  /** The counts of the runners before `runner`: the camera's totals are these plus the runner's (cameraTotals). */
  earlier: CameraTotals;
  failures: number;
  lastError?: string;
  /** A live camera's lowest delivery rate measured below 90 % of its captureHz (frames/s) in this run, with that captureHz; undefined when never. */
  slowest?: { hz: number; captureHz: number };
  /** Its source is live (drops frames the detector has no room for) — set when opened. */
  live?: boolean;
  /** Overloaded in the last load window (what /healthz says); undefined when not. */
  overloaded?: string;
  /** Its worst load window of the run, when overloaded (the run's summary). */
  worstLoad?: CameraLoad;
}

/**
 * A camera's load over one window of wall-clock time (BestshotService
 * #checkLoad): the frames it took and analysed, those dropped because the
 * detector had no room, and for a realtime recording how fast it played.
 */
export interface CameraLoad {
  takenHz: number;
  processedHz: number;
  /** Share of the frames taken that were dropped before detection (detector busy), 0–1. */
  droppedShare: number;
  /** A realtime recording: stream seconds played per wall-clock second (1 = real time). */
  speed?: number;
  captureHz: number;
}

/** Overloaded: more than this share of a live camera's frames dropped before detection in a window… */
const OVERLOAD_DROP_SHARE = 0.1;
/** …or a realtime recording played at less than this fraction of real time (its frames waiting; a loop's reopenings left out). */
const OVERLOAD_MIN_SPEED = 0.9;
/** How often an overload that comes back after it ended is said again, at most. */
const OVERLOAD_REPEAT_MS = 10 * 60_000;

function overloaded(l: CameraLoad): boolean {
  return l.droppedShare > OVERLOAD_DROP_SHARE || (l.speed !== undefined && l.speed < OVERLOAD_MIN_SPEED);
}

/** The share of its work a camera did in a window (1: all of it): a worse window has less. */
function loadShare(l: CameraLoad): number {
  return Math.min(l.speed ?? 1, 1 - l.droppedShare);
}

/** What /healthz and the summary say of an overloaded camera's window. */
export function describeLoad(l: CameraLoad): string {
  const f = (x: number): string => x.toFixed(1);
  if (l.speed !== undefined) return `analyses ${f(l.processedHz)} frames/s (captureHz ${l.captureHz}): the recording plays at ${l.speed.toFixed(2)}× real time, its frames wait for the detector`;
  return `analyses ${f(l.processedHz)} of the ${f(l.takenHz)} frames/s it takes (captureHz ${l.captureHz}): ${Math.round(l.droppedShare * 100)} % dropped, the detector busy`;
}

/** A camera's counts over every source it opened in this run. */
export interface CameraTotals {
  captured: number;
  processed: number;
  skipped: number;
  dropped: Record<DropReason, number>;
  packages: { immediate: number; cached: number };
  bytes: number;
  packageErrors: number;
  unsentObjects: number;
  tracksCreated: number;
  /** A recording's stream time read (ms), and the wall-clock time reading it took: a realtime replay behind the wall clock is overloaded. */
  streamMs: number;
  streamWallMs: number;
}

function addTotals(a: CameraTotals, b: CameraTotals): CameraTotals {
  const dropped = { ...a.dropped };
  for (const [k, v] of Object.entries(b.dropped) as Array<[DropReason, number]>) dropped[k] = (dropped[k] ?? 0) + v;
  return {
    captured: a.captured + b.captured,
    processed: a.processed + b.processed,
    skipped: a.skipped + b.skipped,
    dropped,
    packages: { immediate: a.packages.immediate + b.packages.immediate, cached: a.packages.cached + b.packages.cached },
    bytes: a.bytes + b.bytes,
    packageErrors: a.packageErrors + b.packageErrors,
    unsentObjects: a.unsentObjects + b.unsentObjects,
    tracksCreated: a.tracksCreated + b.tracksCreated,
    streamMs: a.streamMs + b.streamMs,
    streamWallMs: a.streamWallMs + b.streamWallMs,
  };
}

const NO_TOTALS: CameraTotals = {
  captured: 0,
  processed: 0,
  skipped: 0,
  dropped: { busy: 0, 'detect-error': 0, 'track-error': 0, evicted: 0 },
  packages: { immediate: 0, cached: 0 },
  bytes: 0,
  packageErrors: 0,
  unsentObjects: 0,
  tracksCreated: 0,
  streamMs: 0,
  streamWallMs: 0,
};

/** The camera's counts in this run: its earlier runners' and the current one's. */
export function cameraTotals(status: CameraStatus): CameraTotals {
  return status.runner ? addTotals(status.earlier, status.runner.stats) : status.earlier;
}

export function detectorPoolOptions(config: BestshotConfig, workers: number, log: RuntimeLogger): DetectorPoolOptions {
  const o = detectorOptions(config.model);
  // The intra-op threads of the config are shared among the inference workers.
  return { ...o, intraOpNumThreads: Math.max(1, Math.floor(o.intraOpNumThreads / workers)), workers, logger: (m) => log.warn(m), debugLogger: (m) => log.debug(m) };
}

/**
 * model.workers, or when 0: one live camera at its captureHz needs one
 * session (each costs its own ORT session and V8 isolate, ~40 MiB: docs/performance.md);
 * several cameras, or an offline replay that runs as fast as it can, share
 * two (best throughput on 2 cores, PLATFORM-NOTES).
 */
export function inferenceWorkersFor(config: BestshotConfig, mode: 'live' | 'offline' = 'live'): number {
  if (config.model.workers > 0) return config.model.workers;
  return config.cameras.length <= 1 && mode === 'live' ? 1 : 2;
}

/**
 * cameras[].decoderThreads, or when 0: one thread for each camera of a
 * service that runs several (the cameras are the parallelism: each libav
 * decoder thread keeps frames of its own in flight, ~14 MiB per 1280×720
 * camera, docs/performance.md), the decoder's own choice (one per core) for
 * a single camera, so one replay decodes as fast as before.
 */
export function decoderThreadsFor(config: BestshotConfig, cam: Pick<CameraConfig, 'decoderThreads'>): number {
  if (cam.decoderThreads > 0) return cam.decoderThreads;
  return config.cameras.length > 1 ? 1 : 0;
}

/**
 * glibc malloc arenas of the service's process: two, unless MALLOC_ARENA_MAX
 * is set (glibc applied it at process start). Each thread that allocates
 * under contention gets an arena of its own, and the pages an arena keeps
 * cost 14–22 MiB a camera (docs/performance.md, "Where one camera's memory
 * goes"). Applied before the worker threads start; returns the limit set, or
 * null when the environment's is kept or the C library is not glibc.
 */
export const DEFAULT_MALLOC_ARENAS = 2;

export function limitMallocArenas(env: NodeJS.ProcessEnv = process.env, native: Pick<NativeBinding, 'limitMallocArenas'> = loadNative()): number | null {
  if (env.MALLOC_ARENA_MAX !== undefined && env.MALLOC_ARENA_MAX !== '') return null;
  return native.limitMallocArenas(DEFAULT_MALLOC_ARENAS) ? DEFAULT_MALLOC_ARENAS : null;
}

/**
 * glibc's mmap threshold of the service's process, fixed at 128 KiB (its
 * initial value) unless MALLOC_MMAP_THRESHOLD_ or GLIBC_TUNABLES sets one.
 * glibc raises the threshold whenever a mapped block is freed, so after the
 * first frames the 1–3 MiB blocks the pipeline allocates and frees every
 * frame (decoder pictures, inference inputs and outputs, JPEGs) come from
 * the heap, whose pages stay with the process; fixed, they are mapped and
 * given back. One camera at 1280×720: 269–285 MiB instead of 326–332
 * (docs/performance.md, "The mmap threshold"). Returns the threshold set,
 * or null when the environment's is kept or the C library is not glibc.
 */
export const DEFAULT_MMAP_THRESHOLD = 128 * 1024;

export function fixMmapThreshold(env: NodeJS.ProcessEnv = process.env, native: Pick<NativeBinding, 'fixMmapThreshold'> = loadNative()): number | null {
  if ((env.MALLOC_MMAP_THRESHOLD_ ?? '') !== '' || (env.GLIBC_TUNABLES ?? '').includes('glibc.malloc.mmap_threshold')) return null;
  return native.fixMmapThreshold(DEFAULT_MMAP_THRESHOLD) ? DEFAULT_MMAP_THRESHOLD : null;
}

/** The tracking worker's init for a camera (tracker options from the config, A5 period included). */
export function workerInitFor(cam: CameraConfig, content: BestshotConfig['upload']['content']): Omit<CameraWorkerInit, 'trackIdFloor'> {
  return {
    cameraId: cam.id,
    tracker: trackerOptions(cam),
    policy: cam.selection.policy,
    policyOptions: policyOptions(cam.selection, content),
    calibration: cam.calibration ?? null,
  };
}

export class BestshotService extends TypedEmitter<ServiceEvents> {
  readonly config: BestshotConfig;
  readonly mode: 'live' | 'offline';
  readonly cameras = new Map<string, CameraStatus>();
  uploader: Uploader | undefined;
  receiver: Receiver | undefined;
  detect!: DetectorPool;
  provider = 'unknown';
  /** Tracking/selection workers; a camera is pinned to one shard. */
  shards!: TrackingShards;
  #log: RuntimeLogger;
  #opts: ServiceOptions;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #loops: Promise<void>[] = [];
  #detectorReady = false;
  #closers: Array<() => void> = [];
  /** Aborted by stop(): wakes every camera's retry back-off at once, so a stop is never held by a sleep. */
  #stopSignal = new AbortController();
  #retryBackoff!: ResolvedBackoff;
  /** Cameras failing now: since when (performance.now), when it was last said, its cause (digits masked), the tries failed since it last delivered. */
  #outages = new Map<string, { sinceMs: number; saidAtMs: number; cause: string; failedTries: number }>();
  /** The queue's lifetime counters when this service started: a run's own counts are the difference. */
  #countersAtStart: UploaderStats | undefined;
  #deadLettersAtStart = 0;
  /** A1–A4 controllers by camera id (cameras with exposure.mode 'rule' or 'fixed' and a controllable source). */
  readonly exposureControllers = new Map<string, ExposureController>();

  private constructor(options: ServiceOptions) {
    super();
    this.config = options.config;
    this.mode = options.mode ?? 'live';
    this.#log = options.logger ?? createLogger();
    this.#opts = options;
  }

  /** Build everything, load the model, start every camera. */
  static async start(options: ServiceOptions): Promise<BestshotService> {
    const svc = new BestshotService(options);
    svc.#retryBackoff = resolveBackoff({ baseMs: options.retryBaseMs ?? 1000, maxMs: 30_000 });
    try {
      await svc.#start();
    } catch (err) {
      await svc.stop();
      throw err;
    }
    return svc;
  }

  /**
   * Ready = the detector is loaded, every camera has had its first try, and
   * the unit does its job: a camera delivers frames (or every source has
   * ended). One camera that is down — an RTSP camera offline, a recording
   * that cannot be played — shows in `cameras` but does not make a unit
   * whose other cameras deliver unready: an OTA health check would otherwise
   * roll back every update of a unit with one camera out.
   */
  health(): { ready: boolean; detector: boolean; cameras: Record<string, string>; slow: Record<string, string>; overloaded: Record<string, string> } {
    const cameras: Record<string, string> = {};
    // Said, not judged: a camera sending fewer frames than captureHz still does its job.
    const slow: Record<string, string> = {};
    // Said, not judged either: an overloaded unit still analyses frames, and a restart (what an
    // orchestrator does with an unready unit) would not give it more CPU.
    const overloaded: Record<string, string> = {};
    let delivering = 0;
    let starting = 0;
    let ended = 0;
    for (const [id, c] of this.cameras) {
      const delivers = c.state === 'running' && (c.runner?.stats.captured ?? 0) > 0;
      cameras[id] = delivers ? 'delivering' : c.state;
      if (delivers && c.runner?.slowSource && c.runner.deliveredHz !== undefined) {
        slow[id] = `${c.runner.deliveredHz.toFixed(1)} frames/s, fewer than captureHz ${c.slowest?.captureHz}`;
      }
      if (delivers && c.overloaded !== undefined) overloaded[id] = c.overloaded;
      if (delivers) delivering++;
      // Still on its first try (not a camera that failed before and is reconnecting).
      else if ((c.state === 'starting' || c.state === 'running') && c.failures === 0) starting++;
      else if (c.state === 'ended') ended++;
    }
    const ready = this.#detectorReady && starting === 0 && (delivering > 0 || (this.cameras.size > 0 && ended === this.cameras.size));
    return { ready, detector: this.#detectorReady, cameras, slow, overloaded };
  }

  /** Resolves when every camera's source has ended (replays) or after stop(). */
  async done(): Promise<void> {
    await Promise.all(this.#loops);
  }

  async #start(): Promise<void> {
    const cfg = this.config;
    // A recording that is not there is a mistake in the config, not a camera that may come back:
    // the start fails (all or nothing) instead of retrying it for ever.
    refuseMissingRecording(cfg);
    const unsupported = unsupportedRecordings(cfg)[0];
    if (unsupported !== undefined) throw new ConfigError(unsupported.key, unsupported.problem);
    const arenas = limitMallocArenas();
    if (arenas !== null) this.#log.debug('malloc arenas limited', { arenas });
    const mmapThreshold = fixMmapThreshold();
    if (mmapThreshold !== null) this.#log.debug('malloc mmap threshold fixed', { bytes: mmapThreshold });
    const workers = this.#opts.detectWorkers ?? inferenceWorkersFor(cfg, this.mode);
    this.shards = new TrackingShards(Math.min(2, Math.max(1, cfg.cameras.length)));
    // An embedded receiver without a configured token gets a random one for this run, shared with the uploader only.
    const token = cfg.upload.token ?? (cfg.receiver.embedded ? randomBytes(18).toString('base64url') : undefined);
    if (cfg.receiver.embedded) {
      makeDirectory(cfg.receiver.dir);
      try {
        this.receiver = await startReceiver({ port: cfg.receiver.port, host: '127.0.0.1', dir: cfg.receiver.dir, token });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        throw new BestshotError(
          'ERR_PORT_IN_USE',
          `embedded receiver cannot listen on 127.0.0.1:${cfg.receiver.port} (EADDRINUSE): another process holds the port; set receiver.port to a free port (0 = any)`,
          { cause: err },
        );
      }
      this.#log.info('receiver started', { url: this.receiver.url, dir: cfg.receiver.dir });
    }
    const t0 = performance.now();
    this.detect = await DetectorPool.create({ ...detectorPoolOptions(cfg, workers, this.#log), workerModule: this.#opts.detectorWorkerModule });
    this.provider = this.detect.provider;
    this.#detectorReady = true;
    this.#log.info('detector loaded', { provider: this.provider, fitInput: this.detect.fitsInput, ms: Math.round(performance.now() - t0), workers });
    // The queue opens after the model loaded: nothing is sent before the service can run.
    let sink = this.#opts.sink;
    if (!sink) {
      const http = (cfg.upload.sink?.type ?? 'http') === 'http';
      const endpoint = cfg.upload.endpoint ?? (this.receiver ? `${this.receiver.url}/packages` : undefined);
      if (http && !endpoint) throw new ConfigError('upload.endpoint', 'not set and no embedded receiver is configured: set upload.endpoint or receiver.embedded: true');
      makeDirectory(join(cfg.queue.path, '..'));
      // upload.sink decides how a package leaves; U1/U2 (the uploader and its queue) are the same for every sink.
      let sender: UploaderOptions['sender'];
      if (http) {
        sender = senderOptions({ ...cfg.upload, token }, endpoint);
      } else {
        // Loaded only when configured: the S3 SDK and MQTT.js stay out of an http-only process.
        const { createSink } = await import('../upload/sinks/index.js');
        const sink = createSink(sinkOptions(cfg.upload) as Parameters<typeof createSink>[0]);
        this.#closers.push(() => sink.close());
        sender = sink;
      }
      const uploader = new Uploader({
        sender,
        // A corrupt queue file set aside is reported in the service's own log format.
        queue: { ...queueOptions(cfg.queue), log: (message: string) => this.#log.error(message) },
        ...uploaderOptions(cfg.upload),
      });
      this.#logUploaderErrors(uploader, cfg.queue.path);
      this.#logDeadLetters(uploader, cfg.queue, cfg.upload.sink?.type ?? 'http');
      this.#logEndpointOutages(uploader, cfg.upload.sink?.type ?? 'http');
      this.#logQueueLosses(uploader, cfg.queue.path);
      this.uploader = uploader;
      this.#countersAtStart = uploader.stats();
      if (this.#countersAtStart.queueDepth > 0) {
        this.#log.info('queue holds packages from an earlier run; they are sent first', { queued: this.#countersAtStart.queueDepth, queue: cfg.queue.path });
      }
      this.#deadLettersAtStart = uploader.queue.deadLetterCount();
      if (this.#deadLettersAtStart > 0) {
        this.#log.warn(`queue holds ${this.#deadLettersAtStart} dead letters the endpoint refused in earlier runs; they are not sent: 'bestshot queue inspect --path ${cfg.queue.path}' lists them, '${resendDeadCommand(cfg.queue)}' puts them back`, { queue: cfg.queue.path });
      }
      sink = {
        submit: (pkg: UploadPackage, route: UploadRoute) => void uploader.submit(pkg, route),
        replace: (pkg: UploadPackage, route: UploadRoute, keys: string[]) => uploader.replace(pkg, route, keys),
      };
    }
    // Every package is validated against its schema; compiled here, before the cameras run, not at the first package.
    compilePackageValidator();
    // A5: imageIds are never reused across restarts (a high-water mark in stateDir), so the
    // first block is saved before any camera runs: a stateDir that cannot be written fails the start.
    const allocators = cfg.cameras.map((cam) => {
      const ids = ImageIdAllocator.open({
        stateDir: cfg.stateDir,
        cameraId: cam.id,
        onDegraded: (line) => this.#log.warn(line, { camera: cam.id }),
        // A unit's cameras (live), and a replay that uploads to an endpoint of its own (not the
        // embedded receiver, which starts empty): a new stateDir starts at the clock, above every id
        // sent before under that camera id — a replay numbered from 1 collided with the previous one
        // (409, dead letters). A replay to its embedded receiver numbers its frames from 1.
        ...(this.mode === 'live' || !cfg.receiver.embedded ? { firstId: Date.now() } : {}),
      });
      ids.reserve();
      // Data model / T2: a trackId is never reused, across restarts too (a high-water mark in
      // stateDir, as imageIds): tracks numbered from 1 at every start gave a new object the id
      // of one already delivered, and the cloud, keying objects by camera and trackId, merged them.
      const trackIds = ImageIdAllocator.open({ stateDir: cfg.stateDir, cameraId: cam.id, kind: 'trackid', onDegraded: (line) => this.#log.warn(line, { camera: cam.id }) });
      trackIds.reserve();
      return { ids, trackIds };
    });
    cfg.cameras.forEach((cam, i) => {
      const status: CameraStatus = { id: cam.id, state: 'starting', runner: undefined, earlier: NO_TOTALS, failures: 0 };
      this.cameras.set(cam.id, status);
      this.#loops.push(this.#superviseCamera(cam, status, sink, allocators[i]!.ids, allocators[i]!.trackIds));
    });
    // Only the unit's own run (live): a replay waits for the detector by design, as fast as it goes.
    if (this.mode === 'live') {
      const timer = setInterval(() => this.#checkLoad(), this.#opts.loadWindowMs ?? 10_000);
      timer.unref();
      this.#closers.push(() => clearInterval(timer));
    }
  }

  /** Each camera's totals at the start of the load window being measured (#checkLoad). */
  #loadWindows = new Map<string, { atMs: number; totals: CameraTotals }>();
  /** The cameras an overload warning named (each once), when the last one was said, and whether it stands (its end not said yet). */
  #overloadSaid = { cameras: new Set<string>(), atMs: 0, now: false };

  /**
   * More camera work than the CPU can do: a live camera's frames that find the
   * detector busy are dropped (counted as 'busy'), a realtime recording's wait
   * and it falls behind real time. Neither was said: the counters grew, the
   * log and /healthz stayed quiet, and the operator saw "delivering". Each
   * window of loadWindowMs is judged per camera (the first one after its
   * first frame is start-up: the model's first inferences are slow) and an
   * overload of the unit is said once, with what to lower, not per frame.
   */
  #checkLoad(): void {
    const now = performance.now();
    const over: Record<string, string> = {};
    for (const [id, status] of this.cameras) {
      const cam = this.config.cameras.find((c) => c.id === id);
      const t = cameraTotals(status);
      const prev = this.#loadWindows.get(id);
      if (t.captured === 0) continue;
      this.#loadWindows.set(id, { atMs: now, totals: t });
      if (prev === undefined || cam === undefined || (status.state !== 'running' && status.state !== 'ended')) {
        status.overloaded = undefined;
        continue;
      }
      const s = (now - prev.atMs) / 1000;
      if (s <= 0) continue;
      // A live camera's every read frame is on its grid; a recording's off-grid frames count as skipped too.
      const taken = status.live ? t.captured - prev.totals.captured : t.captured - t.skipped - (prev.totals.captured - prev.totals.skipped);
      const busy = t.dropped.busy - prev.totals.dropped.busy;
      const realtime = cam.source.type === 'file' && cam.source.realtime && status.state === 'running';
      const load: CameraLoad = {
        takenHz: taken / s,
        processedHz: (t.processed - prev.totals.processed) / s,
        droppedShare: taken > 0 ? busy / taken : 0,
        // Stream time over the wall time its frames took, a loop's reopenings left out (a 1.6 s clip reopened
        // every pass read as ~0.9× real time on a machine that kept up).
        ...(realtime && !status.live && t.streamWallMs - prev.totals.streamWallMs > 0 ? { speed: (t.streamMs - prev.totals.streamMs) / (t.streamWallMs - prev.totals.streamWallMs) } : {}),
        captureHz: cam.captureHz,
      };
      if (!overloaded(load)) {
        status.overloaded = undefined;
        continue;
      }
      status.overloaded = describeLoad(load);
      over[id] = status.overloaded;
      if (status.worstLoad === undefined || loadShare(load) < loadShare(status.worstLoad)) status.worstLoad = load;
    }
    const said = this.#overloadSaid;
    const ids = Object.keys(over);
    // An overload that ended and comes back is said again, at most every OVERLOAD_REPEAT_MS.
    if (!said.now && said.cameras.size > 0 && now - said.atMs >= OVERLOAD_REPEAT_MS) said.cameras.clear();
    if (ids.length > 0) {
      // Once per camera: a warning names every camera overloaded now, when one of them was not named yet.
      if (ids.every((id) => said.cameras.has(id))) return;
      for (const id of ids) said.cameras.add(id);
      said.atMs = now;
      said.now = true;
      this.#log.warn(
        `the unit is overloaded: more camera work than its CPU can do; camera${ids.length === 1 ? '' : 's'} ${ids.join(', ')} analyse${ids.length === 1 ? 's' : ''} fewer frames than captureHz, so objects are seen less often and short-lived ones may be missed; lower captureHz, the number of cameras or their resolution, or use a smaller model`,
        { cameras: over },
      );
    } else if (said.now) {
      said.now = false;
      this.#log.info('the unit is no longer overloaded: every camera analyses the frames it takes');
    }
  }

  /**
   * Before a camera is opened again: its last opening's GStreamer teardown runs off JavaScript's
   * thread (capture/frame-source.ts `released`) and a device (V4L2, Argus) opens again only once it
   * has let go, normally within milliseconds. A teardown stuck in a read that does not return (a
   * hung mount) is left behind after RELEASE_WAIT_MS, said in the log.
   */
  async #released(cam: CameraConfig, previous: OpenedSource): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), RELEASE_WAIT_MS);
    });
    const outcome = await Promise.race([previous.source.released.then(() => 'released' as const), late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.#log.warn(`the camera's last pipeline has not let go of its source after ${RELEASE_WAIT_MS / 1000} s (GStreamer is still waiting on a read of it); opening it again anyway`, { camera: cam.id });
    }
  }

  async #superviseCamera(cam: CameraConfig, status: CameraStatus, sink: PackageSink, ids: ImageIdAllocator, trackIds: ImageIdAllocator): Promise<void> {
    const tensor = tensorOptionsFor(this.detect.manifest);
    const position = this.#positionFor(cam);
    let trackIdFloor = trackIds.next();
    let attempt = 0;
    // The camera's shared-memory slots, reused by every reopening (a looping file, a reconnect): RSS stays flat (docs/performance.md).
    const slots = new SlotPool();
    // A5: one clock per camera, not per opening: its timestamps strictly increase across reopenings
    // (a faster-than-real-time loop would otherwise start each pass before the last one ended)
    // and across steps of the wall clock, each said once.
    const clock = new CameraClock({ onStep: (step) => this.#logClockStep(cam.id, step) });
    let endedEarlySaid = false;
    let videoStreamsSaid = false;
    let rateSaid: 'none' | 'slow' | 'recovered' = 'none';
    // Gaps in a recording's stream (CameraRunner 'gap'), over every pass.
    const gaps = { count: 0, ns: 0n };
    let previous: OpenedSource | undefined;
    while (!this.#stopping) {
      if (previous !== undefined) await this.#released(cam, previous);
      let opened: OpenedSource | undefined;
      let exposure: ExposureSource;
      try {
        // Pixel slots for every frame the ring keeps, plus those in flight (maxInFlight 3) and one being
        // compacted (heldFrames); a source pulling ahead or a policy holding more makes the pool grow
        // on its misses, up to twice this (FrameSource), so a camera holds only the slots it uses.
        opened = openSource(cam.source, tensor, ringCapacityFor({ captureHz: cam.captureHz, ringSeconds: cam.ringSeconds }) + 4, slots, decoderThreadsFor(this.config, cam), cam.pixelFormat === 'i420' ? 'I420' : 'BGR');
        // Before anything awaits: the first frame (which tells the streams) may come at the next turn.
        // GStreamer plays the first video stream and drops the others without a word; said once a camera.
        opened.source.once('videoStreams', (v) => {
          if (videoStreamsSaid) return;
          videoStreamsSaid = true;
          const where = cam.source.type === 'file' ? `recording ${cam.source.path}` : `the ${cam.source.type} source`;
          this.#log.warn(describeVideoStreams(where, v), { camera: cam.id });
        });
        exposure = await this.#exposureFor(cam, opened);
      } catch (err) {
        opened?.close();
        previous = opened;
        if (this.#unplayable(cam, status, err as Error)) return;
        if (!(await this.#retry(cam, status, err as Error, ++attempt))) return;
        continue;
      }
      const runner = new CameraRunner(
        {
          cameraId: cam.id,
          captureHz: cam.captureHz,
          ringSeconds: cam.ringSeconds,
          heldFrames: cam.heldFrames,
          mode: this.mode,
          jpegQuality: cam.jpegQuality,
          content: {
            mode: this.config.upload.content,
            cropJpegQuality: this.config.upload.cropJpegQuality,
            contextJpegQuality: this.config.upload.contextJpegQuality,
            contextMaxWidth: this.config.upload.contextMaxWidth,
            cropMargin: this.config.upload.cropMargin,
          },
          exposure,
          position: (ts) => position?.positionAt(ts) ?? null,
          workerInit: workerInitFor(cam, this.config.upload.content),
          trackIdFloor,
          trackIdsUsed: (nextId) => trackIds.cover(nextId),
          measureEveryFrame: this.#opts.measureEveryFrame,
          stallTimeoutMs: this.#opts.stallTimeoutMs,
          clock,
        },
        { detect: this.detect, shard: this.shards.forCamera(cam.id), sink, imageIds: ids },
      );
      runner.on('frame', (r) => this.emit('frame', cam.id, r));
      runner.once('frame', () => {
        const outage = this.#outages.get(cam.id);
        if (outage === undefined) return;
        this.#outages.delete(cam.id);
        this.#log.info('camera delivering again', { camera: cam.id, afterS: Math.round((performance.now() - outage.sinceMs) / 1000), failedTries: outage.failedTries });
      });
      runner.on('upload', (u) => this.emit('upload', u));
      runner.on('drop', (reason, n) => this.emit('drop', cam.id, reason, n));
      runner.on('skip', (n) => this.emit('skip', cam.id, n));
      runner.on('gap', (fromNs, toNs) => {
        // The first gap of a camera is said where it happens; the count and the time at the end.
        const s = (ns: bigint): string => (Number(ns) / 1e9).toFixed(1);
        if (gaps.count++ === 0 && cam.source.type === 'file') {
          this.#log.warn(`recording has a gap: no frame from ${s(fromNs)} s to ${s(toNs)} s of ${cam.source.path} (damaged, or recorded with pauses); that time is not analysed`, { camera: cam.id });
        }
        gaps.ns += toNs - fromNs;
      });
      runner.on('rate', (hz, slow) => {
        // Said once a camera (the first slow window, and its first recovery after), never per frame;
        // /healthz and the run's summary carry the rate.
        const fields = { camera: cam.id, deliveredHz: Math.round(hz * 10) / 10, captureHz: cam.captureHz };
        if (slow) {
          if (status.slowest === undefined || hz < status.slowest.hz) status.slowest = { hz, captureHz: cam.captureHz };
          if (rateSaid === 'none') {
            rateSaid = 'slow';
            this.#log.warn(
              slowSourceWarning({
                ...(cam.source.type === 'file' ? { recording: cam.source.path } : {}),
                hz,
                ...(runner.sentHz !== undefined ? { sentHz: runner.sentHz } : {}),
                captureHz: cam.captureHz,
                lostBufferPeriods: resolveTrackerOptions(trackerOptions(cam)).maxTimeLost,
              }),
              fields,
            );
          }
        } else if (rateSaid === 'slow') {
          rateSaid = 'recovered';
          this.#log.info(`camera delivers at captureHz again (${hz.toFixed(1)} frames/s)`, fields);
        }
      });
      runner.on('workerRestart', (kind, why) => {
        this.#log.warn('worker restarted', { camera: cam.id, kind, reason: why });
        this.emit('workerRestart', cam.id, kind, why);
      });
      runner.on('error', (e) => this.#log.error('camera pipeline error', { camera: cam.id, error: e.message }));
      if (status.runner) status.earlier = addTotals(status.earlier, status.runner.stats);
      status.runner = runner;
      status.live = opened.live;
      status.state = 'running';
      let failure: Error | undefined;
      opened.source.on('error', (e) => {
        failure = e;
      });
      const offWarning = opened.source.on('warning', (w) => this.#log.debug('pipeline warning', { camera: cam.id, ...w }));
      try {
        await runner.run(opened.source, opened.live);
        if (runner.stats.captured > 0) attempt = 0;
      } catch (err) {
        failure = err as Error;
      } finally {
        offWarning();
        opened.close();
        previous = opened;
        trackIdFloor = runner.maxTrackId + 1;
      }
      if (this.#stopping) break;
      if (failure) {
        if (this.#unplayable(cam, status, failure)) return;
        if (!(await this.#retry(cam, status, failure, ++attempt))) return;
        continue;
      }
      // End of stream. A live camera that ends (an RTSP server stopped, a
      // device unplugged) is a failure to retry; a recording ends for good.
      if (opened.live) {
        if (!(await this.#retry(cam, status, new Error('the live stream ended (EOS)'), ++attempt))) return;
        continue;
      }
      if (cam.source.type === 'file' && !endedEarlySaid && runner.stats.captured > 0) {
        const cut = await recordingCutShort(cam.source.path, Number(runner.streamEndNs) / 1e9);
        if (cut) {
          endedEarlySaid = true; // a looping file says it once
          status.lastError = cut;
          this.#log.warn('recording cut short', { camera: cam.id, warning: cut });
        }
      }
      if (cam.source.type === 'file' && cam.source.loop) continue;
      status.state = 'ended';
      if (gaps.count > 1) this.#log.warn(`recording had ${gaps.count} gaps, ${(Number(gaps.ns) / 1e9).toFixed(1)} s without frames in all: that time was not analysed`, { camera: cam.id });
      this.#log.info('camera source ended', { camera: cam.id, ...runner.stats });
      this.emit('cameraEnded', cam.id);
      return;
    }
    status.state = 'stopped';
  }

  /** A5: a step of the wall clock a camera's timestamps rode over (capture/timestamps.ts), once per step. */
  #logClockStep(cameraId: string, step: ClockStep): void {
    const s = (ns: bigint): number => Math.round(Number(ns < 0n ? -ns : ns) / 1e8) / 10;
    const fields = { camera: cameraId, aheadOfWallClockS: s(step.aheadNs) };
    if (step.stepNs < 0n) this.#log.warn(`wall clock stepped back by ${s(step.stepNs)} s; timestamps continue from the monotonic clock`, fields);
    else if (step.aheadNs > 0n) this.#log.warn(`wall clock stepped forward by ${s(step.stepNs)} s; timestamps continue from the monotonic clock`, fields);
    else this.#log.warn(`wall clock stepped forward by ${s(step.stepNs)} s; timestamps follow it`, fields);
  }

  /** An endpoint that is down is said once, then every minute while it stays down, and when it is back. */
  /**
   * Packages the queue could not keep are said when it starts and when it
   * ends, not only counted: a full disk refusing new packages (U2: capture
   * goes on), and a full queue dropping its oldest.
   */
  #logQueueLosses(uploader: Uploader, queuePath: string): void {
    let refusedSince = 0;
    uploader.on('refused', (e) => {
      if (refusedSince++ === 0) this.#log.warn('the queue cannot write new packages (disk full): they are refused and counted; capture goes on', { queue: queuePath, error: e.reason });
    });
    const writesAgain = (): void => {
      if (refusedSince === 0) return;
      this.#log.info('the queue writes new packages again', { refusedMeanwhile: refusedSince, queue: queuePath });
      refusedSince = 0;
    };
    uploader.on('persisted', writesAgain);
    uploader.on('queued', (e) => {
      if (e.reason === 'cached') writesAgain();
    });
    let droppedSaid = false;
    uploader.on('dropped', (d) => {
      if (droppedSaid) return;
      droppedSaid = true;
      // While the endpoint takes nothing, a faster drain cannot help: only room for a longer outage does.
      const fix = this.endpointDown ? 'raise queue.maxPackages or queue.maxBytes to hold a longer outage of the endpoint' : 'raise queue.maxPackages or queue.maxBytes, or upload.sendHz';
      this.#log.warn(`the queue is full: its oldest packages are dropped for new ones (counted); ${fix}`, { key: d.idempotencyKey, queue: queuePath });
    });
  }

  /** True while the endpoint is not taking packages (from its first failed send to the next success). */
  get endpointDown(): boolean {
    return this.#endpointDownSince !== undefined;
  }

  #endpointDownSince: number | undefined;

  /**
   * Dead letters (U2: refused for good, kept in the queue) are said one line each for the first
   * DEAD_LETTER_LINES of a run, then in one line a minute at most: an endpoint that starts refusing
   * everything (a token rotated, a new ingest version) after a long outage dead-letters the backlog
   * at sendHz, thousands of lines into the journal. The hint is said once per status: a refusal's
   * detail can name the package (its key, its sizes), and a hint per package was a line per package.
   */
  #logDeadLetters(uploader: Uploader, queue: QueueRef, sink: SinkType): void {
    const queuePath = queue.path;
    const hintsGiven = new Set<number | undefined>();
    let said = 0;
    let held = { count: 0, byStatus: {} as Record<string, number>, lastKey: '', lastReason: '' };
    /** The last dead-letter line (one of the first, or a sum): the next sum comes a minute after it. */
    let lastSummaryMs = 0;
    let timer: NodeJS.Timeout | undefined;
    const summarize = (): void => {
      timer = undefined;
      if (held.count === 0) return;
      lastSummaryMs = performance.now();
      this.#log.warn(`${held.count} more packages dead-lettered (kept in the queue: 'bestshot queue inspect --path ${queuePath}' lists them)`, {
        byStatus: held.byStatus,
        lastKey: held.lastKey,
        lastReason: held.lastReason,
      });
      held = { count: 0, byStatus: {}, lastKey: '', lastReason: '' };
    };
    this.#closers.push(() => {
      if (timer) clearTimeout(timer);
      summarize();
    });
    uploader.on('deadLettered', (d) => {
      if (said < DEAD_LETTER_LINES) {
        said++;
        lastSummaryMs = performance.now();
        this.#log.warn('package dead-lettered', { key: d.idempotencyKey, status: d.status, reason: d.reason });
      } else {
        held.count++;
        held.byStatus[String(d.status)] = (held.byStatus[String(d.status)] ?? 0) + 1;
        held.lastKey = d.idempotencyKey;
        held.lastReason = d.reason;
        timer ??= setTimeout(summarize, Math.max(0, lastSummaryMs + DEAD_LETTER_SUMMARY_MS - performance.now())).unref();
      }
      if (hintsGiven.has(d.status)) return;
      const hint = deadLetterHint(d.status, queue, sink, d.reason, this.mode === 'offline');
      if (hint === undefined) return;
      hintsGiven.add(d.status);
      this.#log.error(hint);
    });
  }

  /**
   * An error of the uploader itself (the queue file failing, not the endpoint) recurs at every send
   * tick while its cause lasts: a queue file cut short said 'uploader error: disk I/O error' 805 times
   * in 15 s, with no path. The first of a kind is said with the queue's path; its repeats are counted
   * and said once a minute.
   */
  #logUploaderErrors(uploader: Uploader, queuePath: string): void {
    const repeated = new RepeatedLine(60_000);
    uploader.on('error', (err) => {
      const repeats = repeated.admit(err.message, performance.now());
      if (repeats !== undefined) this.#log.error('uploader error', { error: err.message, queue: queuePath, ...repeats });
    });
  }

  #logEndpointOutages(uploader: Uploader, sink: SinkType): void {
    let downSince: number | undefined;
    let lastSaid = 0;
    /** The last outage's warning and its hint: an endpoint that flaps is warned once a minute, its hint said once. */
    let warnedAt = Number.NEGATIVE_INFINITY;
    let lastHint: string | undefined;
    uploader.on('retry', (e) => {
      // Durations on the monotonic clock: a wall clock stepped back would silence the minute's reminder.
      const now = performance.now();
      if (downSince === undefined) {
        downSince = now;
        this.#endpointDownSince = now;
        lastSaid = now;
        const hint = retryHint(e.reason, sink);
        const fields = { error: e.reason, ...(hint && hint !== lastHint ? { hint } : {}), kind: e.errorKind, retryInMs: e.delayMs === undefined ? undefined : Math.round(e.delayMs) };
        // Some sends time out while others get through (a slow uplink, an overloaded endpoint): each
        // failure after a success was a new WARN with the whole hint, three in two seconds.
        if (now - warnedAt < 60_000) this.#log.info('endpoint not taking packages again', fields);
        else {
          warnedAt = now;
          this.#log.warn('endpoint not taking packages; they stay queued and are retried', fields);
        }
        lastHint = hint;
      } else if (now - lastSaid >= 60_000) {
        lastSaid = now;
        const hint = retryHint(e.reason, sink);
        this.#log.info('endpoint still not taking packages', { forS: Math.round((now - downSince) / 1000), queued: uploader.stats().queueDepth, error: e.reason, ...(hint ? { hint } : {}) });
      }
    });
    let pageSaid = false;
    uploader.on('sent', (e) => {
      // Any 2xx counts as delivered (U2), but a web page is no ingest API's answer: a proxy's or
      // a web server's landing page at a wrong upload.endpoint would swallow every package.
      if (!pageSaid && /^\s*<(!doctype|html)/i.test(e.body ?? '')) {
        pageSaid = true;
        this.#log.warn(`the endpoint answered HTTP ${e.status} with a web page, not a package acknowledgement: check that upload.endpoint is the ingest API, not a web server or proxy (the packages count as delivered)`, { key: e.idempotencyKey });
      }
      if (downSince === undefined) return;
      this.#log.info('endpoint taking packages again', { afterS: Math.round((performance.now() - downSince) / 1000), queued: uploader.stats().queueDepth });
      downSince = undefined;
      this.#endpointDownSince = undefined;
    });
  }

  #positionFor(cam: CameraConfig): PositionProvider | undefined {
    const p = cam.position;
    if (p.type === 'fixed') return new FixedPosition({ lat: p.lat, lon: p.lon, alt: p.alt, heading: p.heading });
    if (p.type === 'gpsd') {
      const gpsd = new GpsdPosition({ host: p.host, port: p.port, staleAfterMs: p.maxAgeS * 1000 });
      gpsd.on('state', (state) => this.#log.info('gnss state', { camera: cam.id, state }));
      this.#closers.push(() => gpsd.close());
      return gpsd;
    }
    return undefined;
  }

  /**
   * A1–A4 where the camera can be controlled (exposure.mode 'rule'; 'fixed'
   * is A1–A2 once, never re-metered by A3); the back end's own report otherwise. Recordings carry no exposure metadata:
   * their frames count as manual exposure (S2 requires it; a recording's
   * exposure is whatever it was) with time and gain unknown (0).
   */
  async #exposureFor(cam: CameraConfig, opened: OpenedSource): Promise<ExposureSource> {
    const unknown: ExposureInfo = { mode: 'manual', exposureTimeUs: 0, gain: 0 };
    // 'fixed' was documented ("manual, never re-metered") and did nothing: the camera stayed in AE.
    if (opened.control && (cam.exposure.mode === 'rule' || cam.exposure.mode === 'fixed')) {
      const settleFrames = cam.exposure.aeSettleFrames;
      const controller = new ExposureController({
        control: await opened.control(),
        manualTimeUs: cam.exposure.T_manual,
        manualMaxTimeUs: cam.exposure.T_manual_max,
        remeterPeriodMs: cam.exposure.remeterPeriod * 1000,
        remeter: cam.exposure.mode === 'rule',
        aeSettleMs: cam.exposure.aeSettle * 1000,
        // aeSettleFrames replaces aeSettle (A3's frame count); it was passed as the stability window,
        // so 50 frames still timed out at aeSettle's 1 s and 1 failed the camera at every start.
        ...(settleFrames !== undefined ? { aeSettleMaxFrames: settleFrames, aeSettleFrames: Math.max(2, Math.min(5, settleFrames)) } : {}),
        log: (e) => this.#log.info('exposure', { camera: cam.id, ...e }),
      });
      this.exposureControllers.set(cam.id, controller);
      return (frame) => controller.observe(frame);
    }
    return (frame) => opened.exposure?.(frame.ptsNs) ?? unknown;
  }

  /**
   * A recording that fails before its first frame (not a video, damaged, no
   * decoder installed) fails the same way on every try: the camera ends as
   * 'failed' instead of retrying for ever. A recording that played and then
   * failed (a file replaced while looping) and every live source are retried,
   * unless a GStreamer element the source needs is missing.
   */
  #unplayable(cam: CameraConfig, status: CameraStatus, err: Error): boolean {
    // A GStreamer element this machine lacks (an argus camera off a Jetson) is missing at every try:
    // GStreamer reads its plugins once per process, so no retry can find it (it was retried for ever).
    const elementMissing = (err as { code?: unknown }).code === 'ERR_CAPTURE_ELEMENT_MISSING';
    if (!elementMissing && (cam.source.type !== 'file' || cameraTotals(status).captured > 0)) return false;
    status.failures++;
    status.lastError = err.message;
    status.state = 'failed';
    this.emit('cameraError', cam.id, err);
    const why = elementMissing ? 'a GStreamer element it needs is missing, not retried' : 'its recording cannot be played, not retried';
    this.#log.error(`camera failed: ${why}`, { camera: cam.id, error: err.message });
    this.emit('cameraEnded', cam.id);
    return true;
  }

  /** Log, count, wait; false when the camera must not be retried (offline replay, or stopping). */
  async #retry(cam: CameraConfig, status: CameraStatus, err: Error, attempt: number): Promise<boolean> {
    const backoffMs = Math.round(backoffDelayMs(attempt, this.#retryBackoff));
    status.failures++;
    status.lastError = err.message;
    this.emit('cameraError', cam.id, err);
    if (this.mode === 'offline') {
      status.state = 'ended';
      this.#log.error('camera failed', { camera: cam.id, error: err.message });
      return false;
    }
    status.state = 'retrying';
    this.emit('cameraRetrying', cam.id, backoffMs);
    // A camera that stays down (unplugged, an RTSP server off for a day) is said at once and when its
    // cause changes, then every minute: a line per back-off (every 30 s at most) buried the journal.
    const fields = { camera: cam.id, error: err.message, retryInMs: backoffMs, failures: status.failures };
    const now = performance.now();
    const outage = this.#outages.get(cam.id);
    // The same cause with other numbers is the same cause: GStreamer numbers its elements per pipeline ('from rtspsrc7').
    const cause = err.message.replace(/\d+/g, '#');
    if (outage === undefined || outage.cause !== cause) {
      this.#outages.set(cam.id, { sinceMs: outage?.sinceMs ?? now, saidAtMs: now, cause, failedTries: (outage?.failedTries ?? 0) + 1 });
      this.#log.warn('camera failed, retrying', fields);
    } else if (now - outage.saidAtMs >= CAMERA_OUTAGE_REPEAT_MS) {
      outage.failedTries++;
      outage.saidAtMs = now;
      this.#log.warn('camera still failing, retrying', { ...fields, forS: Math.round((now - outage.sinceMs) / 1000) });
    } else {
      outage.failedTries++;
      this.#log.debug('camera failed, retrying', fields);
    }
    await sleep(backoffMs, this.#stopSignal.signal);
    return !this.#stopping;
  }

  /**
   * U2 after the sources ended: wait until the queue has delivered everything
   * (immediate sends included) or `timeoutMs` passed; resolves with how many
   * packages are still queued on disk (sent at the next start).
   */
  async drain(timeoutMs: number, onProgress?: (left: number) => void): Promise<number> {
    const up = this.uploader;
    if (!up) return 0;
    // Immediate packages are written ahead to the queue (U1) and leave it when acknowledged: the
    // queue's depth counts them already (adding those in flight said 40 left of 35 queued).
    const left = (): number => up.stats().queueDepth;
    // The monotonic clock: a wall clock stepped back during the drain would stretch it by the step.
    const deadline = performance.now() + timeoutMs;
    while (left() > 0 && performance.now() < deadline && !this.#stopSignal.signal.aborted) {
      onProgress?.(left());
      await sleep(Math.min(100, Math.max(1, deadline - performance.now())), this.#stopSignal.signal);
    }
    return left();
  }

  /** This run's upload counts (the queue's lifetime counters minus those at start). One source of truth for every summary. */
  runCounts(): RunCounts {
    const s = this.uploader?.stats();
    const a = this.#countersAtStart;
    const since = (k: 'enqueued' | 'delivered' | 'dropped' | 'deadLettered' | 'replaced'): number => (s && a ? s[k] - a[k] : 0);
    const frames = { captured: 0, processed: 0, skipped: 0, dropped: {} as Record<string, number> };
    const packages = { immediate: 0, cached: 0, bytes: 0, errors: 0, unsentObjects: 0 };
    for (const c of this.cameras.values()) {
      const r = cameraTotals(c);
      frames.captured += r.captured;
      frames.processed += r.processed;
      frames.skipped += r.skipped;
      for (const [k, v] of Object.entries(r.dropped)) frames.dropped[k] = (frames.dropped[k] ?? 0) + v;
      packages.immediate += r.packages.immediate;
      packages.cached += r.packages.cached;
      packages.bytes += r.bytes;
      packages.errors += r.packageErrors;
      packages.unsentObjects += r.unsentObjects;
    }
    return {
      frames,
      packages,
      sentImmediate: s?.sentImmediate ?? 0,
      sentCached: s?.sentCached ?? 0,
      delivered: since('delivered'),
      queueDropped: since('dropped'),
      deadLettered: since('deadLettered'),
      replaced: since('replaced'),
      stillQueued: s ? s.queueDepth : 0,
      queuedAtStart: a ? a.queueDepth : 0,
      refusedDiskFull: s?.refusedDiskFull ?? 0,
      deadLettersAtStart: this.#deadLettersAtStart,
    };
  }

  /** Stop capture, finish in-flight frames, flush policies, close the queue and pools. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping = true;
      this.#stopSignal.abort();
      for (const c of this.cameras.values()) c.runner?.stop();
      await Promise.allSettled(this.#loops);
      await this.uploader?.close();
      await this.detect?.close();
      await this.shards?.close();
      await this.receiver?.close();
      for (const close of this.#closers) close();
    })();
    return this.#stopped;
  }
}
