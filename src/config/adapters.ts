/**
 * From the config's sections to each stage's constructor options. The shapes
 * are written here structurally (no import of the stages), so loading a
 * config never loads ONNX Runtime or SQLite; test/config/adapters.test.ts
 * checks them against the stages' own option types.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { PolicyOptions } from '../select/policies.js';
import type { CameraConfig, ModelConfig, TrackerParams, QueueConfig, SelectionParamsConfig, UploadConfig } from './types.js';

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
 * to keep trackBuffer in frames as SPEC says.
 */
export function trackerOptions(cam: Pick<CameraConfig, 'tracker'>): TrackerParams & { frameRate: number } {
  return { ...cam.tracker, frameRate: 30 };
}

/** For `createPolicy(policy, options)` (src/select). */
/** The policy options of a camera's selection section: its S1–S5 parameters plus the policies' own knobs. */
export function policyOptions(s: SelectionParamsConfig): PolicyOptions {
  const { policy: _policy, routeResolution, firstSighting, intervalS, maxLatencyS, frigateScoreMargin, frigateAreaGrowth, ...params } = s;
  void _policy;
  return { params, routeResolution, firstSighting, intervalS, maxLatencyS, frigateScoreMargin, frigateAreaGrowth };
}

function readPem(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`upload.${key}`, `Cannot read file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
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
    ...(u.ca !== undefined ? { ca: readPem(u.ca, 'ca') } : {}),
    ...(u.cert !== undefined ? { cert: readPem(u.cert, 'cert') } : {}),
    ...(u.key !== undefined ? { key: readPem(u.key, 'key') } : {}),
    connectTimeoutMs: u.connectTimeoutMs,
    responseTimeoutMs: u.responseTimeoutMs,
  };
}

/** For `new PackageQueue()` (src/upload). */
export function queueOptions(q: QueueConfig): { path: string; maxPackages: number; maxBytes: number; synchronous: 'FULL' | 'NORMAL' } {
  return { path: q.path, maxPackages: q.maxPackages, maxBytes: q.maxBytes, synchronous: q.synchronous === 'full' ? 'FULL' : 'NORMAL' };
}

/** For `new Uploader()` (src/upload), besides sender and queue. */
export function uploaderOptions(u: UploadConfig): { sendHz: number; immediateConcurrency: number } {
  return { sendHz: u.sendHz, immediateConcurrency: u.immediateConcurrency };
}
