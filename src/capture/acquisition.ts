/**
 * Acquisition and exposure (SPEC A1–A6): the public face of the simulated
 * camera, camera control back ends, the exposure controller, fixed-rate
 * capture with persistent imageIds, and camera position providers.
 * Re-exported from src/capture/index.ts.
 */
import { ArgusCameraControl, type ArgusControlOptions } from './control/argus.js';
import { SimulatedCameraControl } from './control/simulated.js';
import type { CameraControl } from './control/types.js';
import { V4l2CameraControl, type V4l2ControlOptions } from './control/v4l2.js';
import type { SimulatedCamera } from './sim/camera.js';
import { invalidParameterError } from '../errors.js';

export { SimulatedCamera, type SimulatedCameraOptions, type SimAeOptions, type SimFrame, type SimFrameMeta } from './sim/camera.js';
export {
  defaultObjects,
  laneCenterY,
  SIM_CLASSES,
  COCO_CLASS,
  groundTruthBoxes,
  type SimObjectSpec,
  type SimObjectClass,
  type GroundTruthObject,
} from './sim/scene.js';
export type { CameraControl, CameraCapabilities, ExposureReading, ReadingSource, PropertyTarget, CameraBackend } from './control/types.js';
export { SimulatedCameraControl } from './control/simulated.js';
export { ArgusCameraControl, IMX219_CAPABILITIES, type ArgusControlOptions } from './control/argus.js';
export { V4l2CameraControl, parseV4l2Controls, runV4l2Ctl, type V4l2ControlOptions, type V4l2Ctrl, type V4l2Runner } from './control/v4l2.js';
export {
  manualGain,
  manualSetting,
  isAeSettled,
  meanLuma,
  DEFAULT_MANUAL_PARAMS,
  type ManualExposureParams,
  type ManualSetting,
  type MeterSample,
} from './exposure/rules.js';
export {
  ExposureController,
  type ExposureControllerOptions,
  type ExposureEvent,
  type ExposureStats,
  type ExposureState,
  type MeteredFrame,
} from './exposure/controller.js';
export {
  FixedRateCapture,
  TickGrid,
  StreamGrid,
  capturePeriodNs,
  newGridId,
  framesSkippedBetween,
  realClock,
  type FixedRateCaptureOptions,
  type AcquiredFrame,
  type FixedRateStats,
  type FrameSourceLike,
  type ExposureTagger,
  type CaptureClock,
} from './fixed-rate.js';
export { CameraClock, CLOCK_STEP_TOLERANCE_NS, recordingOrigin, stampCaptured, type CameraClockState, type ClockStep } from './timestamps.js';
export { ImageIdAllocator, validateCameraId, writeFileDurable, type ImageIdOptions } from './image-ids.js';
export type { PositionProvider, PositionState } from './position/types.js';
export { FixedPosition, validatePosition } from './position/fixed.js';
export {
  GpsdPosition,
  parseGpsdTime,
  interpolateFix,
  interpolateHeading,
  type GpsdOptions,
  type GnssFix,
  type GpsdStats,
  type GpsdEvents,
  type NoFixReason,
} from './position/gpsd.js';

export type CameraControlSpec =
  | { type: 'simulated'; camera: SimulatedCamera }
  | ({ type: 'argus' } & ArgusControlOptions)
  | ({ type: 'v4l2' } & V4l2ControlOptions);

/** The camera control back end for a camera kind (A6). */
export async function createCameraControl(spec: CameraControlSpec): Promise<CameraControl> {
  switch (spec?.type) {
    case 'simulated':
      return new SimulatedCameraControl(spec.camera);
    case 'argus':
      return new ArgusCameraControl(spec);
    case 'v4l2':
      return V4l2CameraControl.open(spec);
    default:
      throw invalidParameterError("one of 'simulated', 'argus', 'v4l2'", 'control.type', (spec as { type?: unknown } | undefined)?.type);
  }
}
