/** D2: a frame's boxes together with the frame's identity. */
import type { Box, FrameDetections } from '../types.js';

/** The COCO classes of road traffic: a ready-made class filter (D1). */
export const TRAFFIC_CLASSES: readonly string[] = ['person', 'bicycle', 'car', 'motorcycle', 'bus', 'truck'];

/** A frame's identity: everything of D2's frame detections but the boxes. */
export type FrameMeta = Omit<FrameDetections, 'boxes'>;

/** D2: the boxes of one frame plus that frame's imageId, exposure mode, timestamp and camera position. */
export function toFrameDetections(meta: FrameMeta, boxes: Box[]): FrameDetections {
  return {
    cameraId: meta.cameraId,
    imageId: meta.imageId,
    timestampNs: meta.timestampNs,
    exposureMode: meta.exposureMode,
    cameraPosition: meta.cameraPosition,
    width: meta.width,
    height: meta.height,
    boxes,
  };
}
