/**
 * How many frame periods one update() covers (SPEC A5, T2).
 *
 * A5 takes frames on a fixed captureHz grid; T2's Kalman filter predicts each
 * track "for the current frame", one constant-velocity step per frame period,
 * and keeps lost tracks for `trackBuffer` frames. A unit that drops frames
 * (overloaded detector, a recording with frames missing) hands the tracker a
 * frame two or three periods after the last one: counting update() calls,
 * the prediction under-shoots by the missing periods, IoU matches fail and
 * one object becomes several tracks (each costs an upload, S6). Counting the
 * periods between the frames keeps the prediction, and the buffer, in
 * camera time: the frame counter (buffer, ages) by the capture grid's ticks
 * where both frames carry one (framePeriodsSince), the prediction by the
 * timestamps (framePeriodsBetween), the time the object moved in.
 */
import type { GridTick } from '../types.js';

/**
 * Frame periods from the previous frame's timestamp to this one's: the gap
 * divided by the period, rounded (a recording's frames sit on the captureHz
 * grid only to within a period: 120 ms then 80 ms at 25 fps taken at 10 Hz is
 * one period each), at least 1 (a first frame, a repeated or backward
 * timestamp is one step, as every update() was before). `periodNs` 0 turns
 * the rule off: every frame is one period.
 */
export function framePeriodsBetween(previousNs: bigint | undefined, timestampNs: bigint, periodNs: number): number {
  if (periodNs <= 0 || previousNs === undefined || timestampNs <= previousNs) return 1;
  return Math.max(1, Math.round(Number(timestampNs - previousNs) / periodNs));
}

/**
 * Ticks of the captureHz grid from the previous frame's to this one's (A5):
 * the frame periods between them as the grid counted them, or 0 when the
 * ticks cannot say (either frame carries none, they are of different grids —
 * a camera reopened starts a new one — or the index did not increase).
 *
 * Why not the timestamps: A5 takes "the first frame at or after each tick",
 * so a source whose frame period S is more than half the capture period P
 * has gaps between taken frames of S or 2S with no tick missed (12.5 fps at
 * 10 Hz: 80 and 160 ms, and 160 ms rounds to two periods), while a missed
 * tick can leave the same 160 ms gap. The tick index tells them apart.
 */
export function gridTicksBetween(previous: GridTick | undefined, current: GridTick | undefined): number {
  if (previous === undefined || current === undefined || previous.grid !== current.grid) return 0;
  return current.index > previous.index ? current.index - previous.index : 0;
}

/**
 * T2/A5: the frames one update() advances the frame counter by: the grid's tick difference
 * when it tells (gridTicksBetween), else the rounded timestamp gap
 * (framePeriodsBetween: frames without ticks, the first frame of a new grid).
 * `periodNs` 0 turns counting off: every frame is one period, ticks or not.
 */
export function framePeriodsSince(
  previousTick: GridTick | undefined,
  tick: GridTick | undefined,
  previousNs: bigint | undefined,
  timestampNs: bigint,
  periodNs: number,
): number {
  if (periodNs <= 0) return 1;
  const ticks = gridTicksBetween(previousTick, tick);
  return ticks > 0 ? ticks : framePeriodsBetween(previousNs, timestampNs, periodNs);
}
