/** Tracking (T1–T3): ByteTrack with class-aware matching, oriented boxes and track entries. */
export { ByteTracker, type TrackerDeps } from './byte-tracker.js';
export { type TrackerOptions, type ResolvedTrackerOptions, resolveTrackerOptions } from './options.js';
export { type IdAllocator, createIdAllocator } from './ids.js';
export { TrackState, type TrackLifecycle } from './track-state.js';
export { solveAssignment, linearAssignment, type AssignmentResult } from './assignment.js';
export { kalmanInitiate, kalmanPredict, kalmanUpdate, denseCovariance } from './kalman.js';
