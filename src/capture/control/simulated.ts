/**
 * Camera control of the simulated camera: exact. What it sets is applied from
 * the next frame on, read() returns what the camera applies, and every
 * delivered frame's exposure is known from its pts (A6).
 */
import type { ExposureInfo } from '../../types.js';
import type { SimulatedCamera } from '../sim/camera.js';
import type { CameraCapabilities, CameraControl, ExposureReading } from './types.js';

export class SimulatedCameraControl implements CameraControl {
  readonly backend = 'simulated' as const;
  /** A setting shows in the very next frame. */
  readonly applyLatencyFrames = 0;
  readonly #camera: SimulatedCamera;

  constructor(camera: SimulatedCamera) {
    this.#camera = camera;
  }

  capabilities(): CameraCapabilities {
    return this.#camera.caps;
  }

  async setAuto(): Promise<void> {
    this.#camera.setAuto();
  }

  async setManual(exposureTimeUs: number, gain: number): Promise<void> {
    this.#camera.setManual(exposureTimeUs, gain);
  }

  async read(): Promise<ExposureReading> {
    return this.#camera.reading();
  }

  frameExposure(frame: { ptsNs: bigint }): ExposureInfo | undefined {
    return this.#camera.metadataFor(frame.ptsNs)?.exposure;
  }
}
