export { FrameSource, openCapture, describeVideoStreams, type CapturedFrame, type Letterbox, type FrameSourceEvents, type VideoStreams } from './frame-source.js';
export { buildPipeline, gstQuote, CAMERA_ELEMENT, APPSRC_NAME, SlotPool, frameBytes } from './options.js';
export type { CaptureOptions, SourceOptions, TensorOptions, PixelFormat, YuvMatrix, BuiltPipeline } from './options.js';
export { encodeJpeg, jpegSize, type JpegOptions, type RawImage } from './jpeg.js';
export { declaredBytesBeyondFile, recordingCutShort, recordingDuration, recordingDurationSync, recordingRotation, unsupportedFileFormat, type Rotation } from './file-format.js';
export { loadNative, type NativeBinding } from './native.js';
export * from './acquisition.js';
