/**
 * From the config's sections to each stage's constructor options. The shapes
 * are written here structurally (no import of the stages), so loading a
 * config never loads ONNX Runtime or SQLite; test/config/adapters.test.ts
 * checks them against the stages' own option types.
 */
import { ConfigError } from '../errors.js';
import { readTlsFiles, type TlsFilePaths } from '../tls-files.js';
import { CROP_BYTES_PER_PIXEL, POLICY_OPTION_NAMES } from '../select/options.js';
import type { PolicyOptions } from '../select/policies/index.js';
import { SELECTION_PARAM_NAMES, type SelectionParams } from '../select/rules.js';
import type { CameraConfig, ModelConfig, MqttSinkConfig, S3SinkConfig, TrackerParams, QueueConfig, SelectionParamsConfig, UploadConfig } from './types.js';

/** For `Detector.create()` (src/detect). */
export function detectorOptions(m: ModelConfig): {
  model: string;
  manifest?: string;
  /** Absent when the config keeps the default list (see detectorOptions). */
  providers?: Array<'tensorrt' | 'cuda' | 'cpu'>;
  intraOpNumThreads: number;
  interOpNumThreads: number;
  enableCpuMemArena: boolean;
  enableMemPattern: boolean;
  fitInput: boolean;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  tensorrt: { engineCachePath?: string; fp16: boolean };
  scoreThreshold: number;
  nmsThreshold: number;
  classes: string[];
  classThresholds: Record<string, number>;
} {
  return {
    model: m.path,
    ...(m.manifest !== undefined ? { manifest: m.manifest } : {}),
    // The default list is left to the detector (quiet fallback to CPU); a list the user changed warns per fallback.
    ...(m.providers.join() === 'tensorrt,cuda,cpu' ? {} : { providers: [...m.providers] }),
    intraOpNumThreads: m.intraOpThreads,
    interOpNumThreads: m.interOpThreads,
    enableCpuMemArena: m.cpuMemArena,
    enableMemPattern: m.memPattern,
    fitInput: m.fitInput,
    graphOptimizationLevel: m.graphOptimization,
    tensorrt: { ...(m.tensorrt.engineCachePath !== undefined ? { engineCachePath: m.tensorrt.engineCachePath } : {}), fp16: m.tensorrt.fp16 },
    scoreThreshold: m.scoreThreshold,
    nmsThreshold: m.nmsIouThreshold,
    classes: [...m.classes],
    classThresholds: { ...m.perClassScore },
  };
}

/**
 * For `new ByteTracker()` (src/track). SPEC T2 counts trackBuffer in frames;
 * ByteTrack scales its buffer by frameRate / 30, so frameRate is given as 30
 * to keep trackBuffer in frames as SPEC says. The frames are A5's, on the
 * captureHz grid: framePeriodNs (capturePeriodNs's 1e9 / captureHz, rounded)
 * lets the tracker count the frames dropped between two it is given
 * (src/track/frame-steps.ts), so the prediction and the buffer keep time.
 */
export function trackerOptions(cam: Pick<CameraConfig, 'tracker' | 'captureHz'>): TrackerParams & { frameRate: number; framePeriodNs: number } {
  return { ...cam.tracker, frameRate: 30, framePeriodNs: Math.round(1e9 / cam.captureHz) };
}

/**
 * For `createPolicy(policy, options)` (src/select): the S1–S5 parameters,
 * the S4/S5 resolution, the first-sighting rule and every policy option the
 * config sets (derived from src/select/options.ts, so none is dropped; an
 * option the config leaves absent stays absent and the policy's own default
 * applies).
 */
export function policyOptions(s: SelectionParamsConfig, content?: UploadConfig['content']): PolicyOptions {
  const params: Partial<SelectionParams> = {};
  for (const k of SELECTION_PARAM_NAMES) if (s[k] !== undefined) params[k] = s[k];
  const out: PolicyOptions = { params, routeResolution: s.routeResolution, firstSighting: s.firstSighting };
  for (const k of POLICY_OPTION_NAMES) if (s[k] !== undefined) out[k] = s[k];
  // 'budget' pays for what the camera sends: with upload.content 'crops' its packages cost their crops, not the frame.
  if (content === 'crops' && out.budgetCropBytesPerPixel === undefined) out.budgetCropBytesPerPixel = CROP_BYTES_PER_PIXEL;
  return out;
}

/**
 * The PEM files of one TLS client (`at`: the keys' prefix under upload), read
 * and checked (src/tls-files.ts): a CA file without a certificate or a key
 * that is not the certificate's is a config error, for `bestshot run` at
 * start and for check-config (the OTA self-check), instead of every send
 * failing for ever while the config looks fine.
 */
function tlsFiles(at: string, paths: TlsFilePaths): { ca?: string; cert?: string; key?: string } {
  return readTlsFiles(paths, ({ which, message }) => {
    throw new ConfigError(`upload.${at === '' ? which : `${at}.${which}`}`, message);
  });
}

/** The TLS files `bestshot run` reads for the configured sink: upload.ca/cert/key (http) or the broker's (mqtt). */
function tlsFilesOf(u: UploadConfig): Array<{ at: string; paths: TlsFilePaths }> {
  const sink = u.sink ?? { type: 'http' as const };
  if (sink.type === 'http') return [{ at: '', paths: u }];
  if (sink.type === 'mqtt') return [{ at: 'sink', paths: sink }];
  if (sink.type === 's3+mqtt') return [{ at: 'sink.mqtt', paths: sink.mqtt }];
  return [];
}

/**
 * Every problem with the TLS files of the configured sink (unreadable, not
 * PEM of the right kind, a key that is not the certificate's), for
 * check-config; `bestshot run` stops at the first (ConfigError, exit 1).
 */
export function tlsFileProblems(u: UploadConfig): Array<{ key: string; problem: string }> {
  const out: Array<{ key: string; problem: string }> = [];
  for (const { at, paths } of tlsFilesOf(u)) {
    try {
      tlsFiles(at, paths);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      out.push({ key: err.path, problem: err.message.slice(err.path.length + 2) });
    }
  }
  return out;
}

/**
 * For `new HttpSender()` (src/upload): reads the PEM files named by
 * upload.ca/cert/key. `endpoint` overrides upload.endpoint (the embedded
 * receiver's URL).
 */
export function senderOptions(
  u: UploadConfig,
  endpoint: string | undefined = u.endpoint,
): { url: string; token?: string; ca?: string; cert?: string; key?: string; connectTimeoutMs: number; responseTimeoutMs: number } {
  if (endpoint === undefined) throw new ConfigError('upload.endpoint', 'Missing required key; expected http or https URL');
  return {
    url: endpoint,
    ...(u.token !== undefined ? { token: u.token } : {}),
    ...tlsFiles('', u),
    connectTimeoutMs: u.connectTimeoutMs,
    responseTimeoutMs: u.responseTimeoutMs,
  };
}

// The sink options are the config section plus the transport-wide connect timeout.
type S3SinkShape = S3SinkConfig & { connectTimeoutMs: number };
type MqttSinkShape = MqttSinkConfig & { connectTimeoutMs: number };

function s3Sink(s: S3SinkConfig, connectTimeoutMs: number): S3SinkShape {
  return { ...s, connectTimeoutMs };
}

function mqttSink(m: MqttSinkConfig, connectTimeoutMs: number, at: string): MqttSinkShape {
  const { ca, cert, key, ...rest } = m;
  return { ...rest, connectTimeoutMs, ...tlsFiles(at, { ca, cert, key }) };
}

/**
 * For `createSink()` (src/upload/sinks): upload.sink with its PEM files read.
 * 'http' is the HttpSender's options (senderOptions); the others take
 * upload.connectTimeoutMs for their connections.
 */
export function sinkOptions(
  u: UploadConfig,
  endpoint: string | undefined = u.endpoint,
):
  | ({ type: 'http' } & ReturnType<typeof senderOptions>)
  | ({ type: 's3' } & S3SinkShape)
  | ({ type: 'mqtt' } & MqttSinkShape)
  | { type: 's3+mqtt'; s3: S3SinkShape; mqtt: MqttSinkShape } {
  const sink = u.sink ?? { type: 'http' };
  switch (sink.type) {
    case 'http':
      return { type: 'http', ...senderOptions(u, endpoint) };
    case 's3': {
      const { type: _t, ...s } = sink;
      return { type: 's3', ...s3Sink(s, u.connectTimeoutMs) };
    }
    case 'mqtt': {
      const { type: _t, ...m } = sink;
      return { type: 'mqtt', ...mqttSink(m, u.connectTimeoutMs, 'sink') };
    }
    case 's3+mqtt':
      return { type: 's3+mqtt', s3: s3Sink(sink.s3, u.connectTimeoutMs), mqtt: mqttSink(sink.mqtt, u.connectTimeoutMs, 'sink.mqtt') };
  }
}

/** For `new PackageQueue()` (src/upload). */
export function queueOptions(q: QueueConfig): { path: string; maxPackages: number; maxBytes: number; synchronous: 'FULL' | 'NORMAL' } {
  return { path: q.path, maxPackages: q.maxPackages, maxBytes: q.maxBytes, synchronous: q.synchronous === 'full' ? 'FULL' : 'NORMAL' };
}

/** For `new Uploader()` (src/upload), besides sender and queue. */
export function uploaderOptions(u: UploadConfig): { sendHz: number; immediateConcurrency: number } {
  return { sendHz: u.sendHz, immediateConcurrency: u.immediateConcurrency };
}
