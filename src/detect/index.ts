/** Detection (D1–D2): the public face of src/detect. */
export { Detector, type DetectorOptions, type DetectorInput, type RawOutput } from './detector.js';
export { checkModelAgainstManifest, expectedOutputShapes } from './model-check.js';
export { missingProviderLibrary, PROVIDERS, type ExecutionProvider, type TensorRtOptions } from './providers.js';
export { validateManifest, loadManifest, OUTPUT_FORMATS, type ModelManifest, type OutputFormat, type ManifestInput, type ManifestOutput, type ManifestThresholds } from './manifest.js';
export { tensorOptionsFor, computeLetterbox, fitWindow, letterboxTensor, type LetterboxInfo, type PackedImage } from './letterbox.js';
export { decodeYolox, decodeYolov5, decodeYolov8, decodeEnd2End, yoloxAnchorCount, buildMinScore, decodeOutput, toFrameBox, type Candidate, type DecodeOptions } from './decode.js';
export { nms } from './nms.js';
export { checkModelFile, missingModelMessage, resolveModelPath, manifestPathFor, verifyChecksum, sha256Hex, MODELS_DIR, DEFAULT_MANIFEST_PATH } from './model-file.js';
export { toFrameDetections, TRAFFIC_CLASSES, type FrameMeta } from './frame-detections.js';
export { DetectorPool, type DetectorPoolOptions } from './pool.js';
export { annotate, classColor, type AnnotatableImage, type AnnotateOptions } from './annotate.js';
