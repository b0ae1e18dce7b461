/**
 * FrameSource: a running GStreamer pipeline as an async stream of frames.
 *
 * Pull model with credits: the addon's pull thread takes a frame from the
 * appsink only when JavaScript has asked for one, so a slow consumer makes a
 * file decoder wait (no loss) and makes a live source drop stale frames in the
 * appsink (no lag). Frames arrive as ArrayBuffers JavaScript owns: the pixels
 * were copied once, from the GStreamer buffer, and never again.
 */
import { existsSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { CaptureError, InvalidStateError, invalidParameterError, rethrowNative } from '../errors.js';
import { TypedEmitter } from '../events.js';
import { maskUrlCredentials } from '../log.js';
import { loadNative, type NativeBinding, type NativeMessage, type NativePipeline } from './native.js';
import { buildPipeline, type BuiltPipeline, type CaptureOptions, type PixelFormat, type SlotPool, type SourceOptions, type YuvMatrix } from './options.js';
import { recordingRotation } from './file-format.js';

export interface Letterbox {
  /** Tensor pixels per frame pixel. */
  ratio: number;
  padX: number;
  padY: number;
  scaledWidth: number;
  scaledHeight: number;
}

export interface CapturedFrame {
  /** Delivery sequence number of this source, from 0. */
  sequence: number;
  width: number;
  height: number;
  /** Bytes per row of `pixels` (I420: of the Y plane, = width). */
  stride: number;
  format: PixelFormat;
  /** I420 frames: how their Y'CbCr maps to R'G'B'. */
  yuv?: YuvMatrix;
  /** Presentation timestamp in the stream (ns); -1n when unknown. */
  ptsNs: bigint;
  durationNs: bigint;
  /** Capture time, wall clock (CLOCK_REALTIME) ns. */
  captureRealtimeNs: bigint;
  /** Capture time, CLOCK_MONOTONIC ns. */
  captureMonotonicNs: bigint;
  pixels: Uint8Array;
  /** The pixel slot holding `pixels` (see CaptureOptions.pixelSlots), or -1. */
  pixelSlot: number;
  /**
   * Detector input, planar float32 [3][h][w], when requested. Backed by a
   * SharedArrayBuffer slot when `tensorSlot` ≥ 0: hand it to a worker as is,
   * then call FrameSource.releaseTensor(frame).
   */
  tensor?: Float32Array;
  tensorSlot: number;
  letterbox?: Letterbox;
}

export interface PipelineErrorInfo {
  message: string;
  debug: string;
  source: string;
}

/** The video streams of a source that has several (a recording with two video tracks), as found at its first frame. */
export interface VideoStreams {
  /** Each stream's size, in the order GStreamer exposed them (the container's track order). */
  streams: Array<{ width: number; height: number }>;
  /** Index in `streams` of the one delivered: the first (decodebin's order), the others are dropped. */
  used: number;
}

export type FrameSourceEvents = {
  eos: [];
  error: [CaptureError];
  warning: [PipelineErrorInfo];
  /** Once, before the first frame, where the source has more than one video stream. */
  videoStreams: [VideoStreams];
};

export class FrameSource extends TypedEmitter<FrameSourceEvents> {
  readonly pipeline: BuiltPipeline;
  #native: NativePipeline;
  #released: Promise<void> = Promise.resolve();
  #queue: CapturedFrame[] = [];
  #waiter: { resolve: (f: CapturedFrame | null) => void; reject: (e: Error) => void } | undefined;
  #outstanding = 0;
  #prefetch: number;
  #ended = false;
  #failure: CaptureError | undefined;
  #closed = false;
  #started = false;
  #slots: Float32Array[] = [];
  #tensorSlotCount = 0;
  #slotMisses = 0;
  #pixelSlotCount: number;
  #pixelSlots: Uint8Array[] = [];
  #pixelSlotMisses = 0;
  readonly #slotPool: SlotPool | undefined;
  readonly #source: SourceOptions;
  readonly #firstFrameTimeoutMs: number;
  #firstFrameTimer: NodeJS.Timeout | undefined;
  /** Armed once, at the first request; a frame, the end or an error disarms it. */
  #firstFrameArmed = false;

  constructor(options: CaptureOptions, binding: NativeBinding = loadNative()) {
    super();
    const rotation = options.rotation ?? (options.source.type === 'file' ? recordingRotation(options.source.path) : 0);
    this.pipeline = buildPipeline({ ...options, rotation }, (name) => binding.hasElement(name));
    this.#source = options.source;
    const missing = this.pipeline.requiredElements.filter((e) => !binding.hasElement(e));
    if (missing.length > 0) throw new CaptureError(missingElementsMessage(missing), 'ERR_CAPTURE_ELEMENT_MISSING');
    this.#prefetch = this.pipeline.live ? 0 : Math.max(0, options.prefetch ?? 2);
    const firstFrameMs = options.source.type === 'file' ? (options.firstFrameTimeoutMs ?? 15_000) : 0;
    if (!Number.isInteger(firstFrameMs) || firstFrameMs < 0) throw invalidParameterError('non-negative integer', 'firstFrameTimeoutMs', options.firstFrameTimeoutMs);
    this.#firstFrameTimeoutMs = firstFrameMs;
    this.#pixelSlotCount = options.pixelSlots ?? 0;
    this.#slotPool = options.slotPool;
    if (!Number.isInteger(this.#pixelSlotCount) || this.#pixelSlotCount < 0) {
      throw invalidParameterError('non-negative integer', 'pixelSlots', options.pixelSlots);
    }
    const t = options.tensor;
    if (t) {
      const count = options.tensorSlots ?? 4;
      if (!Number.isInteger(count) || count < 0) throw invalidParameterError('non-negative integer', 'tensorSlots', count);
      this.#tensorSlotCount = count;
      const pool = options.slotPool;
      const length = 3 * t.width * t.height;
      if (pool && pool.tensors.length >= count && pool.tensors.length <= 2 * count && pool.tensors.every((s) => s.length === length)) {
        this.#slots = [...pool.tensors];
      } else {
        for (let i = 0; i < count; i++) this.#slots.push(new Float32Array(new SharedArrayBuffer(4 * length)));
        if (pool) pool.tensors = [...this.#slots];
      }
    }
    try {
      this.#native = new binding.Pipeline(
        {
          description: this.pipeline.description,
          sinkName: this.pipeline.sinkName,
          srcName: this.pipeline.srcName,
          live: this.pipeline.live,
          tensor: t && {
            width: t.width,
            height: t.height,
            channelOrder: t.channelOrder,
            center: t.placement === 'center',
            padValue: t.padValue,
            scale: t.scale,
          },
          tensorSlots: t ? this.#slots : undefined,
          decoderThreads: this.pipeline.decoderThreads,
        },
        (m) => this.#onMessage(m),
      );
    } catch (err) {
      rethrowNative(err, (message) => new CaptureError(`Could not create pipeline: ${message}`, errorCodeFor(message)));
    }
  }

  /** Start the pipeline. Errors that stop it at once (bad URI, missing device) throw here. */
  start(): this {
    if (this.#closed) throw new InvalidStateError('FrameSource is closed');
    if (this.#started) return this;
    try {
      this.#native.start();
    } catch (err) {
      // Released now, not left to the garbage collector: a native pipeline still open when the
      // process ended was finalised during Node's teardown, and releasing its thread-safe function
      // there aborted the process (SIGABRT, exit 134 after `bestshot run` had stopped cleanly on
      // SIGTERM, with a V4L2 camera that did not exist retried meanwhile).
      this.close();
      rethrowNative(err, (message) => {
        const source = this.#source;
        // GStreamer says "Cannot identify device": say which camera is missing and where to look.
        if (source.type === 'v4l2' && /cannot identify device|no such file/i.test(message)) {
          return new CaptureError(
            `V4L2 camera ${source.device} does not exist: check that the camera is connected and source.device (ls /dev/video*) (${message})`,
            'ERR_CAPTURE_SOURCE_NOT_FOUND',
          );
        }
        // GStreamer's "It isn't a v4l2 driver. Check if it is a v4l1 driver." (/dev/null) and "This isn't a
        // device" (a regular file) point at V4L1, gone from Linux since 2.6.38: said as what the path is.
        if (source.type === 'v4l2' && /isn't a v4l2 driver|isn't a device|is not a capture device/i.test(message)) {
          return new CaptureError(notACaptureDevice(source.device), 'ERR_CAPTURE');
        }
        return new CaptureError(`Could not start pipeline: ${message}`, errorCodeFor(message));
      });
    }
    this.#started = true;
    this.#topUp();
    return this;
  }

  /** From the first frame asked for: a recording that gives nothing in time fails (options.firstFrameTimeoutMs). */
  #armFirstFrameTimer(): void {
    if (this.#firstFrameTimeoutMs > 0 && !this.#firstFrameArmed) {
      this.#firstFrameArmed = true;
      const path = this.#source.type === 'file' ? this.#source.path : '';
      this.#firstFrameTimer = setTimeout(() => {
        this.#firstFrameTimer = undefined;
        this.#fail(
          new CaptureError(
            `${path} gave no frame within ${this.#firstFrameTimeoutMs / 1000} s of start and GStreamer reported no error: it cannot be played (damaged, e.g. cut short before its index was written, or not a complete video file)`,
          ),
        );
      }, this.#firstFrameTimeoutMs);
      this.#firstFrameTimer.unref();
    }
  }

  #clearFirstFrameTimer(): void {
    if (this.#firstFrameTimer === undefined) return;
    clearTimeout(this.#firstFrameTimer);
    this.#firstFrameTimer = undefined;
  }

  #fail(err: CaptureError): void {
    this.#clearFirstFrameTimer();
    this.#failure = err;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.reject(err);
    this.emit('error', err);
  }

  /** The next frame, or null at end of stream. Rejects with CaptureError on a pipeline error. */
  next(): Promise<CapturedFrame | null> {
    if (!this.#started) this.start();
    if (this.#waiter) return Promise.reject(new InvalidStateError('next() called while another next() is pending'));
    const frame = this.#queue.shift();
    if (frame) {
      this.#topUp();
      return Promise.resolve(frame);
    }
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#ended || this.#closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
      this.#topUp(true);
    });
  }

  /**
   * `for await (const f of source)`: the frames until the end of the source.
   * The source is closed when the loop ends, breaks or throws (as a Node
   * stream is destroyed): an ended source left open keeps its pipeline's
   * thread, and the process, alive. Frames already taken stay readable.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<CapturedFrame> {
    try {
      for (;;) {
        const f = await this.next();
        if (f === null) return;
        yield f;
      }
    } finally {
      this.close();
    }
  }

  /** Push a frame into an appsrc source (simulated camera). */
  push(pixels: Uint8Array, ptsNs: bigint, durationNs?: bigint): boolean {
    if (this.pipeline.srcName === undefined) throw new InvalidStateError('this source has no appsrc');
    if (!this.#started) this.start();
    return this.#native.push(pixels, ptsNs, durationNs);
  }

  endOfStream(): void {
    if (this.pipeline.srcName !== undefined && !this.#closed) this.#native.endOfStream();
  }

  /**
   * Set a property of an element, by its name in the description, or by its
   * factory's name for one a bin made itself (e.g. 'avdec_h264' inside decodebin).
   */
  setProperty(element: string, name: string, value: string | number | boolean): void {
    if (this.#closed) throw new InvalidStateError('FrameSource is closed');
    try {
      this.#native.setProperty(element, name, value);
    } catch (err) {
      rethrowNative(err, (message) => new CaptureError(message));
    }
  }

  /** A property's value, serialised as GStreamer does; the element found as for setProperty. */
  getProperty(element: string, name: string): string | null {
    if (this.#closed) throw new InvalidStateError('FrameSource is closed');
    try {
      return this.#native.getProperty(element, name);
    } catch (err) {
      rethrowNative(err, (message) => new CaptureError(message));
    }
  }

  /** Give a frame's tensor slot back to the addon (no-op for private tensors). */
  releaseTensor(frame: Pick<CapturedFrame, 'tensorSlot'>): void {
    if (frame.tensorSlot >= 0 && !this.#closed) this.#native.releaseTensor(frame.tensorSlot);
  }

  /**
   * With pixel slots, a frame outside them (the first one, which sizes them,
   * or one that found every slot in use: a consumer holding more frames than
   * `pixelSlots`) moves into shared memory too: the tracking worker reads a
   * frame's pixels only from shared memory, so a frame in a private buffer
   * would lose its crop measures (the quality score) and selection would
   * depend on timing. On a miss the pool also grows by one slot for the next
   * frames, up to twice `pixelSlots`, so that a steady demand stops missing.
   */
  #sharedPixels(pixels: ArrayBuffer, bytes: number, missed: boolean): Uint8Array {
    const shared = new Uint8Array(new SharedArrayBuffer(bytes));
    shared.set(new Uint8Array(pixels, 0, bytes));
    if (missed && this.#pixelSlots.length > 0 && this.#pixelSlots.length < 2 * this.#pixelSlotCount) {
      const slot = new Uint8Array(new SharedArrayBuffer(bytes));
      this.#pixelSlots.push(slot);
      this.#native.addPixelSlots([slot]);
      if (this.#slotPool) this.#slotPool.pixels = [...this.#pixelSlots];
    }
    return shared;
  }

  /**
   * A tensor that found no free slot: copied into shared memory (so it still
   * crosses to the inference worker without a copy, and V8 sees no 2 MiB of
   * new external memory per frame), and the pool grows by one slot, up to
   * twice `tensorSlots` (an offline replay keeps more frames in flight than a
   * live camera: docs/performance.md "Pipeline sustained").
   */
  #sharedTensor(tensor: ArrayBuffer): Float32Array {
    if (this.#tensorSlotCount === 0) return new Float32Array(tensor);
    const shared = new Float32Array(new SharedArrayBuffer(tensor.byteLength));
    shared.set(new Float32Array(tensor));
    if (this.#slots.length < 2 * this.#tensorSlotCount) {
      const slot = new Float32Array(new SharedArrayBuffer(tensor.byteLength));
      this.#slots.push(slot);
      this.#native.addTensorSlots([slot]);
      if (this.#slotPool) this.#slotPool.tensors = [...this.#slots];
    }
    return shared;
  }

  /** Tensor slots in the pool now (`tensorSlots`, grown by misses up to twice that). */
  get tensorSlotsAllocated(): number {
    return this.#slots.length;
  }

  /** Pixel slots in the pool now (`pixelSlots`, grown by misses up to twice that). */
  get pixelSlotsAllocated(): number {
    return this.#pixelSlots.length;
  }

  /** Give a frame's pixel slot back for reuse (no-op for a frame in its own buffer). */
  releasePixels(frame: Pick<CapturedFrame, 'pixelSlot'>): void {
    if (frame.pixelSlot >= 0 && !this.#closed) this.#native.releasePixels(frame.pixelSlot);
  }

  /** Frames that found no free pixel slot (with pixelSlots > 0). */
  get pixelSlotMisses(): number {
    return this.#pixelSlotMisses;
  }

  /** Frames whose tensor could not use a shared slot (all were in use). */
  get tensorSlotMisses(): number {
    return this.#slotMisses;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * After close(): resolves once GStreamer has released the source (a device can be opened again);
   * normally milliseconds, never while a read of the source is stuck (a FIFO whose writer hangs).
   * Before close(): resolved. While pending it keeps the process alive for at most 2 s.
   */
  get released(): Promise<void> {
    return this.#released;
  }

  /**
   * Stop and release everything. Idempotent. A pending next() resolves to null. Returns at once:
   * GStreamer's teardown finishes on a thread of its own (`released`).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearFirstFrameTimer();
    this.#native.close();
    this.#released = whenReleased(this.#native);
    this.#queue.length = 0;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.resolve(null);
  }

  #topUp(waiting = false): void {
    if (this.#closed || this.#ended || !this.#started) return;
    const want = Math.max(this.#prefetch, waiting ? 1 : 0) - this.#queue.length - this.#outstanding;
    if (want > 0) {
      this.#armFirstFrameTimer();
      this.#outstanding += want;
      this.#native.request(want);
    }
  }

  #onMessage(m: NativeMessage): void {
    if (this.#closed) return;
    switch (m.type) {
      case 'frame': {
        this.#clearFirstFrameTimer();
        this.#outstanding = Math.max(0, this.#outstanding - 1);
        this.#slotMisses = m.tensorSlotMisses ?? this.#slotMisses;
        const missed = m.pixelSlotMisses > this.#pixelSlotMisses;
        this.#pixelSlotMisses = m.pixelSlotMisses;
        if (this.#pixelSlots.length === 0 && this.#pixelSlotCount > 0) {
          // The first frame tells the size: allocate the slots for the next ones (or reuse the pool's).
          const pool = this.#slotPool;
          if (pool && pool.pixels.length >= this.#pixelSlotCount && pool.pixels.every((p) => p.byteLength === m.pixelBytes)) {
            this.#pixelSlots = [...pool.pixels];
          } else {
            for (let i = 0; i < this.#pixelSlotCount; i++) this.#pixelSlots.push(new Uint8Array(new SharedArrayBuffer(m.pixelBytes)));
            if (pool) pool.pixels = [...this.#pixelSlots];
          }
          this.#native.addPixelSlots(this.#pixelSlots);
        }
        const streams = m.videoStreams;
        if (streams !== undefined && streams.length > 1) {
          const used = streams.findIndex((v) => v.linked);
          if (used >= 0) this.emit('videoStreams', { streams: streams.map((v) => ({ width: v.width, height: v.height })), used });
        }
        const frame: CapturedFrame = {
          sequence: m.sequence,
          width: m.width,
          height: m.height,
          stride: m.stride,
          format: m.format as PixelFormat,
          ...(m.yuv ? { yuv: m.yuv } : {}),
          ptsNs: m.ptsNs,
          durationNs: m.durationNs,
          captureRealtimeNs: m.captureRealtimeNs,
          captureMonotonicNs: m.captureMonotonicNs,
          pixels:
            m.pixelSlot >= 0
              ? this.#pixelSlots[m.pixelSlot]!.subarray(0, m.pixelBytes)
              : this.#pixelSlotCount > 0
                ? this.#sharedPixels(m.pixels!, m.pixelBytes, missed)
                : new Uint8Array(m.pixels!),
          pixelSlot: m.pixelSlot,
          tensor:
            m.tensorSlot !== undefined && m.tensorSlot >= 0
              ? this.#slots[m.tensorSlot]
              : m.tensor
                ? this.#sharedTensor(m.tensor)
                : undefined,
          tensorSlot: m.tensorSlot ?? -1,
          letterbox: m.letterbox,
        };
        const w = this.#waiter;
        if (w) {
          this.#waiter = undefined;
          w.resolve(frame);
        } else {
          this.#queue.push(frame);
        }
        break;
      }
      case 'eos': {
        this.#clearFirstFrameTimer();
        this.#ended = true;
        const w = this.#waiter;
        this.#waiter = undefined;
        w?.resolve(null);
        this.emit('eos');
        break;
      }
      case 'error':
        this.#fail(new CaptureError(describePipelineError(m, this.#source), errorCodeFor(m.message)));
        break;
      case 'warning':
        this.emit('warning', { message: m.message, debug: m.debug, source: m.source });
        break;
    }
  }
}

/**
 * What a source with several video streams delivers, in words: which one
 * (by its place and size), and that the others are not analysed.
 */
export function describeVideoStreams(where: string, v: VideoStreams): string {
  const size = (s: { width: number; height: number }): string => `${s.width}×${s.height}`;
  const ordinal = (i: number): string => ['first', 'second', 'third'][i] ?? `#${i + 1}`;
  const others = v.streams.map((s, i) => ({ s, i })).filter(({ i }) => i !== v.used);
  const ignored = others.map(({ s, i }) => `${ordinal(i)}, ${size(s)}`).join('; ');
  return `${where} has ${v.streams.length} video streams: the ${ordinal(v.used)} (${size(v.streams[v.used]!)}) is used, the other${others.length > 1 ? 's' : ''} (${ignored}) ${others.length > 1 ? 'are' : 'is'} ignored`;
}

/**
 * One line a person can act on: the cause, then the fix. An RTSP camera that
 * cannot be reached names its host and port (GStreamer's own text, "Could not
 * open resource for reading and writing", names neither); a recording that
 * cannot be played says why in words (GStreamer's text names a typefinder or
 * a demuxer). GStreamer's own words stay at the end.
 */
export function describePipelineError(m: { message: string; debug: string; source: string }, source?: SourceOptions): string {
  const gst = `(${m.message} from ${m.source})`;
  if (source?.type === 'rtsp' && m.source.startsWith('rtspsrc')) {
    const why = rtspFailure(m, source.url);
    if (why !== undefined) return `${why} ${gst}`;
  }
  if (source?.type === 'file') {
    const why = unplayableFile(m);
    if (why !== undefined) return `${source.path} ${why} ${gst}`;
  }
  return `${m.message} (from ${m.source})`;
}

/**
 * What an RTSP camera's failure means, naming host:port (and the path, never
 * the URL's user, password or query); undefined for another failure. GStreamer
 * says "Not found", "Unauthorized" or "Could not read from resource." (a
 * server that took the connection and never answered: rtspsrc's 20 s
 * tcp-timeout) without saying which camera or what to change.
 */
function rtspFailure(m: { message: string; debug: string }, url: string): string | undefined {
  // A URL new URL() refuses (a mistyped port, rtsp://admin:pw@:554/…) is named as given, less its password.
  let where = maskUrlCredentials(url);
  let path = '';
  let named = false;
  try {
    const u = new URL(url);
    where = `${u.hostname}:${u.port || '554'}`;
    path = u.pathname;
    named = isIP(u.hostname.replace(/^\[|\]$/g, '')) === 0;
  } catch {
    // not a parsable URL: name it as given, password masked
  }
  const text = `${m.message} ${m.debug}`;
  if (/could not open|could not connect|failed to connect/i.test(text)) {
    // rtspsrc says "Failed to connect. (Generic error)" both for a refused connection and for a
    // host name that does not resolve: a name is not said to have refused (a typo in it would be
    // looked for on the camera).
    const why = /refused/i.test(m.debug) || !/timeout|timed out|unreachable|resolve/i.test(m.debug)
      ? named ? `connection refused, or the name ${where.replace(/:\d+$/, '')} does not resolve` : 'connection refused'
      : m.debug.split('\n')[0];
    return `RTSP camera at ${where} cannot be reached (${why}): check that the camera or RTSP server is up and the URL's host and port`;
  }
  if (/parse error/i.test(m.debug)) {
    return `RTSP camera at ${where} answered, but not in RTSP: check that the URL's port is the camera's RTSP port (554 unless it says otherwise), not its web page's`;
  }
  if (/\(401\)|unauthori[sz]ed/i.test(text)) {
    return `RTSP camera at ${where} refused the login (401 Unauthorized): check the user and password in the URL (rtsp://user:password@host/path)`;
  }
  if (/\(404\)|not found/i.test(text)) {
    return `RTSP camera at ${where} has no stream at ${path || 'that path'} (404 Not Found): check the URL's path (the camera's manual names its stream paths)`;
  }
  if (/timeout|timed out/i.test(text)) {
    return `RTSP camera at ${where} does not answer (it took the connection but sent no reply in time): check that the URL's port is the camera's RTSP port and that the camera is not hung`;
  }
  return undefined;
}
/** Why GStreamer cannot play a file, and what to do, from its error message; undefined when it is something else. */
function unplayableFile(m: { message: string; debug: string; source: string }): string | undefined {
  if (/missing a plug-in/i.test(m.message)) {
    const codec = /Missing decoder: ([^(\n]+)/.exec(m.debug)?.[1]?.trim();
    return `cannot be decoded: no GStreamer decoder for its video${codec ? ` (${codec})` : ''} is installed; install gstreamer1.0-libav and gstreamer1.0-plugins-bad, or convert the file to H.264`;
  }
  if (/could not determine type of stream|stream contains no data|appears to be a text file/i.test(m.message)) {
    return 'is not a video file GStreamer can read (empty, or another kind of file): check the path';
  }
  if (/no playable streams|corrupt and cannot be played/i.test(m.message)) {
    return 'is damaged or incomplete (e.g. a recording cut short before its index was written): copy or record it again';
  }
  // A PNG cut short: pngparse finds no whole image ("No valid frames found before end of stream"), or,
  // when decodebin's own error comes first, "GStreamer encountered a general stream error." with
  // "all streams without buffers" in its debug text.
  if (/no valid frames found/i.test(m.message) || /all streams without buffers/i.test(m.debug)) return 'is damaged or cut short (it holds no complete frame): copy it again';
  // An audio parser stands in for the demuxer of a bare audio stream (WAV, FLAC, MP3, AIFF, AAC): a
  // video parser (h264parse, not linked when no decoder is installed) is not an audio-only file.
  if (/internal data stream error/i.test(m.message) && /not-linked/i.test(m.debug) && /demux|typefind|decodebin|(wav|flac|mpegaudio|aiff|aac|ac3|dca|wavpack)parse/i.test(m.source)) {
    return 'has no video stream (an audio-only file?): give a recording with video';
  }
  return undefined;
}

/** Linux's character-device major number for video4linux (Documentation/admin-guide/devices.txt). */
const V4L2_MAJOR = 81;

/**
 * Why a V4L2 source's path is no camera, in one line: what it is, and where the cameras are.
 * A V4L2 node without video capture is most often a UVC camera's second node (its metadata).
 */
function notACaptureDevice(device: string): string {
  let what = 'not a device';
  try {
    const st = statSync(device);
    if (st.isFile()) what = 'a regular file';
    else if (st.isDirectory()) what = 'a folder';
    else if (st.isCharacterDevice()) {
      // glibc's dev_t keeps a major below 4096 in bits 8–19 (gnu_dev_major).
      const major = Math.floor(st.rdev / 256) & 0xfff;
      what = major === V4L2_MAJOR ? 'a V4L2 node without video capture, e.g. a camera\'s metadata node' : 'a device of another kind';
    }
  } catch {
    // gone since the pipeline looked: 'not a device'
  }
  return `${device} is not a V4L2 video capture device (it is ${what}): give a camera's video node, /dev/videoN (v4l2-ctl --list-devices lists each camera's nodes, its video first)`;
}

/** JetPack writes this file; a machine without it is no Jetson, and NVIDIA's GStreamer plugins cannot be installed on it. */
const JETSON_RELEASE_FILE = '/etc/nv_tegra_release';

/**
 * Which elements are missing and what to do: NVIDIA's (nvarguscamerasrc, nvvidconv, nv…) ship only
 * with JetPack, so "install the plugin package" sent the owner of an x86 machine looking for a
 * package that does not exist for it; the others come with the distribution's GStreamer plugin
 * packages, which scripts/setup.sh installs (README "Quick start").
 */
export function missingElementsMessage(missing: readonly string[], jetson = existsSync(JETSON_RELEASE_FILE)): string {
  const nvidia = missing.filter((e) => e.startsWith('nv'));
  const others = missing.filter((e) => !e.startsWith('nv'));
  const them = (list: readonly string[]): string => (list.length > 1 ? 'them' : 'it');
  // Each kind is named before its advice only where both are missing.
  const named = (list: readonly string[]): string => (nvidia.length > 0 && others.length > 0 ? `${list.join(', ')}: ` : '');
  const why: string[] = [];
  if (others.length > 0) {
    why.push(`${named(others)}install the GStreamer plugin package that provides ${them(others)}; scripts/setup.sh installs those bestshot uses, see README "Quick start"`);
  }
  if (nvidia.length > 0) {
    const fix = jetson
      ? `this Jetson lacks ${them(nvidia)}: install nvidia-l4t-gstreamer (in a container, start it with NVIDIA's container runtime)`
      : `this machine is not a Jetson and lacks ${them(nvidia)}: ${nvidia.includes('nvarguscamerasrc') ? 'an argus (CSI) camera works only on a Jetson; use a USB (v4l2) or RTSP camera here' : 'run this source on a Jetson'}`;
    why.push(`${named(nvidia)}NVIDIA's, from the NVIDIA L4T GStreamer plugins that come with JetPack on a Jetson; ${fix}`);
  }
  return `Missing GStreamer element${missing.length > 1 ? 's' : ''}: ${missing.join(', ')} (${why.join('; ')})`;
}

function errorCodeFor(message: string): 'ERR_CAPTURE' | 'ERR_CAPTURE_ELEMENT_MISSING' | 'ERR_CAPTURE_SOURCE_NOT_FOUND' {
  if (/no element/i.test(message)) return 'ERR_CAPTURE_ELEMENT_MISSING';
  if (/not found|could not open|no such file/i.test(message)) return 'ERR_CAPTURE_SOURCE_NOT_FOUND';
  return 'ERR_CAPTURE';
}

/** Open and start a frame source. */
export function openCapture(options: CaptureOptions, binding?: NativeBinding): FrameSource {
  return new FrameSource(options, binding).start();
}

/** How long a pending `released` keeps the process alive (a teardown takes milliseconds). */
const RELEASE_HOLD_MS = 2000;

/**
 * Resolves once the native pipeline's teardown has finished, checked on a timer that backs off
 * from 2 ms to 500 ms. The timer keeps the process alive for RELEASE_HOLD_MS, so a script that
 * awaits it gets its answer; after that it no longer does (a teardown stuck in a read for good
 * must not hold the process open).
 */
function whenReleased(native: NativePipeline): Promise<void> {
  if (native.released()) return Promise.resolve();
  const t0 = performance.now();
  return new Promise((resolve) => {
    let waitMs = 2;
    const schedule = (): void => {
      const timer = setTimeout(check, waitMs);
      if (performance.now() - t0 > RELEASE_HOLD_MS) timer.unref();
    };
    const check = (): void => {
      if (native.released()) {
        resolve();
        return;
      }
      waitMs = Math.min(500, waitMs * 2);
      schedule();
    };
    schedule();
  });
}
