/**
 * Config source → running FrameSource. The simulated camera (A6) feeds the
 * same frame API through appsrc, so every later stage sees one kind of frame.
 */
import { openCapture, type FrameSource, type PixelFormat, type SlotPool, type TensorOptions } from '../capture/index.js';
import { SimulatedCamera, createCameraControl, type CameraControl } from '../capture/acquisition.js';
import type { SourceConfig } from '../config/index.js';
import type { ExposureInfo } from '../types.js';

export interface OpenedSource {
  source: FrameSource;
  live: boolean;
  /** Exposure a frame was taken with, when the back end reports it exactly (simulated camera). */
  exposure?: (ptsNs: bigint) => ExposureInfo | undefined;
  /** Exposure control of the camera (A6), for the A1–A4 controller; absent for recordings. */
  control?: () => Promise<CameraControl>;
  /** Release what the source owns beyond the FrameSource (the simulated camera's timer). */
  close(): void;
}

/**
 * `pixelSlots`: reusable pixel buffers (CaptureOptions.pixelSlots); the
 * runtime sizes it to its frame ring so frames cost no new memory.
 * `slotPool`: the camera's slots, reused when the source is reopened.
 * `decoderThreads`: CaptureOptions.decoderThreads (config cameras[].decoderThreads).
 * `format`: CaptureOptions.format (config cameras[].pixelFormat).
 */
export function openSource(config: SourceConfig, tensor: TensorOptions, pixelSlots = 0, slotPool?: SlotPool, decoderThreads = 0, format: PixelFormat = 'BGR'): OpenedSource {
  // What every source type's capture shares.
  const common = { tensor, pixelSlots, slotPool, decoderThreads, format };
  switch (config.type) {
    case 'simulated': {
      const cam = new SimulatedCamera({ width: config.width, height: config.height, fps: config.fps, seed: config.seed });
      // The camera renders in real time into an appsrc source that also makes the detector tensor.
      const source = openCapture({ source: { type: 'appsrc', width: cam.width, height: cam.height, framerate: Math.max(1, Math.round(cam.fps)) }, ...common });
      const t0 = process.hrtime.bigint();
      let n = 0;
      let timer: NodeJS.Timeout | undefined;
      const tick = (): void => {
        if (source.closed) return;
        const f = cam.capture();
        source.push(f.pixels, f.ptsNs, cam.periodNs);
        n++;
        const waitMs = Number(t0 + BigInt(n) * cam.periodNs - process.hrtime.bigint()) / 1e6;
        timer = setTimeout(tick, Math.max(0, waitMs));
      };
      tick();
      return {
        source,
        live: true,
        exposure: (pts) => cam.metadataFor(pts)?.exposure,
        control: () => createCameraControl({ type: 'simulated', camera: cam }),
        close: () => {
          clearTimeout(timer);
          source.close();
          cam.close();
        },
      };
    }
    case 'file':
      return wrap(openCapture({ source: { type: 'file', path: config.path, realtime: config.realtime }, ...common }), false);
    case 'rtsp':
      return wrap(openCapture({ source: { type: 'rtsp', url: config.url, latencyMs: config.latencyMs, transport: config.transport }, ...common }), true);
    case 'v4l2': {
      const opened = wrap(
        openCapture({ source: { type: 'v4l2', device: config.device, width: config.width, height: config.height, framerate: config.framerate, controls: config.controls }, ...common }),
        true,
      );
      return { ...opened, control: () => createCameraControl({ type: 'v4l2', device: config.device, maxLinearGain: config.maxLinearGain, reportsAeValues: config.reportsAeValues }) };
    }
    case 'argus': {
      const source = openCapture({ source: { type: 'argus', sensorId: config.sensorId, width: config.width, height: config.height, framerate: config.framerate }, ...common });
      return { ...wrap(source, true), control: () => createCameraControl({ type: 'argus', target: source }) };
    }
    case 'test':
      return wrap(openCapture({ source: { type: 'test', pattern: config.pattern, width: config.width, height: config.height, framerate: config.framerate, live: config.live, numBuffers: config.numBuffers }, ...common }), config.live);
  }
}

function wrap(source: FrameSource, live: boolean): OpenedSource {
  return { source, live, close: () => source.close() };
}
