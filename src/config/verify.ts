/**
 * Cross-field checks, one named pure function each (STYLE 5). Each returns
 * findings (errors or warnings) located by key path; the loader collects them.
 */
import { posix } from 'node:path';
import { describeValue } from '../errors.js';
import { POLICY_OPTIONS, POLICY_OPTION_NAMES, optionsOf } from '../select/options.js';
import type {
  BestshotConfig,
  CalibrationConfig,
  CameraConfig,
  ExposureConfig,
  ModelConfig,
  SelectionParamsConfig,
  TrackerParams,
  UploadConfig,
} from './types.js';

export interface Finding {
  level: 'error' | 'warning';
  segments: Array<string | number>;
  message: string;
}

type Segs = Array<string | number>;

const error = (segments: Segs, message: string): Finding => ({ level: 'error', segments, message });
const warning = (segments: Segs, message: string): Finding => ({ level: 'warning', segments, message });

/** Camera ids name idempotency keys (U3) and state files: they must be unique. */
export function verifyUniqueCameraIds(cameras: ReadonlyArray<Pick<CameraConfig, 'id'>>, segs: Segs = ['cameras']): Finding[] {
  const first = new Map<string, number>();
  const out: Finding[] = [];
  cameras.forEach((cam, i) => {
    const prev = first.get(cam.id);
    if (prev !== undefined) out.push(error([...segs, i, 'id'], `Duplicate camera id '${cam.id}' (also cameras[${prev}].id)`));
    else first.set(cam.id, i);
  });
  return out;
}

/**
 * A camera device is opened by one pipeline: a second camera on the same
 * V4L2 device (or Argus sensor) fails every open with 'Device is busy' and
 * `bestshot run` retried it for ever, while check-config said OK. Paths are
 * compared as written (normalised); a symlink to the same device is not
 * resolved here (config checks read no file system).
 */
export function verifyUniqueCameraDevices(cameras: ReadonlyArray<Pick<CameraConfig, 'source'>>, segs: Segs = ['cameras']): Finding[] {
  const first = new Map<string, number>();
  const out: Finding[] = [];
  cameras.forEach((cam, i) => {
    const src = cam.source;
    let key: string;
    let what: string;
    let field: string;
    if (src.type === 'v4l2') {
      key = `v4l2:${posix.normalize(src.device)}`;
      what = `V4L2 device ${src.device}`;
      field = 'device';
    } else if (src.type === 'argus') {
      key = `argus:${src.sensorId}`;
      what = `Argus sensor ${src.sensorId}`;
      field = 'sensorId';
    } else {
      return;
    }
    const prev = first.get(key);
    if (prev === undefined) {
      first.set(key, i);
      return;
    }
    out.push(
      error(
        [...segs, i, 'source', field],
        `${what} is also cameras[${prev}]'s: a camera device delivers to one pipeline (a second open fails with 'Device is busy'); give each camera its own`,
      ),
    );
  });
  return out;
}

/** A2/A4: T_manual ≤ T_manual_max; A3: AE must settle well within a re-metering period. */
export function verifyExposure(e: ExposureConfig, segs: Segs): Finding[] {
  const out: Finding[] = [];
  if (e.T_manual > e.T_manual_max) {
    out.push(error([...segs, 'T_manual'], `Expected number <= T_manual_max (${e.T_manual_max}) but received ${describeValue(e.T_manual)}`));
  }
  // aeSettleFrames, when set, replaces aeSettle (A3): the seconds are then not waited.
  if (e.mode === 'rule' && e.aeSettleFrames === undefined && e.aeSettle >= e.remeterPeriod) {
    out.push(error([...segs, 'aeSettle'], `Expected number < remeterPeriod (${e.remeterPeriod}) but received ${describeValue(e.aeSettle)}`));
  }
  return out;
}

/** S1/S5: "normally minScore2 > minScore1" — a warning, not an error. */
export function verifyScoreOrder(s: Pick<SelectionParamsConfig, 'minScore1' | 'minScore2'>, segs: Segs): Finding[] {
  if (s.minScore2 > s.minScore1) return [];
  return [
    warning(
      [...segs, 'minScore2'],
      `minScore2 (${s.minScore2}) is not greater than minScore1 (${s.minScore1}); SPEC S5 normally has minScore2 > minScore1, so every qualifying image is sent immediately`,
    ),
  ];
}

/** S2/S5: "normally minEdge2 > minEdge1" — a warning. */
export function verifyEdgeOrder(s: Pick<SelectionParamsConfig, 'minEdge1' | 'minEdge2'>, segs: Segs): Finding[] {
  if (s.minEdge2 > s.minEdge1) return [];
  return [
    warning([...segs, 'minEdge2'], `minEdge2 (${s.minEdge2}) is not greater than minEdge1 (${s.minEdge1}); SPEC S5 normally has minEdge2 > minEdge1`),
  ];
}

/** T2: the two-stage association needs lowThresh ≤ trackThresh; new tracks normally need at least trackThresh. */
export function verifyTrackerThresholds(t: TrackerParams, segs: Segs): Finding[] {
  const out: Finding[] = [];
  if (t.lowThresh > t.trackThresh) {
    out.push(error([...segs, 'lowThresh'], `Expected number <= trackThresh (${t.trackThresh}) but received ${describeValue(t.lowThresh)}`));
  }
  if (t.newTrackThresh < t.trackThresh) {
    out.push(
      warning(
        [...segs, 'newTrackThresh'],
        `newTrackThresh (${t.newTrackThresh}) is below trackThresh (${t.trackThresh}); low-score detections will start tracks`,
      ),
    );
  }
  // The lost-track gate is a height ratio (src/track/cues.ts gateLost): 0 turns it off, else at least 1.
  if (t.lostGate !== undefined && t.lostGate > 0 && t.lostGate < 1) {
    out.push(error([...segs, 'lostGate'], `Expected 0 (off) or a height ratio of at least 1 but received ${describeValue(t.lostGate)}`));
  }
  return out;
}

/** W1: either intrinsics with a mount, or a homography; distortion needs intrinsics. */
export function verifyCalibration(c: CalibrationConfig, segs: Segs): Finding[] {
  const out: Finding[] = [];
  if (c.intrinsics && !c.mount) out.push(error([...segs, 'mount'], 'Missing required key; intrinsics need a mount (height, pitch, roll, yaw)'));
  if (c.mount && !c.intrinsics && !c.homography) out.push(error([...segs, 'intrinsics'], 'Missing required key; a mount needs intrinsics'));
  if (c.distortion && !c.intrinsics) out.push(error([...segs, 'distortion'], 'distortion needs intrinsics'));
  if (!c.intrinsics && !c.homography) out.push(error(segs, 'Expected intrinsics with mount, or homography'));
  return out;
}

/**
 * A policy option is read only by the policies its reference names
 * (src/select/options.ts): `maxLatencyS` under policy 'spec', or a budget under
 * 'shared-best', loaded without a word and did nothing — the camera ran
 * another policy than the operator tuned.
 */
export function verifyPolicyOptions(s: SelectionParamsConfig, segs: Segs): Finding[] {
  const reads = new Set<string>(optionsOf(s.policy));
  return POLICY_OPTION_NAMES.filter((n) => s[n] !== undefined && !reads.has(n)).map((n) =>
    warning(
      [...segs, n],
      `read only by ${POLICY_OPTIONS[n].policies.length > 1 ? 'policies' : 'policy'} ${POLICY_OPTIONS[n].policies.map((p) => `'${p}'`).join(', ')}; policy '${s.policy}' ignores it`,
    ),
  );
}

/**
 * A2/A4 against the sensor's frame period: a manual exposure longer than one
 * frame cannot be taken at the configured frame rate; the rule then exposed
 * for AE's time instead, said only as a 'clamp' line at run time. Cameras the
 * rule drives (mode 'rule' or 'fixed') with a known sensor rate.
 */
export function verifyExposureFitsFrame(cam: CameraConfig, segs: Segs): Finding[] {
  if (cam.exposure.mode === 'auto') return [];
  const src = cam.source;
  const fps = src.type === 'simulated' ? src.fps : src.type === 'argus' ? src.framerate : src.type === 'v4l2' ? src.framerate : undefined;
  if (fps === undefined) return [];
  const periodUs = 1e6 / fps;
  const key = src.type === 'simulated' ? 'fps' : 'framerate';
  return (['T_manual', 'T_manual_max'] as const)
    .filter((k) => cam.exposure[k] > periodUs)
    .map((k) =>
      warning(
        [...segs, 'exposure', k],
        `${cam.exposure[k]} µs is longer than one frame at the sensor's ${fps} fps (${Math.round(periodUs)} µs, source.${key}): the camera cannot expose that long at this rate; shorten it or lower source.${key}`,
      ),
    );
}

/** Every camera's cross-field checks. */
export function verifyCamera(cam: CameraConfig, segs: Segs): Finding[] {
  return [
    ...verifyExposure(cam.exposure, [...segs, 'exposure']),
    ...verifyExposureFitsFrame(cam, segs),
    ...verifyTrackerThresholds(cam.tracker, [...segs, 'tracker']),
    ...verifyScoreOrder(cam.selection, [...segs, 'selection']),
    ...verifyEdgeOrder(cam.selection, [...segs, 'selection']),
    ...verifyPolicyOptions(cam.selection, [...segs, 'selection']),
    ...(cam.calibration ? verifyCalibration(cam.calibration, [...segs, 'calibration']) : []),
  ];
}

/** perClassScore keys must be labels the model keeps. */
export function verifyPerClassScore(m: Pick<ModelConfig, 'classes' | 'perClassScore'>, segs: Segs = ['model']): Finding[] {
  return Object.keys(m.perClassScore)
    .filter((label) => !m.classes.includes(label))
    .map((label) => error([...segs, 'perClassScore', label], `Unknown class '${label}' (not in model.classes)`));
}

/** U1: the http sink needs an endpoint unless the embedded receiver provides one. */
export function verifyUploadEndpoint(upload: UploadConfig, embedded: boolean, segs: Segs = ['upload']): Finding[] {
  if (upload.endpoint !== undefined || embedded || (upload.sink !== undefined && upload.sink.type !== 'http')) return [];
  return [error([...segs, 'endpoint'], 'Missing required key; expected http or https URL (or set receiver.embedded: true)')];
}

/**
 * The s3 and mqtt sinks carry one frame image per package (the object and the
 * event's image reference); crops go over the http sink for now.
 */
export function verifyContentForSink(upload: UploadConfig, segs: Segs = ['upload']): Finding[] {
  const type = upload.sink?.type ?? 'http';
  if (type === 'http' || upload.content === 'frame' || upload.content === undefined) return [];
  return [error([...segs, 'content'], `'${upload.content}' needs upload.sink type 'http'; the '${type}' sink stores one frame image per package (use content 'frame')`)];
}

/**
 * The mqtt sink alone carries images only inline (U1): with inlineImageMaxBytes 0
 * every package leaves the queue as an event without its image, acknowledged
 * and counted delivered, and the JPEG is kept nowhere.
 */
export function verifyMqttImages(upload: UploadConfig, segs: Segs = ['upload']): Finding[] {
  const sink = upload.sink;
  if (sink?.type !== 'mqtt' || sink.inlineImageMaxBytes > 0) return [];
  return [
    warning(
      [...segs, 'sink', 'inlineImageMaxBytes'],
      "0: the mqtt sink alone sends events without their images (the JPEGs leave the queue with the event and are kept nowhere); use sink type 's3+mqtt' for the images, or set inlineImageMaxBytes to carry them in the event",
    ),
  ];
}

/** Mutual TLS needs both halves. */
export function verifyTlsPair(upload: UploadConfig, segs: Segs = ['upload']): Finding[] {
  if ((upload.cert === undefined) === (upload.key === undefined)) return [];
  const missing = upload.cert === undefined ? 'cert' : 'key';
  return [error([...segs, missing], `Missing required key; cert and key go together`)];
}

/**
 * upload.token goes into the Authorization header, which carries no control
 * character and nothing beyond U+00FF: Node refuses such a request before it
 * is sent, so every package would stay queued for ever behind a config that
 * looks fine. Described by position and kind only: the token is a secret.
 */
export function verifyToken(upload: UploadConfig, segs: Segs = ['upload']): Finding[] {
  const token = upload.token;
  if (typeof token !== 'string') return [];
  const at = token.search(/[^\t\x20-\x7e\x80-\xff]/);
  if (at < 0) return [];
  const c = token.codePointAt(at) ?? 0;
  const kind = c < 0x20 || c === 0x7f ? 'a control character' : 'a character beyond U+00FF';
  return [error([...segs, 'token'], `Contains ${kind} at position ${at + 1} of ${token.length}, which an HTTP header cannot carry (a line break or a file saved in another encoding?)`)];
}

/**
 * The bearer token over plain http:// leaves the unit readable by anyone on the path (a roadside
 * unit's uplink is rarely a private network). Loopback is fine (a local forwarder, the tests).
 */
export function verifyTokenTransport(upload: UploadConfig, segs: Segs = ['upload']): Finding[] {
  if (upload.token === undefined || upload.endpoint === undefined || (upload.sink !== undefined && upload.sink.type !== 'http')) return [];
  let url: URL;
  try {
    url = new URL(upload.endpoint);
  } catch {
    return [];
  }
  if (url.protocol !== 'http:') return [];
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) return [];
  return [warning([...segs, 'endpoint'], `the bearer token (upload.token) goes in clear over http:// to ${host}: anyone on the path can read it; use https://`)];
}

/** Two servers on one fixed port cannot both start. */
export function verifyPorts(c: Pick<BestshotConfig, 'metrics' | 'receiver'>): Finding[] {
  if (c.metrics.enabled && c.receiver.embedded && c.metrics.port !== 0 && c.metrics.port === c.receiver.port) {
    return [error(['receiver', 'port'], `Port ${c.receiver.port} is also metrics.port`)];
  }
  return [];
}

/**
 * The smallest queue.maxBytes that holds one package. The queue refuses a
 * package larger than maxBytes (U2: it cannot drop the oldest to make room),
 * and every package goes through the queue, immediate ones included (U1): a
 * smaller queue would run, capture and select, and lose every image. A frame's
 * JPEG is tens of KiB at 640×360 and up to ~1 MiB at 1920×1080, so below this
 * no real camera's package fits.
 */
const MIN_QUEUE_BYTES = 1024 * 1024;

/** U2: a queue too small for one package loses every package (see MIN_QUEUE_BYTES). */
export function verifyQueueCapacity(q: Pick<BestshotConfig['queue'], 'maxBytes'>, segs: Segs = ['queue']): Finding[] {
  if (q.maxBytes >= MIN_QUEUE_BYTES) return [];
  return [
    error(
      [...segs, 'maxBytes'],
      `${q.maxBytes} bytes cannot hold one package (a frame's JPEG alone is tens of KiB, up to ~1 MiB at 1920×1080; a larger package is refused, not queued); at least 1MiB`,
    ),
  ];
}

/**
 * U1/U2: immediate packages are written to the queue before they are sent, so
 * the queue holds immediateConcurrency packages in flight plus the one being
 * drained. A smaller maxPackages drops packages while they are on the wire: a
 * new one pushes them out, they are delivered anyway and counted as dropped.
 */
export function verifyQueueHoldsInFlight(c: Pick<BestshotConfig, 'queue' | 'upload'>): Finding[] {
  const inFlight = c.upload.immediateConcurrency + 1;
  if (c.queue.maxPackages > inFlight) return [];
  return [
    warning(
      ['queue', 'maxPackages'],
      `${c.queue.maxPackages} cannot hold the packages on the wire (upload.immediateConcurrency ${c.upload.immediateConcurrency} + 1 being drained): each new package drops one being sent, delivered then but counted as dropped; use more than ${inFlight}`,
    ),
  ];
}

/** All checks of a whole config. */
export function verifyConfig(c: BestshotConfig): Finding[] {
  return [
    ...verifyUniqueCameraIds(c.cameras),
    ...verifyUniqueCameraDevices(c.cameras),
    ...c.cameras.flatMap((cam, i) => verifyCamera(cam, ['cameras', i])),
    ...verifyPerClassScore(c.model),
    ...verifyUploadEndpoint(c.upload, c.receiver.embedded),
    ...verifyContentForSink(c.upload),
    ...verifyMqttImages(c.upload),
    ...verifyTlsPair(c.upload),
    ...verifyToken(c.upload),
    ...verifyTokenTransport(c.upload),
    ...verifyPorts(c),
    ...verifyQueueCapacity(c.queue),
    ...verifyQueueHoldsInFlight(c),
  ];
}
