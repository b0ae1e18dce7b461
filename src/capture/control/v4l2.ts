/**
 * Camera control of V4L2 / UVC cameras through `v4l2-ctl` (Debian package
 * v4l-utils) (A6):
 *
 * - auto:   auto_exposure = Aperture Priority (UVC) or Auto Mode;
 * - manual: auto_exposure = Manual Mode, then exposure_time_absolute
 *           (units of 100 µs) and gain (or analogue_gain) in a second call —
 *           the exposure control is inactive, and on some cameras rejected,
 *           until manual mode is in force.
 *
 * Old kernels name the controls exposure_auto / exposure_absolute; both are
 * recognised. Gain controls have camera-specific units: linear gain is taken
 * as 1 at the control's minimum rising linearly to `maxLinearGain` at its
 * maximum — calibrate maxLinearGain per camera model for A2 to preserve
 * brightness exactly. exposure_dynamic_framerate (or exposure_auto_priority)
 * is switched off at open so AE cannot lower the frame rate under A5.
 *
 * Reading back: values are read with --get-ctrl. Many UVC cameras do not
 * update exposure_time_absolute while AE runs, so in auto mode the reading is
 * 'unknown' (the controller then estimates from brightness) unless
 * `reportsAeValues` is set for a camera known to report them.
 */
import { execFile } from 'node:child_process';
import { CaptureError, invalidParameterError } from '../../errors.js';
import { clampTo, type CameraCapabilities, type CameraControl, type ExposureReading } from './types.js';

export interface V4l2Ctrl {
  name: string;
  id: number;
  type: string;
  min: number;
  max: number;
  step: number;
  default: number;
  value: number;
  flags: string[];
  /** Menu entries (value → label), from --list-ctrls-menus. */
  menu: Map<number, string>;
}

/** Parse `v4l2-ctl --list-ctrls` / `--list-ctrls-menus` output. */
export function parseV4l2Controls(text: string): Map<string, V4l2Ctrl> {
  const out = new Map<string, V4l2Ctrl>();
  let last: V4l2Ctrl | undefined;
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([a-z0-9_]+)\s+(0x[0-9a-f]+)\s+\(([a-z0-9 ]+)\)\s*:\s*(.*)$/.exec(line);
    if (m) {
      const fields = new Map<string, string>();
      for (const kv of m[4]!.matchAll(/([a-z]+)=(\S+)/g)) fields.set(kv[1]!, kv[2]!);
      const n = (k: string, d: number): number => (fields.has(k) ? Number(fields.get(k)) : d);
      const value = n('value', NaN);
      last = {
        name: m[1]!,
        id: Number(m[2]),
        type: m[3]!.trim(),
        min: n('min', 0),
        max: n('max', 1),
        step: n('step', 1),
        default: n('default', 0),
        value,
        flags: fields.get('flags')?.split(',') ?? [],
        menu: new Map(),
      };
      out.set(last.name, last);
      continue;
    }
    const item = /^\s+(\d+): (.+)$/.exec(line);
    if (item && last && last.type === 'menu') last.menu.set(Number(item[1]), item[2]!.trim());
  }
  return out;
}

export type V4l2Runner = (args: string[]) => Promise<string>;

/** Run the real v4l2-ctl; its stderr becomes the error message. */
export const runV4l2Ctl: V4l2Runner = (args) =>
  new Promise((resolve, reject) => {
    execFile('v4l2-ctl', args, { timeout: 5000 }, (err, stdout, stderr) => {
      if (err) {
        const why = (stderr || stdout || err.message).trim();
        reject(new CaptureError(`v4l2-ctl ${args.join(' ')} failed: ${why}`, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'ERR_CAPTURE_ELEMENT_MISSING' : 'ERR_CAPTURE'));
      } else resolve(stdout);
    });
  });

export interface V4l2ControlOptions {
  /** e.g. /dev/video0 */
  device: string;
  /** Runs v4l2-ctl. Default: the real binary (apt package v4l-utils). */
  run?: V4l2Runner;
  /** Linear gain at the gain control's maximum. Default 16; calibrate per camera model. */
  maxLinearGain?: number;
  /** The camera updates exposure_time_absolute/gain while AE runs. Default false (most UVC cameras do not). */
  reportsAeValues?: boolean;
  /** Frames before a new setting shows. Default 2. */
  applyLatencyFrames?: number;
}

interface ControlNames {
  auto: string;
  time: string;
  gain: string | null;
  autoValue: number;
  manualValue: number;
}

function findControls(ctrls: Map<string, V4l2Ctrl>, device: string): ControlNames {
  const pick = (...names: string[]): string | null => names.find((n) => ctrls.has(n)) ?? null;
  const auto = pick('auto_exposure', 'exposure_auto');
  const time = pick('exposure_time_absolute', 'exposure_absolute');
  if (auto === null || time === null) {
    throw new CaptureError(`${device} has no ${auto === null ? 'auto_exposure' : 'exposure_time_absolute'} control; it cannot run the exposure rule (A1–A4)`);
  }
  const menu = ctrls.get(auto)!.menu;
  const byLabel = (re: RegExp): number | undefined => [...menu.entries()].find(([, l]) => re.test(l))?.[0];
  const manualValue = byLabel(/^manual/i) ?? 1;
  const autoValue = byLabel(/aperture priority/i) ?? byLabel(/^auto/i) ?? (ctrls.get(auto)!.default !== manualValue ? ctrls.get(auto)!.default : 3);
  return { auto, time, gain: pick('gain', 'analogue_gain'), autoValue, manualValue };
}

export class V4l2CameraControl implements CameraControl {
  readonly backend = 'v4l2' as const;
  readonly applyLatencyFrames: number;
  readonly device: string;
  readonly controls: ReadonlyMap<string, V4l2Ctrl>;
  readonly names: Readonly<ControlNames>;
  #run: V4l2Runner;
  #maxLinearGain: number;
  #reportsAe: boolean;

  private constructor(o: V4l2ControlOptions, ctrls: Map<string, V4l2Ctrl>) {
    this.device = o.device;
    this.#run = o.run ?? runV4l2Ctl;
    this.controls = ctrls;
    this.names = findControls(ctrls, o.device);
    this.#maxLinearGain = o.maxLinearGain ?? 16;
    this.#reportsAe = o.reportsAeValues ?? false;
    this.applyLatencyFrames = o.applyLatencyFrames ?? 2;
  }

  /** List the device's controls and switch off AE frame-rate lowering. */
  static async open(options: V4l2ControlOptions): Promise<V4l2CameraControl> {
    if (typeof options?.device !== 'string' || options.device.length === 0) throw invalidParameterError('non-empty string', 'device', options?.device);
    if (options.maxLinearGain !== undefined && !(options.maxLinearGain >= 1)) throw invalidParameterError('number >= 1', 'maxLinearGain', options.maxLinearGain);
    const run = options.run ?? runV4l2Ctl;
    const ctrls = parseV4l2Controls(await run(['-d', options.device, '--list-ctrls-menus']));
    const c = new V4l2CameraControl({ ...options, run }, ctrls);
    const dyn = ['exposure_dynamic_framerate', 'exposure_auto_priority'].find((n) => ctrls.get(n)?.value === 1);
    if (dyn) await run(['-d', options.device, `--set-ctrl=${dyn}=0`]);
    return c;
  }

  capabilities(): CameraCapabilities {
    const t = this.controls.get(this.names.time)!;
    return { exposureTimeUs: [t.min * 100, t.max * 100], gain: [1, this.names.gain ? this.#maxLinearGain : 1] };
  }

  /** Control value of a linear gain (rounded to the control's step, clamped). */
  gainToControl(gain: number): number {
    const c = this.controls.get(this.names.gain!)!;
    const g = clampTo([1, this.#maxLinearGain], gain);
    const raw = this.#maxLinearGain === 1 ? c.min : c.min + ((g - 1) / (this.#maxLinearGain - 1)) * (c.max - c.min);
    return Math.min(c.max, Math.max(c.min, c.min + Math.round((raw - c.min) / c.step) * c.step));
  }

  controlToGain(value: number): number {
    const c = this.controls.get(this.names.gain!)!;
    return c.max === c.min ? 1 : 1 + ((value - c.min) / (c.max - c.min)) * (this.#maxLinearGain - 1);
  }

  /** Controls for a manual setting, e.g. for the v4l2 source's initial `controls` (extra-controls). */
  manualControls(exposureTimeUs: number, gain: number): Record<string, number> {
    const t = this.controls.get(this.names.time)!;
    const units = Math.min(t.max, Math.max(t.min, Math.round(exposureTimeUs / 100)));
    const out: Record<string, number> = { [this.names.auto]: this.names.manualValue, [this.names.time]: units };
    if (this.names.gain) out[this.names.gain] = this.gainToControl(gain);
    return out;
  }

  async setAuto(): Promise<void> {
    await this.#run(['-d', this.device, `--set-ctrl=${this.names.auto}=${this.names.autoValue}`]);
  }

  async setManual(exposureTimeUs: number, gain: number): Promise<void> {
    const c = this.manualControls(exposureTimeUs, gain);
    await this.#run(['-d', this.device, `--set-ctrl=${this.names.auto}=${this.names.manualValue}`]);
    const rest = Object.entries(c).filter(([k]) => k !== this.names.auto);
    await this.#run(['-d', this.device, `--set-ctrl=${rest.map(([k, v]) => `${k}=${v}`).join(',')}`]);
  }

  async read(): Promise<ExposureReading> {
    const names = [this.names.auto, this.names.time, ...(this.names.gain ? [this.names.gain] : [])];
    const text = await this.#run(['-d', this.device, `--get-ctrl=${names.join(',')}`]);
    const values = new Map<string, number>();
    for (const m of text.matchAll(/^([a-z0-9_]+):\s*(-?\d+)/gm)) values.set(m[1]!, Number(m[2]));
    const mode = values.get(this.names.auto) === this.names.manualValue ? 'manual' : 'auto';
    const timeUs = (values.get(this.names.time) ?? NaN) * 100;
    const gain = this.names.gain ? this.controlToGain(values.get(this.names.gain) ?? NaN) : 1;
    if (mode === 'auto' && !this.#reportsAe) return { mode, exposureTimeUs: NaN, gain: NaN, source: 'unknown' };
    return { mode, exposureTimeUs: timeUs, gain, source: 'reported' };
  }
}
