/**
 * The simulated camera (A6, docs/acquisition.md): a road scene with known boxes,
 * a linear sensor (see render.ts), its own auto-exposure loop and a manual
 * mode. It reports exactly what it applied to every frame, and feeds frames
 * through the appsrc FrameSource so consumers use the same frame API as for
 * a real camera.
 *
 * Two ways to drive it:
 * - step(): render the next frame and push it now (tests: deterministic, as
 *   fast as the consumer);
 * - start(): push frames in real time at `fps` (demos, benchmarks).
 */
import { invalidParameterError, InvalidStateError, requireNumber } from '../../errors.js';
import type { ExposureInfo, ExposureMode } from '../../types.js';
import { openCapture, type FrameSource } from '../frame-source.js';
import type { NativeBinding } from '../native.js';
import { clampTo, type CameraCapabilities, type ExposureReading } from '../control/types.js';
import { SceneRenderer } from './render.js';
import { defaultObjects, validateObjects, type GroundTruthObject, type SimObjectSpec } from './scene.js';

export interface SimAeOptions {
  /** Mean luma the AE aims for, DN. Default 110. */
  target?: number;
  /** Longest time AE uses before raising gain, µs. Default 20000 (1/50 s): longer means less noise, more blur. */
  maxTimeUs?: number;
  /** Exponent of each correction step. Default 0.8: higher converges faster; above 1 it overshoots, above 2 it oscillates (tests use that for an AE that never settles). */
  damping?: number;
  /** Relative brightness error the AE calls settled. Default 0.04. */
  tolerance?: number;
  /** Exposure at power-on, µs and gain. Default 2000 µs, gain 1 (AE then converges over a few frames). */
  initialTimeUs?: number;
  initialGain?: number;
}

export interface SimulatedCameraOptions {
  /** Image size, px. Default 640×360. */
  width?: number;
  height?: number;
  /** Sensor frame rate. Default 30: a consumer at captureHz 10 then picks every third frame (A5). */
  fps?: number;
  /** Seed of the background, colours and noise. Default 1. Same seed → same pixels. */
  seed?: number;
  /** Moving objects. Default: the four-lane scene of defaultObjects(). */
  objects?: SimObjectSpec[];
  /** Exposure product (µs × gain) at which reflectance 1 saturates. Default 11000: AE settles near 12 ms at gain 1. Larger = darker scene. */
  fullScaleExposure?: number;
  /** Read noise σ at gain 1, DN. Default 0.35; σ grows ∝ gain. 0 disables noise. */
  readNoise?: number;
  /** Sensor ranges. Default 30–33000 µs, gain 1–16. */
  capabilities?: CameraCapabilities;
  ae?: SimAeOptions;
  /** Scene time of frame 0, s. Default 0. */
  startTimeS?: number;
}

/** One rendered frame with what the camera applied and the ground truth. */
export interface SimFrame {
  index: number;
  ptsNs: bigint;
  /** Scene time of the exposure midpoint, s. */
  sceneTimeS: number;
  width: number;
  height: number;
  pixels: Uint8Array;
  meanLuma: number;
  exposure: ExposureInfo;
  /** AE's own verdict after this frame (false in manual mode). */
  aeSettled: boolean;
  objects: GroundTruthObject[];
}

export type SimFrameMeta = Omit<SimFrame, 'pixels'>;

const META_RING = 256;

function validRange(name: string, r: unknown): [number, number] {
  if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => typeof x === 'number' && x > 0) || !(r[0] <= r[1])) {
    throw invalidParameterError('[min, max] with 0 < min <= max', name, r);
  }
  return [r[0] as number, r[1] as number];
}

export class SimulatedCamera {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly periodNs: bigint;
  readonly caps: CameraCapabilities;
  readonly renderer: SceneRenderer;
  #startS: number;
  #ae: Required<SimAeOptions>;
  #mode: ExposureMode = 'auto';
  #timeUs: number;
  #gain: number;
  #aeSettled = false;
  #index = 0;
  #meta = new Map<bigint, SimFrameMeta>();
  #source: FrameSource | undefined;
  #epochNs = 0n;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: SimulatedCameraOptions = {}) {
    this.width = requireNumber('positive integer', 'width', options.width ?? 640);
    this.height = requireNumber('positive integer', 'height', options.height ?? 360);
    this.fps = requireNumber('positive number', 'fps', options.fps ?? 30);
    this.periodNs = BigInt(Math.round(1e9 / this.fps));
    const seed = options.seed ?? 1;
    if (!Number.isInteger(seed)) throw invalidParameterError('integer', 'seed', seed);
    const caps = options.capabilities ?? { exposureTimeUs: [30, 33000], gain: [1, 16] };
    this.caps = { exposureTimeUs: validRange('capabilities.exposureTimeUs', caps.exposureTimeUs), gain: validRange('capabilities.gain', caps.gain) };
    const readNoise = options.readNoise ?? 0.35;
    if (typeof readNoise !== 'number' || !(readNoise >= 0)) throw invalidParameterError('non-negative number', 'readNoise', readNoise);
    const objects = validateObjects(options.objects ?? defaultObjects(this.width, this.height));
    this.renderer = new SceneRenderer(this.width, this.height, seed, objects, {
      fullScaleExposure: requireNumber('positive number', 'fullScaleExposure', options.fullScaleExposure ?? 11000),
      readNoise,
    });
    this.#startS = options.startTimeS ?? 0;
    const ae = options.ae ?? {};
    this.#ae = {
      target: requireNumber('positive number', 'ae.target', ae.target ?? 110),
      maxTimeUs: requireNumber('positive number', 'ae.maxTimeUs', ae.maxTimeUs ?? 20000),
      damping: requireNumber('positive number', 'ae.damping', ae.damping ?? 0.8),
      tolerance: requireNumber('positive number', 'ae.tolerance', ae.tolerance ?? 0.04),
      initialTimeUs: requireNumber('positive number', 'ae.initialTimeUs', ae.initialTimeUs ?? 2000),
      initialGain: requireNumber('positive number', 'ae.initialGain', ae.initialGain ?? 1),
    };
    this.#timeUs = clampTo(this.caps.exposureTimeUs, this.#ae.initialTimeUs);
    this.#gain = clampTo(this.caps.gain, this.#ae.initialGain);
  }

  /** Exposure the next frame will be taken with. */
  get exposure(): ExposureInfo {
    return { mode: this.#mode, exposureTimeUs: this.#timeUs, gain: this.#gain };
  }

  get frameIndex(): number {
    return this.#index;
  }

  /** What the camera reports: exactly what it applies (source 'reported'). */
  reading(): ExposureReading {
    return { mode: this.#mode, exposureTimeUs: this.#timeUs, gain: this.#gain, settled: this.#mode === 'auto' && this.#aeSettled, source: 'reported' };
  }

  setAuto(): void {
    if (this.#mode !== 'auto') this.#aeSettled = false;
    this.#mode = 'auto';
  }

  /** Fixed exposure from the next frame on; values are clamped to the sensor ranges. */
  setManual(exposureTimeUs: number, gain: number): void {
    requireNumber('positive number', 'exposureTimeUs', exposureTimeUs);
    requireNumber('positive number', 'gain', gain);
    this.#mode = 'manual';
    this.#aeSettled = false;
    this.#timeUs = clampTo(this.caps.exposureTimeUs, exposureTimeUs);
    this.#gain = clampTo(this.caps.gain, gain);
  }

  /** Scene time (s) of frame `index`. */
  sceneTime(index: number): number {
    return this.#startS + index / this.fps;
  }

  /**
   * Render scene time tNs (ns from frame 0) at an exposure (default: the
   * current one) without advancing the camera or its AE. Pure: the same
   * arguments give the same pixels.
   */
  render(tNs: bigint, exposure: { exposureTimeUs: number; gain: number; mode?: ExposureMode } = this.exposure): SimFrame {
    const tS = this.#startS + Number(tNs) / 1e9;
    const img = this.renderer.render(tS, exposure.exposureTimeUs, exposure.gain, Number(tNs / 1000n));
    return {
      index: Math.round(Number(tNs) / Number(this.periodNs)),
      ptsNs: tNs,
      sceneTimeS: tS,
      width: this.width,
      height: this.height,
      pixels: img.pixels,
      meanLuma: img.meanLuma,
      exposure: { mode: exposure.mode ?? this.#mode, exposureTimeUs: exposure.exposureTimeUs, gain: exposure.gain },
      aeSettled: false,
      objects: img.objects,
    };
  }

  /**
   * Take the next frame with the applied exposure, then let AE react to it.
   * Its pts (and scene time) is `ptsNs` when given, else index × period.
   */
  capture(ptsNs?: bigint): SimFrame {
    if (this.#closed) throw new InvalidStateError('SimulatedCamera is closed');
    const index = this.#index++;
    ptsNs ??= BigInt(index) * this.periodNs;
    const frame = this.render(ptsNs, this.exposure);
    frame.index = index;
    if (this.#mode === 'auto') this.#aeUpdate(frame.meanLuma);
    frame.aeSettled = this.#mode === 'auto' && this.#aeSettled;
    const { pixels: _pixels, ...meta } = frame;
    this.#meta.set(ptsNs, meta);
    if (this.#meta.size > META_RING) this.#meta.delete(this.#meta.keys().next().value as bigint);
    return frame;
  }

  /** Exposure and ground truth of a frame this camera produced, by its pts (the last 256 frames). */
  metadataFor(ptsNs: bigint): SimFrameMeta | undefined {
    return this.#meta.get(ptsNs);
  }

  /** The appsrc FrameSource this camera feeds (created on first call). */
  openSource(binding?: NativeBinding): FrameSource {
    if (this.#closed) throw new InvalidStateError('SimulatedCamera is closed');
    if (this.#source === undefined) {
      this.#source = openCapture({ source: { type: 'appsrc', width: this.width, height: this.height, framerate: Math.max(1, Math.round(this.fps)) } }, binding);
      this.#epochNs = process.hrtime.bigint();
    }
    return this.#source;
  }

  /**
   * Capture one frame and push it into the FrameSource. Without `ptsNs` the
   * frame's pts is index × period (deterministic, for tests).
   */
  step(ptsNs?: bigint): SimFrame {
    const source = this.openSource();
    const frame = this.capture(ptsNs);
    source.push(frame.pixels, frame.ptsNs, this.periodNs);
    return frame;
  }

  /**
   * Push frames in real time at fps until stop(). Each frame's pts is its
   * render time in the pipeline's running time, so the FrameSource's capture
   * timestamps are the render times; scene time follows the pts.
   */
  start(): void {
    if (this.#timer !== undefined) return;
    this.openSource();
    const t0 = process.hrtime.bigint();
    let k = 0n;
    const tick = (): void => {
      if (this.#closed) return;
      this.step(process.hrtime.bigint() - this.#epochNs);
      k++;
      let due = t0 + k * this.periodNs;
      const now = process.hrtime.bigint();
      // Fell behind by more than a frame: drop the missed frames, like a sensor would.
      if (now > due + this.periodNs) {
        k += (now - due) / this.periodNs;
        due = t0 + k * this.periodNs;
      }
      const waitMs = Number(due - now) / 1e6;
      this.#timer = setTimeout(tick, Math.max(0, waitMs));
    };
    tick();
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Stop and close the FrameSource. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.stop();
    this.#closed = true;
    this.#source?.close();
  }

  /** The AE loop: proportional correction of the exposure product, time first, then gain. */
  #aeUpdate(meanLuma: number): void {
    const { target, maxTimeUs, damping, tolerance } = this.#ae;
    this.#aeSettled = Math.abs(meanLuma - target) <= tolerance * target;
    const [tMin, tMax] = this.caps.exposureTimeUs;
    const [gMin, gMax] = this.caps.gain;
    const tAeMax = Math.min(tMax, maxTimeUs);
    let product = this.#timeUs * this.#gain * Math.pow(target / Math.max(0.5, meanLuma), damping);
    product = Math.min(tAeMax * gMax, Math.max(tMin * gMin, product));
    const t = clampTo([tMin, tAeMax], product / gMin);
    this.#timeUs = t;
    this.#gain = clampTo(this.caps.gain, product / t);
  }
}
