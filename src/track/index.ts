/** Tracking (T1–T3): ByteTrack with class-group matching and label votes, oriented boxes, track entries, and OC-SORT/BoT-SORT options. */
export { ByteTracker, type TrackerDeps } from './byte-tracker.js';
export {
  type TrackerOptions,
  type ResolvedTrackerOptions,
  type ClassGroups,
  BYTETRACK_OPTIONS,
  DEFAULT_CLASS_GROUPS,
  resolveTrackerOptions,
} from './options.js';
export { type GroupOf, createGroupOf } from './class-groups.js';
export { type IdAllocator, createIdAllocator } from './ids.js';
export { TrackState, type TrackLifecycle } from './track-state.js';
export { solveAssignment, linearAssignment, type AssignmentResult } from './assignment.js';
export { type KalmanLayout, kalmanInitiate, kalmanPredict, kalmanUpdate, denseCovariance } from './kalman.js';
