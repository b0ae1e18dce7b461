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
 * periods between the frames' capture timestamps instead keeps the
 * prediction, and the buffer, in camera time.
 */

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
