/**
 * A5: every frame gets its capture timestamp (wall clock, ns since the epoch),
 * and one camera's timestamps strictly increase for as long as the process
 * runs — across the reopenings of its source (a looping file, a reconnecting
 * stream) and across steps of the wall clock. The tracker and the selection
 * policies take frames in time order (select/selector.ts refuses a frame
 * before the previous one), so a timestamp that went back would drop every
 * frame until the clock caught up.
 *
 * A recording: the wall clock at the first frame of the camera's first
 * opening plus the stream time (pts) since that frame. A replay runs faster
 * than real time, so each reopening (a loop) starts one capture period after
 * the previous opening's last timestamp, or at the wall clock when that is
 * later (a realtime replay, a reopening after a pause). The wall clock is
 * read only at an opening.
 */

/** What one camera's timestamps need to remember. */
export interface CameraClockState {
  /** The camera's last timestamp, ns; undefined before its first frame. */
  lastNs?: bigint;
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

  /** The last timestamp given, ns (undefined before the first frame). */
  get lastNs(): bigint | undefined {
    return this.#state.lastNs;
  }

  /** A5: the origin of a recording's new opening (recordingOrigin). */
  recordingOrigin(periodNs: bigint, wallNowNs: bigint = BigInt(Date.now()) * 1_000_000n): bigint {
    return recordingOrigin(this.#state, wallNowNs, periodNs);
  }

  /** A5: a recording's frame at `timestampNs` (origin + stream time); never at or before the previous one. */
  recorded(timestampNs: bigint): bigint {
    const last = this.#state.lastNs;
    const ts = last !== undefined && timestampNs <= last ? last + 1n : timestampNs;
    this.#state = { lastNs: ts };
    return ts;
  }
}
