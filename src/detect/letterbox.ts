/**
 * The letterbox contract between capture and detection: capture builds the
 * tensor the manifest asks for; detection maps boxes back to frame pixels.
 */
import type { TensorOptions } from '../capture/index.js';
import type { ModelManifest } from './manifest.js';

/** How a frame was placed into the model input: input = frame × ratio + pad. */
export interface LetterboxInfo {
  /** Tensor pixels per frame pixel. */
  ratio: number;
  padX: number;
  padY: number;
}

/** Capture options that produce exactly the input this manifest's model expects. */
export function tensorOptionsFor(manifest: ModelManifest): TensorOptions {
  const i = manifest.input;
  return {
    width: i.width,
    height: i.height,
    channelOrder: i.channelOrder,
    placement: i.placement,
    padValue: i.padValue,
    scale: i.scale,
  };
}

/**
 * The letterbox a frame of `frameWidth`×`frameHeight` gets in a model input of
 * `inputWidth`×`inputHeight` (same arithmetic as the native letterbox: scale to
 * fit, keep aspect; padding on the right/bottom for 'topleft', split for 'center').
 */
export function computeLetterbox(
  frameWidth: number,
  frameHeight: number,
  inputWidth: number,
  inputHeight: number,
  placement: 'topleft' | 'center',
): LetterboxInfo {
  const ratio = Math.min(inputWidth / frameWidth, inputHeight / frameHeight);
  if (placement === 'topleft') return { ratio, padX: 0, padY: 0 };
  const sw = Math.round(frameWidth * ratio);
  const sh = Math.round(frameHeight * ratio);
  return { ratio, padX: Math.floor((inputWidth - sw) / 2), padY: Math.floor((inputHeight - sh) / 2) };
}
