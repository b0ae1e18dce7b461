/** Pixel to world (W1): camera model, ground homography, WGS84. */
export { type Calibration, type Projector, type GroundMapper, createProjector, createGroundMapper } from './projector.js';
export {
  type Intrinsics,
  type Distortion,
  type Mount,
  undistortPoint,
  distortPoint,
  cameraAxes,
  rayToGround,
  groundContactPoint,
} from './camera.js';
export { type PointPair, type Homography, fitGroundHomography, applyHomography } from './homography.js';
export { type Geodetic, geodeticToEcef, ecefToGeodetic, enuToGeodetic, geodeticToEnu, WGS84_A, WGS84_E2, WGS84_F } from './wgs84.js';
