/**
 * Camera control of NVIDIA Argus CSI cameras through nvarguscamerasrc's
 * properties on the pipeline's camera element (A6):
 *
 * - auto:   aelock=false, exposuretimerange / gainrange / ispdigitalgainrange
 *           opened to the sensor mode's full ranges, so AE chooses;
 * - manual: the ranges pinned to one value each ("t t" ns, "g g"), ISP
 *           digital gain pinned to 1, then aelock=true.
 *
 * Reading back: nvarguscamerasrc does not publish the exposure AE chose (the
 * Argus per-capture metadata is not exposed as properties or buffer meta), so
 * read() reports 'unknown' in auto mode and the exposure controller estimates
 * AE's exposure product from measured brightness with one probe at a known
 * setting; in manual mode it reports the requested values ('requested').
 *
 * Not runnable on this machine (no Jetson); tested against a recording
 * PropertyTarget that checks the exact property strings.
 */
import { invalidParameterError } from '../../errors.js';
import { CAMERA_ELEMENT } from '../options.js';
import { clampTo, type CameraCapabilities, type CameraControl, type ExposureReading, type PropertyTarget } from './types.js';

export interface ArgusControlOptions {
  /** The FrameSource of an `argus` source (or anything with setProperty/getProperty). */
  target: PropertyTarget;
  /** Element name. Default 'camera' (CAMERA_ELEMENT). */
  element?: string;
  /**
   * The sensor mode's ranges (from `nvarguscamerasrc` start-up output or the
   * sensor's device tree). Default: IMX219 mode 0 — 13–683709 µs, gain 1–10.625.
   */
  capabilities?: CameraCapabilities;
  /** ISP digital gain range AE may use. Default [1, 8]. Manual pins it to 1. */
  ispDigitalGainRange?: readonly [number, number];
  /** Frames before a new setting shows. Default 3 (Argus queues capture requests). */
  applyLatencyFrames?: number;
}

export const IMX219_CAPABILITIES: CameraCapabilities = { exposureTimeUs: [13, 683709], gain: [1, 10.625] };

/** Format a number for an Argus range string: integers as is, else up to 4 decimals. */
function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(4)));
}

export class ArgusCameraControl implements CameraControl {
  readonly backend = 'argus' as const;
  readonly applyLatencyFrames: number;
  readonly #target: PropertyTarget;
  readonly #element: string;
  readonly #caps: CameraCapabilities;
  readonly #isp: readonly [number, number];
  #reading: ExposureReading = { mode: 'auto', exposureTimeUs: NaN, gain: NaN, source: 'unknown' };

  constructor(options: ArgusControlOptions) {
    if (typeof options?.target?.setProperty !== 'function') throw invalidParameterError('FrameSource', 'target', options?.target);
    this.#target = options.target;
    this.#element = options.element ?? CAMERA_ELEMENT;
    this.#caps = options.capabilities ?? IMX219_CAPABILITIES;
    this.#isp = options.ispDigitalGainRange ?? [1, 8];
    this.applyLatencyFrames = options.applyLatencyFrames ?? 3;
  }

  capabilities(): CameraCapabilities {
    return this.#caps;
  }

  async setAuto(): Promise<void> {
    const [tMin, tMax] = this.#caps.exposureTimeUs;
    const [gMin, gMax] = this.#caps.gain;
    this.#set('exposuretimerange', `${Math.round(tMin * 1000)} ${Math.round(tMax * 1000)}`);
    this.#set('gainrange', `${fmt(gMin)} ${fmt(gMax)}`);
    this.#set('ispdigitalgainrange', `${fmt(this.#isp[0])} ${fmt(this.#isp[1])}`);
    this.#set('aelock', false);
    this.#reading = { mode: 'auto', exposureTimeUs: NaN, gain: NaN, source: 'unknown' };
  }

  async setManual(exposureTimeUs: number, gain: number): Promise<void> {
    const t = clampTo(this.#caps.exposureTimeUs, exposureTimeUs);
    const g = clampTo(this.#caps.gain, gain);
    const ns = Math.round(t * 1000);
    this.#set('exposuretimerange', `${ns} ${ns}`);
    this.#set('gainrange', `${fmt(g)} ${fmt(g)}`);
    this.#set('ispdigitalgainrange', '1 1');
    this.#set('aelock', true);
    this.#reading = { mode: 'manual', exposureTimeUs: ns / 1000, gain: Number(fmt(g)), source: 'requested' };
  }

  async read(): Promise<ExposureReading> {
    return { ...this.#reading };
  }

  #set(name: string, value: string | boolean): void {
    this.#target.setProperty(this.#element, name, value);
  }
}
