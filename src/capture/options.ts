/**
 * Frame source options: validated here, turned into a GStreamer launch
 * description here, and only then handed to the addon (STYLE 2).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CaptureError, invalidParameterError, requireNumber } from '../errors.js';
import { unsupportedFileFormat, type Rotation } from './file-format.js';

/**
 * Pixel format of the frames handed to JavaScript: packed 8-bit BGR or RGB
 * rows, or I420 in tight planes (Y: width × height, then U and V: ⌈width/2⌉ ×
 * ⌈height/2⌉ each) — half the bytes of BGR and, from a decoder that outputs
 * I420, no conversion at all (docs/performance.md "I420 frames").
 */
export type PixelFormat = 'BGR' | 'RGB' | 'I420';

export type { YuvMatrix } from './yuv.js';

/** Bytes of a tight frame of this format. */
export function frameBytes(width: number, height: number, format: PixelFormat): number {
  return format === 'I420' ? width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2) : width * height * 3;
}

export interface TensorOptions {
  /** Model input width and height in pixels. */
  width: number;
  height: number;
  /** Channel order the model expects. YOLOX: 'bgr'. */
  channelOrder: 'bgr' | 'rgb';
  /** 'topleft' (YOLOX's own preprocessing) or 'center' (Ultralytics). */
  placement: 'topleft' | 'center';
  /** Pad value before scaling. YOLOX: 114. */
  padValue: number;
  /** Multiplier applied to 0..255 values: 1 (YOLOX) or 1/255 (Ultralytics). */
  scale: number;
}

export type SourceOptions =
  | {
      type: 'file';
      path: string;
      /** Pace frames at the file's own rate (true) or as fast as possible (false, default). */
      realtime?: boolean;
    }
  | { type: 'rtsp'; url: string; latencyMs?: number; transport?: 'tcp' | 'udp' }
  | {
      type: 'v4l2';
      device: string;
      width?: number;
      height?: number;
      framerate?: number;
      /** Initial V4L2 controls, e.g. { auto_exposure: 1, exposure_time_absolute: 10 }. */
      controls?: Record<string, number>;
    }
  | {
      type: 'argus';
      sensorId?: number;
      width: number;
      height: number;
      framerate: number;
    }
  | {
      type: 'test';
      pattern?: string;
      width: number;
      height: number;
      framerate: number;
      /** Stop after this many frames (EOS); unlimited when absent. */
      numBuffers?: number;
      live?: boolean;
    }
  | { type: 'appsrc'; width: number; height: number; framerate: number; format?: PixelFormat }
  /** A custom source: a GStreamer launch fragment that ends in raw video. */
  | { type: 'pipeline'; description: string; live?: boolean };

/** Shared-memory slots kept across reopenings of one camera (CaptureOptions.slotPool). */
export class SlotPool {
  tensors: Float32Array[] = [];
  pixels: Uint8Array[] = [];
}

export interface CaptureOptions {
  source: SourceOptions;
  /**
   * Turn each frame clockwise by this much, inside GStreamer (videoflip). A
   * file source's own orientation (its MP4 track matrix) is read by
   * FrameSource when this is not given: detection, crops and uploads then see
   * the scene upright. Untagged sources get no videoflip (it costs capture rate).
   */
  rotation?: Rotation;
  /** Pixel format of frames handed to JavaScript. Default BGR; the runtime uses I420 (config cameras[].pixelFormat). */
  format?: PixelFormat;
  /** Scale frames to this size inside GStreamer (both or neither). */
  outputWidth?: number;
  outputHeight?: number;
  /** Also deliver a detector-ready letterboxed planar float32 tensor per frame. */
  tensor?: TensorOptions;
  /**
   * Number of shared-memory tensor slots (default 4). The addon writes each
   * frame's tensor into a free slot, a SharedArrayBuffer the inference worker
   * reads without a copy; release it with FrameSource.releaseTensor(frame).
   * More slots allow more frames in flight; when all are in use the frame's
   * tensor is copied into new shared memory (counted in tensorSlotMisses)
   * and the pool grows by one slot, up to twice this number.
   */
  tensorSlots?: number;
  /**
   * Reusable shared-memory buffers for the frames' pixels (default 0 = a new
   * buffer per frame). With N slots, the first frame sizes them and later
   * frames are written into a free one; give a frame back with
   * FrameSource.releasePixels(frame) once nothing reads its pixels. Reuse
   * spares the garbage collector megabytes of new external memory per frame
   * (at 150 frames/s it took 12 % of the main thread); each slot costs a
   * frame's size. When none is free a new buffer is used (counted).
   */
  pixelSlots?: number;
  /**
   * Where the slots come from and go back to: a caller that reopens the same
   * camera (a looping file, a reconnecting stream) passes the same pool each
   * time, and slots of the right count and size are reused instead of
   * allocated anew (docs/performance.md: each reopening otherwise left ~20 MiB of
   * SharedArrayBuffers to a later major GC, RSS rose in steps). The pool must
   * not be shared by two open sources at once.
   */
  slotPool?: SlotPool;
  /** Frames pulled ahead of the consumer for non-live sources. Default 2. */
  prefetch?: number;
  /**
   * A recording (source.type 'file') that gives no frame, no error and no end
   * of stream this long after start fails with a CaptureError. GStreamer's
   * decodebin can swallow a demuxer's error that comes while it is still
   * setting the demuxer up (seen with an mp4 cut short before its index), and
   * the pipeline then waits for ever. Default 15000 ms; 0 = no limit. Other
   * sources have no limit (a live camera may be slow to start).
   */
  firstFrameTimeoutMs?: number;
  /**
   * Threads of the software video decoder decodebin picks (libav's
   * avdec_h264, avdec_h265, ...; its `max-threads`). Default 0: the
   * decoder's own choice, one per core. Each decoder thread keeps frames of
   * its own in flight: 1 saves ~13 MiB for a 1280×720 H.264 stream
   * (docs/performance.md) and lowers the frames/s one source can decode,
   * enough for a camera taken at 10 Hz, not for a fast replay. No effect on
   * hardware decoders (nvv4l2decoder on a Jetson).
   */
  decoderThreads?: number;
  /**
   * Use the Jetson's hardware path where its elements exist (default true):
   * decodebin then picks nvv4l2decoder (its rank is primary on JetPack) and
   * nvvidconv converts out of NVMM memory and scales in hardware. False keeps
   * the software path (videoconvert, videoscale) everywhere.
   */
  preferHardware?: boolean;
}

export interface BuiltPipeline {
  description: string;
  sinkName: string;
  srcName?: string;
  live: boolean;
  /** Element factories the description needs; checked before launch. */
  requiredElements: string[];
  /** `max-threads` for a software decoder decodebin adds (CaptureOptions.decoderThreads); 0 leaves it. */
  decoderThreads: number;
}

/**
 * videotestsrc's patterns (GStreamer 1.22, `gst-inspect-1.0 videotestsrc`). A name outside them
 * failed only when the pipeline was made: `bestshot run` retried the camera for ever, and
 * check-config passed the config.
 */
export const TEST_PATTERNS = [
  'smpte', 'snow', 'black', 'white', 'red', 'green', 'blue', 'checkers-1', 'checkers-2', 'checkers-4', 'checkers-8',
  'circular', 'blink', 'smpte75', 'zone-plate', 'gamut', 'chroma-zone-plate', 'solid-color', 'ball', 'smpte100',
  'bar', 'pinwheel', 'spokes', 'gradient', 'colors', 'smpte-rp-219',
] as const;

const SINK = 'bestshot_sink';
export const APPSRC_NAME = 'bestshot_src';
/** Name of the camera element, for exposure properties (A6). */
export const CAMERA_ELEMENT = 'camera';

/**
 * A frame rate as a GStreamer fraction: 30 → '30/1', 7.5 → '15/2' (UVC cameras offer 7.5 fps;
 * the config takes any positive number, and an integer-only check here made such a camera fail
 * at every reopening — retried for ever — after check-config had passed it). The nearest
 * fraction with a denominator up to 1001 (29.97 → 2997/100).
 */
export function gstFraction(name: string, value: unknown): string {
  const x = requireNumber('positive number', name, value);
  if (Number.isInteger(x)) return `${x}/1`;
  let best = { n: Math.round(x), d: 1, err: Math.abs(x - Math.round(x)) };
  for (let d = 2; d <= 1001 && best.err > 1e-9 * x; d++) {
    const n = Math.round(x * d);
    const err = Math.abs(x - n / d);
    if (n > 0 && err < best.err - 1e-12) best = { n, d, err };
  }
  return `${best.n}/${best.d}`;
}

function nonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidParameterError('non-empty string', name, value);
  return value;
}

/** Quote a value for gst_parse_launch. */
export function gstQuote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function validateTensor(t: TensorOptions): void {
  requireNumber('positive integer', 'tensor.width', t.width);
  requireNumber('positive integer', 'tensor.height', t.height);
  if (t.channelOrder !== 'bgr' && t.channelOrder !== 'rgb') {
    throw invalidParameterError("one of 'bgr', 'rgb'", 'tensor.channelOrder', t.channelOrder);
  }
  if (t.placement !== 'topleft' && t.placement !== 'center') {
    throw invalidParameterError("one of 'topleft', 'center'", 'tensor.placement', t.placement);
  }
  if (typeof t.padValue !== 'number' || !(t.padValue >= 0 && t.padValue <= 255)) {
    throw invalidParameterError('number between 0 and 255', 'tensor.padValue', t.padValue);
  }
  if (typeof t.scale !== 'number' || !(t.scale > 0)) throw invalidParameterError('positive number', 'tensor.scale', t.scale);
}

/**
 * Build the launch description. The tail converts to packed BGR/RGB (one
 * copy happens later, in the addon) and ends in an appsink that, for live
 * sources, keeps only the newest frame (stale frames dropped, not queued).
 */
// video-direction, not the deprecated `method`: with `method` set, videoflip still read the stream's
// own orientation tag on GStreamer 1.22 and the frame came out unturned (measured on a tagged mp4).
const VIDEO_DIRECTION: Record<Exclude<Rotation, 0>, string> = { 90: '90r', 180: '180', 270: '90l' };

export function buildPipeline(options: CaptureOptions, hasElement: (name: string) => boolean): BuiltPipeline {
  const source = options.source;
  if (source === null || typeof source !== 'object') throw invalidParameterError('object', 'source', source);
  const format = options.format ?? 'BGR';
  if (format !== 'BGR' && format !== 'RGB' && format !== 'I420') throw invalidParameterError("one of 'BGR', 'RGB', 'I420'", 'format', format);
  if ((options.outputWidth === undefined) !== (options.outputHeight === undefined)) {
    throw new TypeError('Expected both outputWidth and outputHeight, or neither');
  }
  if (options.outputWidth !== undefined) requireNumber('positive integer', 'outputWidth', options.outputWidth);
  if (options.outputHeight !== undefined) requireNumber('positive integer', 'outputHeight', options.outputHeight);
  if (options.tensor !== undefined) validateTensor(options.tensor);
  const decoderThreads = options.decoderThreads ?? 0;
  if (!Number.isInteger(decoderThreads) || decoderThreads < 0) throw invalidParameterError('non-negative integer', 'decoderThreads', options.decoderThreads);
  const hw = options.preferHardware ?? true;
  const required: string[] = ['videoconvert', 'appsink'];
  let head: string;
  let live: boolean;
  let srcName: string | undefined;
  // On Jetson, decodebin's hardware decoders output NVMM buffers that only
  // nvvidconv can bring to system memory (videoconvert cannot read them).
  const nvconv = hw && hasElement('nvvidconv') && hasElement('nvv4l2decoder');
  const nvFormat = format === 'I420' ? 'I420' : 'BGRx';
  const decode = nvconv ? `decodebin ! nvvidconv ! video/x-raw,format=${nvFormat}` : 'decodebin';
  if (nvconv) required.push('nvvidconv');
  // A recording or stream whose pixels are not square (a PAL 720×576 recording with pixel aspect
  // 64:45 or 16:15, a D1 camera's 704×576 at 12:11) is scaled to square pixels at its height: it
  // was analysed and uploaded as stored, every object squeezed (a car 1.42× too narrow at 64:45),
  // its boxes and images out of proportion. Square-pixel sources — nearly all — pass through
  // (videoscale with equal caps does no work; no measurable cost on a 640×352 clip).
  const squarePixels = ' ! videoscale ! video/x-raw,pixel-aspect-ratio=1/1';
  switch (source.type) {
    case 'file': {
      const path = resolve(nonEmptyString('source.path', source.path));
      if (!existsSync(path)) throw new CaptureError(`File not found: ${path}`, 'ERR_CAPTURE_SOURCE_NOT_FOUND');
      // A pipe passes here: the commands and the config refuse one before a FrameSource is made.
      const unsupported = unsupportedFileFormat(path, { allowPipes: true });
      if (unsupported !== undefined) throw new CaptureError(unsupported);
      head = `filesrc location=${gstQuote(path)} ! ${decode}${squarePixels}`;
      required.push('filesrc', 'decodebin', 'videoscale');
      live = false;
      break;
    }
    case 'rtsp': {
      const url = nonEmptyString('source.url', source.url);
      if (!/^rtsps?:\/\//.test(url)) throw invalidParameterError('rtsp:// or rtsps:// URL', 'source.url', url);
      const latency = source.latencyMs ?? 200;
      requireNumber('positive integer', 'source.latencyMs', latency);
      const protocols = (source.transport ?? 'tcp') === 'tcp' ? 'tcp' : 'udp';
      head = `rtspsrc location=${gstQuote(url)} latency=${latency} protocols=${protocols} ! ${decode} ! queue leaky=downstream max-size-buffers=2${squarePixels}`;
      required.push('rtspsrc', 'decodebin', 'queue', 'videoscale');
      live = true;
      break;
    }
    case 'v4l2': {
      const device = nonEmptyString('source.device', source.device);
      let controls = '';
      if (source.controls !== undefined) {
        const pairs = Object.entries(source.controls).map(([k, v]) => {
          if (!/^[a-z0-9_]+$/.test(k)) throw invalidParameterError('V4L2 control name', `source.controls.${k}`, k);
          if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidParameterError('integer', `source.controls.${k}`, v);
          return `${k}=${v}`;
        });
        if (pairs.length > 0) controls = ` extra-controls=${gstQuote(`c,${pairs.join(',')}`)}`;
      }
      const caps: string[] = [];
      if (source.width !== undefined) caps.push(`width=${requireNumber('positive integer', 'source.width', source.width)}`);
      if (source.height !== undefined) caps.push(`height=${requireNumber('positive integer', 'source.height', source.height)}`);
      if (source.framerate !== undefined) caps.push(`framerate=${gstFraction('source.framerate', source.framerate)}`);
      head = `v4l2src name=${CAMERA_ELEMENT} device=${gstQuote(device)}${controls}`;
      if (caps.length > 0) head += ` ! image/jpeg,${caps.join(',')};video/x-raw,${caps.join(',')}`;
      head += ` ! ${decode} ! queue leaky=downstream max-size-buffers=2`;
      required.push('v4l2src', 'decodebin', 'queue');
      live = true;
      break;
    }
    case 'argus': {
      const sensor = source.sensorId ?? 0;
      if (!Number.isInteger(sensor) || sensor < 0) throw invalidParameterError('non-negative integer', 'source.sensorId', sensor);
      const w = requireNumber('positive integer', 'source.width', source.width);
      const h = requireNumber('positive integer', 'source.height', source.height);
      const f = gstFraction('source.framerate', source.framerate);
      head =
        `nvarguscamerasrc name=${CAMERA_ELEMENT} sensor-id=${sensor} ! ` +
        `video/x-raw(memory:NVMM),width=${w},height=${h},framerate=${f} ! nvvidconv ! video/x-raw,format=${nvFormat} ! ` +
        `queue leaky=downstream max-size-buffers=2`;
      required.push('nvarguscamerasrc', 'nvvidconv', 'queue');
      live = true;
      break;
    }
    case 'test': {
      const w = requireNumber('positive integer', 'source.width', source.width);
      const h = requireNumber('positive integer', 'source.height', source.height);
      const f = gstFraction('source.framerate', source.framerate);
      const pattern = source.pattern ?? 'smpte';
      if (!(TEST_PATTERNS as readonly string[]).includes(pattern)) throw invalidParameterError(`one of ${TEST_PATTERNS.join(', ')}`, 'source.pattern', pattern);
      const n = source.numBuffers === undefined ? '' : ` num-buffers=${requireNumber('positive integer', 'source.numBuffers', source.numBuffers)}`;
      live = source.live ?? false;
      head = `videotestsrc name=${CAMERA_ELEMENT} pattern=${pattern}${n} is-live=${live} ! video/x-raw,width=${w},height=${h},framerate=${f}`;
      required.push('videotestsrc');
      break;
    }
    case 'appsrc': {
      const w = requireNumber('positive integer', 'source.width', source.width);
      const h = requireNumber('positive integer', 'source.height', source.height);
      const f = requireNumber('positive integer', 'source.framerate', source.framerate);
      const inFormat = source.format ?? 'BGR';
      srcName = APPSRC_NAME;
      head = `appsrc name=${APPSRC_NAME} format=time is-live=true block=false max-bytes=${w * h * 3 * 4} caps=video/x-raw,format=${inFormat},width=${w},height=${h},framerate=${f}/1`;
      required.push('appsrc');
      live = true;
      break;
    }
    case 'pipeline': {
      head = nonEmptyString('source.description', source.description);
      live = source.live ?? false;
      break;
    }
    default: {
      const t: unknown = (source as { type?: unknown }).type;
      throw invalidParameterError("one of 'file', 'rtsp', 'v4l2', 'argus', 'test', 'appsrc', 'pipeline'", 'source.type', t);
    }
  }
  const scale =
    options.outputWidth !== undefined ? ` ! videoscale ! video/x-raw,width=${options.outputWidth},height=${options.outputHeight}` : '';
  if (scale) required.push('videoscale');
  // Live: keep only the newest frame; replay: block the decoder (no loss).
  const sinkProps = live ? 'sync=false max-buffers=1 drop=true' : `sync=${source.type === 'file' && source.realtime === true} max-buffers=4 drop=false`;
  // After the conversion, in a format videoflip takes; only when asked (it is a full-frame copy).
  const flip = options.rotation ? ` ! videoflip video-direction=${VIDEO_DIRECTION[options.rotation]}` : '';
  if (flip) required.push('videoflip');
  const description = `${head}${scale} ! videoconvert n-threads=2 ! video/x-raw,format=${format}${flip} ! appsink name=${SINK} ${sinkProps}`;
  return { description, sinkName: SINK, srcName, live, requiredElements: [...new Set(required)], decoderThreads };
}
