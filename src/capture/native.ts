/**
 * The one loader of the native addon (STYLE 3). It finds the build, explains
 * what to do when it is missing, and lets tests of higher layers inject a
 * binding of the same shape.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BestshotError } from '../errors.js';

export interface NativeTensorOptions {
  width: number;
  height: number;
  channelOrder: 'bgr' | 'rgb';
  center: boolean;
  padValue: number;
  scale: number;
}

export interface NativePipelineOptions {
  description: string;
  sinkName?: string;
  srcName?: string;
  live: boolean;
  tensor?: NativeTensorOptions;
  /** Float32Arrays over SharedArrayBuffers the addon writes tensors into. */
  tensorSlots?: Float32Array[];
  /** > 0: set `max-threads` of every libav decoder (avdec_*) the pipeline's bins add. */
  decoderThreads?: number;
}

export interface NativeLetterbox {
  ratio: number;
  padX: number;
  padY: number;
  scaledWidth: number;
  scaledHeight: number;
}

export interface NativeVideoStream {
  width: number;
  height: number;
  linked: boolean;
}

export type NativeMessage =
  | {
      type: 'frame';
      sequence: number;
      width: number;
      height: number;
      stride: number;
      format: string;
      ptsNs: bigint;
      durationNs: bigint;
      captureRealtimeNs: bigint;
      captureMonotonicNs: bigint;
      /** Absent when the frame was written into pixel slot `pixelSlot`. */
      pixels?: ArrayBuffer;
      pixelBytes: number;
      pixelSlot: number;
      pixelSlotMisses: number;
      tensor?: ArrayBuffer;
      tensorSlot?: number;
      tensorSlotMisses?: number;
      letterbox?: NativeLetterbox;
      /** First frame only: the video streams decodebin exposed (size, and whether it is the one linked). */
      videoStreams?: NativeVideoStream[];
      /** I420 frames: the matrix of their colorimetry. */
      yuv?: { kr: number; kb: number; fullRange: boolean; colorimetry: string; chromaSite: string };
    }
  | { type: 'eos' }
  | { type: 'error' | 'warning'; message: string; debug: string; source: string };

export interface NativePipeline {
  start(): void;
  request(frames: number): void;
  push(data: Uint8Array, ptsNs: bigint, durationNs?: bigint): boolean;
  endOfStream(): void;
  setProperty(element: string, name: string, value: string | number | boolean): void;
  getProperty(element: string, name: string): string | null;
  /**
   * Stops the pipeline and returns at once; GStreamer's own teardown runs on a thread of its own
   * (a source stuck in a read keeps that thread, not JavaScript's).
   */
  close(): void;
  /** Closed and its teardown finished: the source is released and a device can be opened again. */
  released(): boolean;
  releaseTensor(slot: number): void;
  addPixelSlots(views: Uint8Array[]): number;
  addTensorSlots(views: Float32Array[]): number;
  releasePixels(slot: number): void;
}

export interface NativeBinding {
  gstVersion(): string;
  hasElement(name: string): boolean;
  /** glibc's M_ARENA_MAX for arenas not yet created; false where the C library is not glibc. */
  limitMallocArenas(arenas: number): boolean;
  /** glibc's M_MMAP_THRESHOLD, fixed (glibc stops raising it); false where the C library is not glibc. */
  fixMmapThreshold(bytes: number): boolean;
  encodeJpeg(
    pixels: Uint8Array,
    width: number,
    height: number,
    format: string,
    quality: number,
    element: string,
    /** I420: the frame's colorimetry and chroma siting (YuvMatrix); else the caps' defaults. */
    colour?: { colorimetry?: string; chromaSite?: string },
    /** The JPEG's size, at most the image's (scaled down first); default the image's. */
    outWidth?: number,
    outHeight?: number,
  ): Promise<Buffer>;
  Pipeline: new (options: NativePipelineOptions, onMessage: (m: NativeMessage) => void) => NativePipeline;
}

const here = dirname(fileURLToPath(import.meta.url));
// src/capture or dist/src/capture: walk up to the package root.
function packageRoot(): string {
  let dir = here;
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return join(here, '..', '..');
}

let loaded: NativeBinding | undefined;

export function loadNative(): NativeBinding {
  if (loaded) return loaded;
  const root = packageRoot();
  const candidates = [
    process.env.BESTSHOT_NATIVE_PATH,
    join(root, 'build', 'Release', 'bestshot_native.node'),
    join(root, 'build', 'Debug', 'bestshot_native.node'),
  ].filter((p): p is string => typeof p === 'string' && p.length > 0);
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue;
    try {
      loaded = require(candidate) as NativeBinding;
      return loaded;
    } catch (err) {
      errors.push(`${candidate}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  const help = [
    'Could not load the bestshot native addon (GStreamer frame source).',
    errors.length > 0 ? `Load errors:\n  ${errors.join('\n  ')}` : `Looked in: ${candidates.join(', ')}`,
    'Possible solutions:',
    '- Run the set-up script: bash scripts/setup.sh (installs GStreamer dev files, then builds).',
    '- Or build it yourself: npm run build:native (needs cmake, g++, libgstreamer1.0-dev, libgstreamer-plugins-base1.0-dev).',
    '- On Jetson, use the JetPack GStreamer (1.16+) and run scripts/install-jetson.sh.',
  ].join('\n');
  throw new BestshotError('ERR_NATIVE_ADDON', help);
}
