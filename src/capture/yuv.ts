/**
 * Y'CbCr → R'G'B' for the 8-bit I420 frames the capture hands over
 * (capture/options.ts PixelFormat 'I420'), in the ITU-R BT.601/709 form the
 * addon's letterbox uses too (native/letterbox.cc): a frame's matrix comes
 * from its caps' colorimetry (Kr, Kb; limited or full range).
 */

/** How a frame's Y'CbCr maps to R'G'B' (BT.601: kr 0.299, kb 0.114; BT.709: 0.2126, 0.0722). */
export interface YuvMatrix {
  kr: number;
  kb: number;
  /** Y spans 0..255 (true) or 16..235 (false, video's usual limited range). */
  fullRange: boolean;
  /** GStreamer's name of the colorimetry ('bt601', 'bt709', or 'range:matrix:transfer:primaries'); the JPEG encoder converts with it. */
  colorimetry?: string;
  /** GStreamer's name of the chroma siting ('mpeg2': on even columns, H.264's default; 'jpeg': between). */
  chromaSite?: string;
}

/** GStreamer's default for standard-definition video, and ours where a frame says nothing. */
export const BT601_LIMITED: YuvMatrix = { kr: 0.299, kb: 0.114, fullRange: false };

/** R' = yGain(Y − yOffset) + rV·V', G' = … − gU·U' − gV·V', B' = … + bU·U', with U' = U − 128, V' = V − 128. */
export interface YuvCoefficients {
  yOffset: number;
  yGain: number;
  rV: number;
  gU: number;
  gV: number;
  bU: number;
}

export function yuvCoefficients(m: YuvMatrix = BT601_LIMITED): YuvCoefficients {
  const kg = 1 - m.kr - m.kb;
  const c = m.fullRange ? 1 : 255 / 224;
  return {
    yOffset: m.fullRange ? 0 : 16,
    yGain: m.fullRange ? 1 : 255 / 219,
    rV: c * 2 * (1 - m.kr),
    bU: c * 2 * (1 - m.kb),
    gU: (c * 2 * m.kb * (1 - m.kb)) / kg,
    gV: (c * 2 * m.kr * (1 - m.kr)) / kg,
  };
}
