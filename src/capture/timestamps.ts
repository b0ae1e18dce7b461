/**
 * A5: every frame gets its capture timestamp (wall clock, ns since the epoch),
 * and one camera's timestamps strictly increase for as long as the process
 * runs — across the reopenings of its source (a looping file, a reconnecting
 * stream) and across steps of the wall clock (an NTP correction, a manual
 * `date`). The tracker and the selection policies take frames in time order
 * (select/selector.ts refuses a frame before the previous one), so a
 * timestamp that went back would drop every frame until the clock caught up.
 *
 * A frame the capture stamped (a live camera): its wall-clock capture time,
 * checked against the monotonic clock read at the same instant. When the wall
 * clock disagrees with the time the monotonic clock says elapsed since the
 * previous frame by more than `CLOCK_STEP_TOLERANCE_NS`, the wall clock
 * stepped:
 * - back: timestamps continue from the previous one plus the monotonic time
 *   elapsed, and from then on run that far ahead of the wall clock (until it
 *   steps forward again, or the process restarts);
 * - forward: timestamps follow it (a clock set right, typically NTP's first
 *   sync on a unit without a real-time clock; the order still holds), or, when
 *   they ran ahead since a backward step, come back towards it as far as the
 *   order allows.
 * Each step is reported once; smaller disagreements only keep the order.
 *
 * A recording: the wall clock at the first frame of the camera's first
 * opening plus the stream time (pts) since that frame. A replay runs faster
 * than real time, so each reopening (a loop) starts one capture period after
 * the previous opening's last timestamp, or at the wall clock when that is
 * later (a realtime replay, a reopening after a pause). The wall clock is
 * read only at an opening, so a step during a pass changes nothing.
 */

/**
 * A disagreement between the wall clock and the monotonic clock beyond which
 * the wall clock stepped, ns: 1 s. Both are read at the same instant, and NTP's
 * slewing changes both alike, so they agree to microseconds unless the wall
 * clock was set; a second is well above that, and a smaller step is not worth
 * a warning (the order is kept all the same).
 */
export const CLOCK_STEP_TOLERANCE_NS = 1_000_000_000n;

/** What one camera's timestamps need to remember. */
export interface CameraClockState {
  /** The camera's last timestamp, ns; undefined before its first frame. */
  lastNs?: bigint;
  /** The monotonic capture time of that frame when the capture stamped it, ns. */
  lastMonotonicNs?: bigint;
  /** How far timestamps run ahead of the wall clock since it stepped back, ns (0: none). */
  aheadNs?: bigint;
}

/** A step of the wall clock, as `stampCaptured` found it. */
export interface ClockStep {
  /** The step, ns: negative back, positive forward. */
  stepNs: bigint;
  /** How far timestamps now run ahead of the wall clock, ns (0: they follow it). */
  aheadNs: bigint;
}

/**
 * A5, pure: the timestamp of a frame the capture stamped with the wall clock
 * (`wallNs`, CLOCK_REALTIME) and the monotonic clock (`monotonicNs`) at the
 * same instant, given the camera's state; the new state, and the step of the
 * wall clock when there was one (the rules in this file's comment).
 */
export function stampCaptured(
  state: Readonly<CameraClockState>,
  wallNs: bigint,
  monotonicNs: bigint,
  toleranceNs: bigint = CLOCK_STEP_TOLERANCE_NS,
): { timestampNs: bigint; state: CameraClockState; step?: ClockStep } {
  const { lastNs, lastMonotonicNs } = state;
  let aheadNs = state.aheadNs ?? 0n;
  let ts = wallNs + aheadNs;
  let step: ClockStep | undefined;
  if (lastNs !== undefined && lastMonotonicNs !== undefined) {
    const elapsed = monotonicNs > lastMonotonicNs ? monotonicNs - lastMonotonicNs : 0n;
    const expected = lastNs + elapsed;
    const drift = ts - expected;
    if (drift < -toleranceNs || (drift < 0n && ts <= lastNs)) {
      // Back: continue from the monotonic clock; re-anchored, so the next frames agree again.
      ts = expected;
      aheadNs = ts - wallNs;
      if (drift < -toleranceNs) step = { stepNs: drift, aheadNs };
    } else if (drift > 0n) {
      // Forward: follow the wall clock, or come back towards it as far as the order allows
      // (with timestamps not ahead of it, that is the wall clock itself).
      ts = wallNs > expected ? wallNs : expected;
      aheadNs = ts - wallNs;
      if (drift > toleranceNs) step = { stepNs: drift, aheadNs };
    }
  }
  if (lastNs !== undefined && ts <= lastNs) ts = lastNs + 1n;
  return { timestampNs: ts, state: { lastNs: ts, lastMonotonicNs: monotonicNs, aheadNs }, ...(step ? { step } : {}) };
}

/**
 * A5: the timestamp of a recording's opening's first frame (its origin; the
 * opening's frames are `origin + (pts − first pts)`). The first opening
 * starts at the wall clock; a later one one capture period after the
 * camera's last timestamp, or at the wall clock when that is later.
 */
export function recordingOrigin(state: Readonly<CameraClockState>, wallNowNs: bigint, periodNs: bigint): bigint {
  if (state.lastNs === undefined) return wallNowNs;
  const next = state.lastNs + periodNs;
  return wallNowNs > next ? wallNowNs : next;
}

/**
 * The timestamps of one camera (A5). Owned by whoever outlives the source's
 * reopenings (the service's camera loop) and handed to each CameraRunner.
 */
export class CameraClock {
  #state: CameraClockState = {};
  readonly #onStep: ((step: ClockStep) => void) | undefined;
  readonly #toleranceNs: bigint;

  /** `onStep`: called once per step of the wall clock (to log it). */
  constructor(options: { onStep?: (step: ClockStep) => void; toleranceNs?: bigint } = {}) {
    this.#onStep = options.onStep;
    this.#toleranceNs = options.toleranceNs ?? CLOCK_STEP_TOLERANCE_NS;
  }

  /** The last timestamp given, ns (undefined before the first frame). */
  get lastNs(): bigint | undefined {
    return this.#state.lastNs;
  }

  /** A5: a frame the capture stamped (a live camera, a recording without pts): stampCaptured. */
  captured(frame: { captureRealtimeNs: bigint; captureMonotonicNs: bigint }): bigint {
    const r = stampCaptured(this.#state, frame.captureRealtimeNs, frame.captureMonotonicNs, this.#toleranceNs);
    this.#state = r.state;
    if (r.step) this.#onStep?.(r.step);
    return r.timestampNs;
  }

  /** A5: the origin of a recording's new opening (recordingOrigin). */
  recordingOrigin(periodNs: bigint, wallNowNs: bigint = BigInt(Date.now()) * 1_000_000n): bigint {
    return recordingOrigin(this.#state, wallNowNs, periodNs);
  }

  /** A5: a recording's frame at `timestampNs` (origin + stream time); never at or before the previous one. */
  recorded(timestampNs: bigint): bigint {
    const last = this.#state.lastNs;
    const ts = last !== undefined && timestampNs <= last ? last + 1n : timestampNs;
    // A stream time is no monotonic capture time: a captured frame after it starts a new anchor.
    this.#state = { lastNs: ts, aheadNs: this.#state.aheadNs ?? 0n };
    return ts;
  }
}
