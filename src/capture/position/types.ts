/** Camera position providers (A5 "camera position"; data model `cameraPosition`). */
import type { CameraPosition } from '../../types.js';

/**
 * - 'fixed': a roadside camera's configured position;
 * - 'fix': a GNSS fix is current;
 * - 'no-fix': the receiver reports no fix (mode < 2) or nothing arrived for
 *   `staleAfterMs`; frames get `cameraPosition: null`;
 * - 'connecting': no answer from gpsd yet.
 */
export type PositionState = 'fixed' | 'fix' | 'no-fix' | 'connecting';

export interface PositionProvider {
  readonly state: PositionState;
  /** The camera position at a capture time (wall-clock ns), or null when unknown. */
  positionAt(realtimeNs: bigint): CameraPosition | null;
  close(): void;
}
