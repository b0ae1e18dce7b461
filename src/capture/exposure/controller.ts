/**
 * The exposure state machine (A1–A4).
 *
 *   start() ──► metering (AE runs) ──settled / aeSettle timeout──► manual
 *                  ▲        │ reading source 'unknown'                │
 *                  │        └──► probing (known setting, measure) ──►─┤
 *                  └────────────── every remeterPeriod (A3) ◄─────────┘
 *
 * Fed one frame at a time through observe(frame), which meters it, advances
 * the machine and returns the exposure the frame was taken with, tagged
 * 'auto' for every frame taken while AE ran (A5). Time comes from an
 * injectable millisecond clock so tests can drive re-metering.
 */
import { ExposureError, invalidParameterError, requireNumber } from '../../errors.js';
import type { ExposureInfo } from '../../types.js';
import type { CameraControl, ExposureReading } from '../control/types.js';
import type { PixelFormat, YuvMatrix } from '../options.js';
import {
  DEFAULT_MANUAL_PARAMS,
  isAeSettled,
  manualSetting,
  meanLuma,
  meanLumaI420,
  validateManualParams,
  type ManualSetting,
  type MeterSample,
} from './rules.js';

export interface ExposureControllerOptions {
  control: CameraControl;
  /** T_manual, µs (A2). Default 1000. Shorter freezes motion better but needs more gain (noise). */
  manualTimeUs?: number;
  /** T_manual_max, µs (A4). Default 4000. Higher keeps brightness in the dark at the cost of blur. */
  manualMaxTimeUs?: number;
  /** remeterPeriod, ms (A3). Default 60000. Shorter follows light changes faster but spends more frames in AE ('auto' frames are never selected, S2). */
  remeterPeriodMs?: number;
  /** false: A1–A2 once, never re-metered (exposure.mode 'fixed'); remeterPeriodMs is then unused. Default true. */
  remeter?: boolean;
  /** aeSettle, ms (A1/A3): the longest wait for AE to settle. Default 1000. */
  aeSettleMs?: number;
  /** Consecutive stable frames that count as settled before aeSettleMs. Default 5. */
  aeSettleFrames?: number;
  /**
   * aeSettle as a frame count (A3: "aeSettle, default 1 s or a configured frame count"): the longest
   * wait for AE, in metered frames, in place of aeSettleMs. Unset: aeSettleMs.
   */
  aeSettleMaxFrames?: number;
  /** Relative spread of brightness and exposure product allowed within those frames. Default 0.03. */
  settleTolerance?: number;
  /** Monotonic clock, ms. Default performance.now. */
  clock?: () => number;
  /** Called on every switch, clamp and probe (A4: "logged"). */
  log?: (event: ExposureEvent) => void;
}

export type ExposureState = 'idle' | 'metering' | 'probing' | 'manual';

export type ExposureEvent =
  | { type: 'switch'; to: 'auto'; reason: 'start' | 'remeter'; atMs: number }
  | {
      type: 'switch';
      to: 'manual';
      reason: 'settled' | 'settle-timeout';
      atMs: number;
      /** AE's reading (t_ae, s_ae) and where it came from. */
      ae: { exposureTimeUs: number; gain: number; source: 'reported' | 'requested' | 'estimated' };
      setting: ManualSetting;
    }
  | { type: 'clamp'; atMs: number; setting: ManualSetting }
  | { type: 'probe'; atMs: number; exposureTimeUs: number; gain: number; meanLuma?: number };

/** Counters for metrics (A4: clamps are "exported as metrics"). */
export interface ExposureStats {
  state: ExposureState;
  switchesToAuto: number;
  switchesToManual: number;
  remeterings: number;
  settleTimeouts: number;
  gainClampedMax: number;
  gainClampedMin: number;
  timeLengthened: number;
  probes: number;
  autoFrames: number;
  manualFrames: number;
  lastAe: { exposureTimeUs: number; gain: number } | null;
  lastSetting: ManualSetting | null;
}

/** What observe() needs of a frame (CapturedFrame satisfies it). */
export interface MeteredFrame {
  pixels: Uint8Array;
  width: number;
  height: number;
  stride?: number;
  /** Default packed BGR/RGB; 'I420' meters the Y plane. */
  format?: PixelFormat;
  yuv?: YuvMatrix;
  ptsNs: bigint;
}

export class ExposureController {
  readonly control: CameraControl;
  readonly params: Readonly<{
    manualTimeUs: number;
    manualMaxTimeUs: number;
    remeterPeriodMs: number;
    aeSettleMs: number;
    aeSettleFrames: number;
    aeSettleMaxFrames: number | undefined;
    settleTolerance: number;
  }>;
  #clock: () => number;
  #log: (e: ExposureEvent) => void;
  #state: ExposureState = 'idle';
  #samples: MeterSample[] = [];
  #aeSinceMs = 0;
  #aeFrames = 0;
  #lastMeterMs = 0;
  #manual: ManualSetting | null = null;
  #framesSinceSet = 0;
  #lastReading: ExposureReading | null = null;
  #aeLuma = 0;
  #probe: { timeUs: number; gain: number; tries: number } | null = null;
  #stats: Omit<ExposureStats, 'state'> = {
    switchesToAuto: 0,
    switchesToManual: 0,
    remeterings: 0,
    settleTimeouts: 0,
    gainClampedMax: 0,
    gainClampedMin: 0,
    timeLengthened: 0,
    probes: 0,
    autoFrames: 0,
    manualFrames: 0,
    lastAe: null,
    lastSetting: null,
  };

  constructor(options: ExposureControllerOptions) {
    if (options === null || typeof options !== 'object' || typeof options.control?.setAuto !== 'function') {
      throw invalidParameterError('CameraControl', 'control', options?.control);
    }
    this.control = options.control;
    const manual = validateManualParams({
      manualTimeUs: options.manualTimeUs ?? DEFAULT_MANUAL_PARAMS.manualTimeUs,
      manualMaxTimeUs: options.manualMaxTimeUs ?? DEFAULT_MANUAL_PARAMS.manualMaxTimeUs,
    });
    const frames = options.aeSettleFrames ?? 5;
    if (!Number.isInteger(frames) || frames < 2) throw invalidParameterError('integer >= 2', 'aeSettleFrames', frames);
    const maxFrames = options.aeSettleMaxFrames;
    if (maxFrames !== undefined && (!Number.isInteger(maxFrames) || maxFrames < 1)) throw invalidParameterError('positive integer', 'aeSettleMaxFrames', maxFrames);
    this.params = {
      ...manual,
      remeterPeriodMs: options.remeter === false ? Number.POSITIVE_INFINITY : requireNumber('positive number', 'remeterPeriodMs', options.remeterPeriodMs ?? 60_000),
      aeSettleMs: requireNumber('positive number', 'aeSettleMs', options.aeSettleMs ?? 1000),
      aeSettleFrames: frames,
      aeSettleMaxFrames: maxFrames,
      settleTolerance: requireNumber('positive number', 'settleTolerance', options.settleTolerance ?? 0.03),
    };
    this.#clock = options.clock ?? (() => performance.now());
    this.#log = options.log ?? (() => {});
  }

  get state(): ExposureState {
    return this.#state;
  }

  /** The manual setting in force (null while AE runs). */
  get setting(): ManualSetting | null {
    return this.#state === 'manual' ? this.#manual : null;
  }

  stats(): ExposureStats {
    return { state: this.#state, ...this.#stats, lastSetting: this.#stats.lastSetting && { ...this.#stats.lastSetting } };
  }

  /** A1: start in auto exposure. */
  async start(): Promise<void> {
    if (this.#state !== 'idle') return;
    await this.#toAuto('start');
  }

  /**
   * Meter one frame, advance the state machine, and return the exposure the
   * frame was taken with: exact where the back end reports per-frame
   * exposure, otherwise from the controller's own record, where frames within
   * the back end's apply latency after a switch to manual count as 'auto'.
   */
  async observe(frame: MeteredFrame): Promise<ExposureInfo> {
    if (this.#state === 'idle') await this.start();
    const now = this.#clock();
    this.#framesSinceSet++;
    const tag = this.#tag(frame);
    if (tag.mode === 'auto') this.#stats.autoFrames++;
    else this.#stats.manualFrames++;
    const luma =
      frame.format === 'I420'
        ? meanLumaI420(frame.pixels, frame.width, frame.height, frame.yuv)
        : meanLuma(frame.pixels, frame.width, frame.height, frame.stride ?? frame.width * 3);
    switch (this.#state) {
      case 'metering':
        await this.#meter(luma, now);
        break;
      case 'probing':
        await this.#probeStep(luma, now);
        break;
      case 'manual':
        if (now - this.#lastMeterMs >= this.params.remeterPeriodMs) {
          this.#stats.remeterings++;
          await this.#toAuto('remeter');
        }
        break;
      case 'idle':
        break;
    }
    return tag;
  }

  #tag(frame: MeteredFrame): ExposureInfo {
    // Probe frames are part of metering: never offered as manual frames.
    if (this.#state === 'probing' || this.#state === 'metering') {
      const exact = this.control.frameExposure?.(frame);
      const r = this.#lastReading;
      return { mode: 'auto', exposureTimeUs: exact?.exposureTimeUs ?? r?.exposureTimeUs ?? NaN, gain: exact?.gain ?? r?.gain ?? NaN };
    }
    const exact = this.control.frameExposure?.(frame);
    if (exact) return { ...exact };
    const m = this.#manual!;
    if (this.#framesSinceSet <= this.control.applyLatencyFrames) {
      const r = this.#lastReading;
      return { mode: 'auto', exposureTimeUs: r?.exposureTimeUs ?? NaN, gain: r?.gain ?? NaN };
    }
    return { mode: 'manual', exposureTimeUs: m.exposureTimeUs, gain: m.gain };
  }

  async #toAuto(reason: 'start' | 'remeter'): Promise<void> {
    await this.control.setAuto();
    this.#state = 'metering';
    this.#samples = [];
    this.#aeFrames = 0;
    this.#aeSinceMs = this.#clock();
    this.#framesSinceSet = 0;
    this.#stats.switchesToAuto++;
    this.#log({ type: 'switch', to: 'auto', reason, atMs: this.#aeSinceMs });
  }

  async #meter(luma: number, now: number): Promise<void> {
    this.#aeFrames++;
    const reading = await this.control.read();
    this.#lastReading = reading;
    // Frames still in flight from before the switch do not count.
    if (this.#aeFrames <= this.control.applyLatencyFrames) return;
    const known = reading.source !== 'unknown';
    this.#samples.push({ meanLuma: luma, exposureProduct: known ? reading.exposureTimeUs * reading.gain : NaN });
    if (this.#samples.length > 64) this.#samples.shift();
    const settled = isAeSettled(this.#samples, this.params.aeSettleFrames, this.params.settleTolerance);
    const waited = this.params.aeSettleMaxFrames;
    const timedOut = waited === undefined ? now - this.#aeSinceMs >= this.params.aeSettleMs : this.#samples.length >= waited;
    if (!settled && !timedOut) return;
    const reason = settled ? 'settled' : 'settle-timeout';
    if (!settled) this.#stats.settleTimeouts++;
    if (known) {
      await this.#toManual(reading.exposureTimeUs, reading.gain, reading.source === 'reported' ? 'reported' : 'requested', reason);
      return;
    }
    // AE's choice is not reported: expose at a known setting and compare brightness.
    this.#aeLuma = luma;
    this.#settleReason = reason;
    const caps = this.control.capabilities();
    await this.#startProbe(this.params.manualTimeUs, caps.gain[0], 0);
  }

  #settleReason: 'settled' | 'settle-timeout' = 'settled';

  async #startProbe(timeUs: number, gain: number, tries: number): Promise<void> {
    await this.control.setManual(timeUs, gain);
    this.#probe = { timeUs, gain, tries };
    this.#state = 'probing';
    this.#framesSinceSet = 0;
    this.#stats.probes++;
    this.#log({ type: 'probe', atMs: this.#clock(), exposureTimeUs: timeUs, gain });
  }

  async #probeStep(luma: number, _now: number): Promise<void> {
    const p = this.#probe!;
    if (this.#framesSinceSet <= this.control.applyLatencyFrames) return;
    this.#log({ type: 'probe', atMs: this.#clock(), exposureTimeUs: p.timeUs, gain: p.gain, meanLuma: luma });
    const caps = this.control.capabilities();
    // Too dark to measure well: one more probe with more gain.
    if (luma < 20 && p.tries === 0 && p.gain < caps.gain[1]) {
      await this.#startProbe(p.timeUs, Math.min(caps.gain[1], (p.gain * 60) / Math.max(luma, 1)), 1);
      return;
    }
    if (!(luma > 0)) throw new ExposureError('Exposure probe measured a black frame; cannot estimate the AE exposure');
    // Linear sensor: product_ae = product_probe × brightness_ae / brightness_probe.
    const product = (p.timeUs * p.gain * this.#aeLuma) / luma;
    this.#probe = null;
    await this.#toManual(this.params.manualTimeUs, product / this.params.manualTimeUs, 'estimated', this.#settleReason);
  }

  async #toManual(tAe: number, sAe: number, source: 'reported' | 'requested' | 'estimated', reason: 'settled' | 'settle-timeout'): Promise<void> {
    const setting = manualSetting(tAe, sAe, this.params, this.control.capabilities());
    await this.control.setManual(setting.exposureTimeUs, setting.gain);
    const at = this.#clock();
    this.#manual = setting;
    this.#state = 'manual';
    this.#lastMeterMs = at;
    this.#framesSinceSet = 0;
    this.#stats.switchesToManual++;
    this.#stats.lastAe = { exposureTimeUs: tAe, gain: sAe };
    this.#stats.lastSetting = setting;
    if (setting.gainClamped === 'max') this.#stats.gainClampedMax++;
    if (setting.gainClamped === 'min') this.#stats.gainClampedMin++;
    if (setting.timeLengthened) this.#stats.timeLengthened++;
    this.#log({ type: 'switch', to: 'manual', reason, atMs: at, ae: { exposureTimeUs: tAe, gain: sAe, source }, setting });
    if (setting.gainClamped !== null) this.#log({ type: 'clamp', atMs: at, setting });
  }
}
