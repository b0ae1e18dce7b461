/**
 * The typed, defaults-filled configuration every stage reads. Field names
 * follow SPEC's parameter table exactly; defaults and trade-offs are written
 * once, in the schema (src/config/sections.ts), and rendered into
 * docs/config.md. Paths are absolute after loading; secrets are resolved
 * strings (use `redact()` before printing a config).
 */

import type { PolicyName, PolicyTuning } from '../select/options.js';
import type { SelectionParams } from '../select/rules.js';

import type { ExecutionProvider } from '../detect/providers.js';
import type { ResolvedTrackerOptions } from '../track/options.js';

export type { ExecutionProvider };
export type GraphOptimization = 'disabled' | 'basic' | 'extended' | 'all';

export interface TensorRtConfig {
  /** Directory for serialized TensorRT engines; absent = no engine cache. */
  engineCachePath?: string;
  /** Build FP16 engines (default true). */
  fp16: boolean;
}

export interface ModelConfig {
  /** ONNX model file; resolved at load (models/yolox_nano.onnx, then $BESTSHOT_SHARED_DIR/models/yolox_nano.onnx). */
  path: string;
  /** Model manifest (input size, letterbox, class names); absent = built-in YOLOX manifest. */
  manifest?: string;
  providers: ExecutionProvider[];
  intraOpThreads: number;
  /** Inference workers; 0 = by camera count (1 for one camera, 2 for more). */
  workers: number;
  cpuMemArena: boolean;
  memPattern: boolean;
  /** Infer the frame's part of the letterboxed input only (Detector fitInput). */
  fitInput: boolean;
  interOpThreads: number;
  graphOptimization: GraphOptimization;
  tensorrt: TensorRtConfig;
  /** Class labels kept; detections of other classes are discarded. */
  classes: string[];
  scoreThreshold: number;
  nmsIouThreshold: number;
  /** Per-class score threshold overriding scoreThreshold, keyed by label. */
  perClassScore: Record<string, number>;
}

export type SourceConfig =
  | { type: 'file'; path: string; realtime: boolean; loop: boolean }
  | { type: 'rtsp'; url: string; latencyMs: number; transport: 'tcp' | 'udp' }
  | { type: 'v4l2'; device: string; width?: number; height?: number; framerate?: number; maxLinearGain: number; reportsAeValues: boolean; controls: Record<string, number> }
  | { type: 'argus'; sensorId: number; width: number; height: number; framerate: number }
  | { type: 'test'; pattern: string; width: number; height: number; framerate: number; live: boolean; numBuffers?: number }
  | { type: 'simulated'; seed: number; width: number; height: number; fps: number; scenario: string };

export type SourceType = SourceConfig['type'];

/** A1–A4. */
export interface ExposureConfig {
  /** 'rule' = A1–A4 (AE, then manual at T_manual); 'auto' = AE only; 'fixed' = manual at T_manual, never re-metered. */
  mode: 'rule' | 'auto' | 'fixed';
  /** µs (A2). */
  T_manual: number;
  /** µs (A4). */
  T_manual_max: number;
  /** s (A3). */
  remeterPeriod: number;
  /** s (A3). */
  aeSettle: number;
  /** Frames (A3); when set, replaces aeSettle. */
  aeSettleFrames?: number;
}

export type PositionConfig =
  | { type: 'fixed'; lat: number; lon: number; alt: number; heading: number }
  | { type: 'gpsd'; host: string; port: number; maxAgeS: number }
  | { type: 'none' };

export interface CalibrationConfig {
  intrinsics?: { fx: number; fy: number; cx: number; cy: number };
  /** [k1, k2, p1, p2, k3]. */
  distortion?: number[];
  /** Mount height (m) and angles (degrees). */
  mount?: { height: number; pitch: number; roll: number; yaw: number };
  /** Row-major 3×3 image→ground homography (metres, camera-centred ENU). */
  homography?: number[];
}

/** Cue options (src/track/options.ts, src/track/cues.ts), as the tracker resolves them. */
type TrackerCueParams = Pick<ResolvedTrackerOptions, 'boost' | 'confidenceBoost' | 'heightIou' | 'scoreCue' | 'depthLevels' | 'lostGate' | 'lostMinScore' | 'hitLifetime'>;

/** T2. */
export interface TrackerParams extends TrackerCueParams {
  matchThreshold: number;
  trackBuffer: number;
  trackThresh: number;
  newTrackThresh: number;
  /** Graded new-track rule (src/track/options.ts). */
  tentativeMinHits: number;
  lowThresh: number;
  /** T1. */
  classGroups: 'default' | 'none';
  kalman: 'xywh' | 'xyah';
  duplicateIou: number;
  momentum: number;
  reupdate: boolean;
  recovery: boolean;
  /** NSA Kalman (src/track/options.ts). */
  nsa: boolean;
  lostMatching: 'joint' | 'after' | 'cascade';
}

/** The policy list and the policies' own options are defined once, in src/select/options.ts. */
export type SelectionPolicyName = PolicyName;

/**
 * S1–S5 (the selection rules' own parameters), the policy choice ("Beyond
 * the method") and the policies' own options (each optional: absent = the
 * policy's own default, src/select/options.ts).
 */
export interface SelectionParamsConfig extends SelectionParams, PolicyTuning {
  policy: SelectionPolicyName;
  /** S1 first sighting: first entry offered (default) or the literal entry count. */
  firstSighting: 'first-seen' | 'entry-count';
  /** S4/S5 when several objects select one frame. */
  routeResolution: 'any-immediate' | 'first';
}

export interface CameraConfig {
  id: string;
  source: SourceConfig;
  captureHz: number;
  exposure: ExposureConfig;
  position: PositionConfig;
  calibration?: CalibrationConfig;
  tracker: TrackerParams;
  selection: SelectionParamsConfig;
  jpegQuality: number;
  /** Seconds of frames kept unreferenced in the frame ring (with captureHz: the ring and pixel-slot count). */
  ringSeconds: number;
  /** Software decoder threads (CaptureOptions.decoderThreads); 0 = the decoder's choice. */
  decoderThreads: number;
  /** How a frame the policy holds is kept past ringSeconds (CameraRunnerOptions.heldFrames). */
  heldFrames: 'jpeg' | 'pixels';
  /** Format of the frames kept (CaptureOptions.format): 'i420' or 'bgr'. */
  pixelFormat: 'i420' | 'bgr';
}

/** What `defaults:` may hold; every camera inherits it (deep merge) and may override. */
export interface CameraDefaults {
  captureHz?: number;
  exposure?: Partial<ExposureConfig>;
  tracker?: Partial<TrackerParams>;
  selection?: Partial<SelectionParamsConfig>;
  jpegQuality?: number;
  ringSeconds?: number;
  heldFrames?: 'jpeg' | 'pixels';
  pixelFormat?: 'i420' | 'bgr';
}

export interface UploadConfig {
  /** Receiver URL; absent only when receiver.embedded (the runtime fills it in). */
  endpoint?: string;
  /** Bearer token, resolved from a literal, { env } or { file }. Never log it. */
  token?: string;
  ca?: string;
  cert?: string;
  key?: string;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  immediateConcurrency: number;
  /** U2. */
  sendHz: number;
  /** Seconds to wait for the queue to deliver once every source ended. */
  drainTimeoutS: number;
  /** How packages leave (default http). */
  sink: SinkConfig;
  /** What a package carries (src/upload/content.ts). */
  content: 'frame' | 'crops' | 'frame+crops';
  cropJpegQuality: number;
  contextJpegQuality: number;
  /** px; 0 = the frame's width. */
  contextMaxWidth: number;
  /** Crop margin, fraction of the box size per side. */
  cropMargin: number;
}

export interface S3SinkConfig {
  bucket: string;
  prefix?: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  sidecar: boolean;
  verifyEtag: boolean;
  requestTimeoutMs: number;
  multipartThresholdBytes: number;
  partSizeBytes: number;
}

export interface MqttSinkConfig {
  url: string;
  topic: string;
  site: string;
  clientId?: string;
  username?: string;
  password?: string;
  ca?: string;
  cert?: string;
  key?: string;
  keepaliveS: number;
  ackTimeoutMs: number;
  requireSubscriber: boolean;
  inlineImageMaxBytes: number;
}

export type SinkConfig =
  | { type: 'http' }
  | ({ type: 's3' } & S3SinkConfig)
  | ({ type: 'mqtt' } & MqttSinkConfig)
  | { type: 's3+mqtt'; s3: S3SinkConfig; mqtt: MqttSinkConfig };

export interface QueueConfig {
  path: string;
  maxPackages: number;
  maxBytes: number;
  synchronous: 'full' | 'normal';
}

export interface ReceiverConfig {
  embedded: boolean;
  port: number;
  dir: string;
}

export interface MetricsConfig {
  enabled: boolean;
  /** 0 = ephemeral. */
  port: number;
  host: string;
}

export type LogLevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface LogConfig {
  level: LogLevelName;
  format: 'json' | 'pretty' | 'auto';
}

export interface ReportConfig {
  dir?: string;
  /** Images the run report keeps (the newest). */
  maxImages: number;
}

export interface BestshotConfig {
  version: number;
  model: ModelConfig;
  defaults: CameraDefaults;
  cameras: CameraConfig[];
  upload: UploadConfig;
  queue: QueueConfig;
  receiver: ReceiverConfig;
  metrics: MetricsConfig;
  log: LogConfig;
  stateDir: string;
  report: ReportConfig;
}
