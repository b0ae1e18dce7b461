/**
 * A5: what a camera whose frames come slower than captureHz is told, once
 * (service.ts, the camera runner's 'rate' event). Three cases, three fixes:
 * a recording recorded at a lower rate (nothing to fix), a live camera that
 * sends enough while the capture loop, running late, takes fewer (the unit
 * is short of CPU: raising the camera's frame rate would only add work), and
 * a live camera that sends too few (raise its frame rate or lower captureHz).
 */
export interface SlowSource {
  /** The recording's path; undefined for a live camera. */
  recording?: string;
  /** Frames taken per second over the window. */
  hz: number;
  /** Frames the camera sent per second (taken + let go between two reads); undefined before it is measured. */
  sentHz?: number;
  captureHz: number;
  /**
   * The tracker's lost-track buffer in capture periods (T2: trackBuffer
   * periods of 1/captureHz). When it lasts less than two of the source's
   * frames, the warning says so: each missed detection then ends a track.
   */
  lostBufferPeriods?: number;
}

export function slowSourceWarning(source: SlowSource): string {
  return rateAdvice(source) + shortBufferClause(source);
}

function rateAdvice({ recording, hz, sentHz, captureHz }: SlowSource): string {
  if (recording !== undefined) {
    return `recording ${recording} has ${hz.toFixed(1)} frames/s, fewer than captureHz ${captureHz}: each of its frames is analysed, but objects are seen less often than configured`;
  }
  if (sentHz !== undefined && sentHz >= 0.9 * captureHz) {
    return `camera sends ${sentHz.toFixed(1)} frames/s, but only ${hz.toFixed(1)} a second were taken, fewer than captureHz ${captureHz}: the unit is short of CPU, not the camera; lower captureHz, the number of cameras or their resolution, or use a smaller model`;
  }
  return `camera delivers ${hz.toFixed(1)} frames/s, fewer than captureHz ${captureHz}: each frame it sends is analysed, but objects are seen less often than configured; raise the camera's frame rate or lower captureHz`;
}

/**
 * T2 counts a lost track's time in capture periods, so a captureHz far above
 * the frames that come (a 24 fps recording at captureHz 1000: 30 periods are
 * 30 ms) ends a track at its first missed detection, and the selection sends
 * its object again under the new track (a package for every second frame
 * in the pipeline benchmark, against one for every 13 at captureHz 24).
 */
function shortBufferClause({ hz, captureHz, lostBufferPeriods }: SlowSource): string {
  if (lostBufferPeriods === undefined || !(hz > 0)) return '';
  const bufferS = lostBufferPeriods / captureHz;
  if (bufferS >= 2 / hz) return '';
  return `; the tracker keeps a lost track for ${lostBufferPeriods} capture periods (T2), ${(bufferS * 1000).toFixed(0)} ms, less than two of these frames, so every missed detection ends a track and its object is sent again: set captureHz to at most ${hz.toFixed(1)}`;
}
