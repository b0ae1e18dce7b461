/**
 * The config schema, one section per constant, written as data (STYLE 5).
 * Names and defaults follow SPEC's parameter table; each description says
 * what the key does and, where it matters, the trade-off of raising it.
 */
import { UPLOAD_CONTENTS } from '../upload/content.js';
import { TEST_PATTERNS } from '../capture/options.js';
import { OPTION_BOUNDS, POLICY_NAMES, POLICY_OPTIONS, POLICY_OPTION_NAMES, type PolicyOptionSpec } from '../select/options.js';
import type { Field, NumberField, ObjectField, UnionField } from './schema.js';

const num = (description: string, opts: Omit<NumberField, 'kind' | 'description'> = {}): NumberField => ({
  kind: 'number',
  description,
  ...opts,
});
const prob = (description: string, d: number): NumberField => num(description, { min: 0, max: 1, default: d });
const obj = (description: string, fields: Record<string, Field>, optional = false): ObjectField => ({
  kind: 'object',
  description,
  fields,
  ...(optional ? { optional } : {}),
});

export const CAMERA_ID_PATTERN = /^[A-Za-z0-9_-]+$/;

export const MODEL_SECTION: ObjectField = obj('Detector model and ONNX Runtime session (D1)', {
  path: {
    kind: 'path',
    optional: true,
    description: 'ONNX model; default models/yolox_nano.onnx, then $BESTSHOT_SHARED_DIR/models/yolox_nano.onnx',
  },
  manifest: { kind: 'path', optional: true, description: 'model manifest JSON (input size, letterbox, class names); default: built-in YOLOX manifest' },
  providers: {
    kind: 'array',
    items: { kind: 'string', enum: ['tensorrt', 'cuda', 'cpu'], description: 'execution provider' },
    minItems: 1,
    unique: true,
    default: ['tensorrt', 'cuda', 'cpu'],
    description: 'execution providers tried in order; the first that loads is used',
  },
  intraOpThreads: num('ORT intra-op threads, shared among the inference workers; more lowers latency on an idle CPU, but on 2 cores a second thread mostly spin-waits (CPU 0.7 vs 0.3 cores for one camera at 10 Hz)', {
    integer: true,
    min: 1,
    default: 1,
  }),
  interOpThreads: num('ORT inter-op threads (parallel graph branches); 1 suits YOLO models', { integer: true, min: 1, default: 1 }),
  workers: num(
    'inference worker threads shared by all cameras, each with its own ORT session and V8 isolate (~40 MiB each); 0 = 1 for one live camera, 2 for several or for an offline replay. More raises throughput on 2+ cores and costs memory',
    { integer: true, min: 0, default: 0 },
  ),
  cpuMemArena: {
    kind: 'boolean',
    default: true,
    description: 'ORT CPU memory arena: keeps freed tensors reserved for the next run; false returns them (measured on YOLOX-Nano: within noise of each other, docs/performance.md)',
  },
  memPattern: { kind: 'boolean', default: true, description: 'ORT memory pattern planning: pre-plans buffers from the first run; false re-plans every run (measured: no memory saved, docs/performance.md)' },
  fitInput: {
    kind: 'boolean',
    default: true,
    description:
      "infer only the part of the letterboxed input the frame fills, rounded up to the model's largest stride (a 16:9 camera in YOLOX-Nano's 416x416: 416x256, a third less inference, the same boxes; docs/detect.md); 'yolox' models of batch 1 on the cpu and cuda providers (not tensorrt, which builds an engine per input size); false: the model's declared size",
  },
  graphOptimization: {
    kind: 'string',
    enum: ['disabled', 'basic', 'extended', 'all'],
    default: 'all',
    description: "ORT graph optimisation level; 'all' is fastest, lower levels load faster",
  },
  tensorrt: obj('TensorRT execution provider options', {
    engineCachePath: {
      kind: 'path',
      optional: true,
      description: 'directory for built engines; without it every start rebuilds the engine (minutes on Jetson)',
    },
    fp16: { kind: 'boolean', default: true, description: 'FP16 engines: ~2x faster on Jetson, tiny accuracy loss' },
  }),
  classes: {
    kind: 'array',
    items: { kind: 'string', description: 'class label' },
    minItems: 1,
    unique: true,
    default: ['person', 'bicycle', 'car', 'motorcycle', 'bus', 'truck'],
    description: 'labels kept; detections of other classes are discarded',
  },
  scoreThreshold: prob('minimum detection score; lower finds more objects and more false positives', 0.3),
  nmsIouThreshold: prob('IoU above which overlapping boxes of one class are merged by NMS', 0.45),
  perClassScore: {
    kind: 'record',
    values: num('score threshold for this label', { min: 0, max: 1 }),
    default: {},
    description: 'per-label score thresholds overriding scoreThreshold, e.g. { person: 0.4 }',
  },
});

const SOURCE: UnionField = {
  kind: 'union',
  description: 'where frames come from (A6)',
  variants: {
    file: obj('a video file replay', {
      path: { kind: 'path', description: 'video file' },
      realtime: { kind: 'boolean', default: false, description: "pace frames at the file's own rate (true) or as fast as the pipeline takes them" },
      loop: { kind: 'boolean', default: false, description: 'restart at end of file' },
    }),
    rtsp: obj('an RTSP stream', {
      url: { kind: 'string', protocols: ['rtsp:', 'rtsps:'], description: 'stream URL' },
      latencyMs: num('rtspsrc jitter buffer; lower is fresher, higher survives jitter', { integer: true, min: 0, default: 200 }),
      transport: { kind: 'string', enum: ['tcp', 'udp'], default: 'tcp', description: 'RTP transport; tcp survives loss, udp has lower latency' },
    }),
    v4l2: obj('a V4L2/UVC camera', {
      device: { kind: 'path', default: '/dev/video0', description: 'device node' },
      width: num('capture width', { integer: true, min: 0, exclusiveMin: true, optional: true }),
      height: num('capture height', { integer: true, min: 0, exclusiveMin: true, optional: true }),
      framerate: num('sensor frame rate (frames are then taken at captureHz)', { min: 0, exclusiveMin: true, optional: true }),
      maxLinearGain: num("linear gain at the gain control's maximum (A2 maps gain linearly from 1 at its minimum); calibrate per camera model", {
        min: 1,
        exclusiveMin: true,
        default: 16,
      }),
      reportsAeValues: { kind: 'boolean', default: false, description: "the camera updates exposure_time_absolute/gain while AE runs (A1 reads them); most UVC cameras do not, and AE's choice is then estimated with a probe" },
      controls: {
        kind: 'record',
        values: num('control value', { integer: true }),
        keyPattern: /^[a-z0-9_]+$/,
        default: {},
        description: 'initial V4L2 controls, e.g. { auto_exposure: 1 }',
      },
    }),
    argus: obj('an NVIDIA Argus CSI camera (nvarguscamerasrc)', {
      sensorId: num('sensor-id', { integer: true, min: 0, default: 0 }),
      width: num('width', { integer: true, min: 0, exclusiveMin: true, default: 1920 }),
      height: num('height', { integer: true, min: 0, exclusiveMin: true, default: 1080 }),
      framerate: num('sensor frame rate', { min: 0, exclusiveMin: true, default: 30 }),
    }),
    test: obj('GStreamer videotestsrc', {
      pattern: { kind: 'string', enum: TEST_PATTERNS, default: 'smpte', description: 'videotestsrc pattern' },
      width: num('width', { integer: true, min: 0, exclusiveMin: true, default: 1280 }),
      height: num('height', { integer: true, min: 0, exclusiveMin: true, default: 720 }),
      framerate: num('frame rate', { min: 0, exclusiveMin: true, default: 30 }),
      live: { kind: 'boolean', default: true, description: 'behave like a live camera (drops instead of queueing)' },
      numBuffers: num('end the stream after this many frames (a camera that stops; tests and drills)', { integer: true, min: 0, exclusiveMin: true, optional: true }),
    }),
    simulated: obj('the simulated camera that responds to exposure like a sensor (A6)', {
      seed: num('PRNG seed (deterministic scenes)', { integer: true, min: 0, default: 1 }),
      width: num('width', { integer: true, min: 0, exclusiveMin: true, default: 640 }),
      height: num('height', { integer: true, min: 0, exclusiveMin: true, default: 360 }),
      fps: num('sensor frame rate', { min: 0, exclusiveMin: true, default: 30 }),
      scenario: { kind: 'string', enum: ['street'], default: 'street', description: "scene script: 'street' (four lanes of cars, trucks, cyclists and pedestrians; the only one)" },
    }),
  },
};

/** A1–A4. Also valid under `defaults:`. */
export const EXPOSURE_SECTION: ObjectField = obj('exposure control (A1–A4)', {
  mode: {
    kind: 'string',
    enum: ['rule', 'auto', 'fixed'],
    default: 'rule',
    description: "'rule' = A1–A4 (AE, then manual at T_manual with brightness kept); 'auto' = AE only; 'fixed' = AE read once at start (A1–A2), then manual, never re-metered (no A3)",
  },
  T_manual: num('manual exposure time (A2); shorter freezes motion, needs more gain (noise)', {
    min: 0,
    exclusiveMin: true,
    default: 1000,
    unit: 'µs',
  }),
  T_manual_max: num('longest exposure when gain is clamped at its maximum (A4)', { min: 0, exclusiveMin: true, default: 4000, unit: 'µs' }),
  remeterPeriod: num('seconds between AE re-metering (A3); shorter follows light changes, costs auto frames', {
    min: 0,
    exclusiveMin: true,
    default: 60,
    unit: 's',
  }),
  aeSettle: num('seconds AE may settle before it is read (A3); it is read earlier once 5 frames are stable', { min: 0, exclusiveMin: true, default: 1, unit: 's' }),
  aeSettleFrames: num('frames AE may settle (A3); when set, replaces aeSettle', { integer: true, min: 1, optional: true }),
});

/** T2. Also valid under `defaults:`. */
export const TRACKER_SECTION: ObjectField = obj('ByteTrack association (T1–T2)', {
  matchThreshold: prob('minimum IoU for a detection to join a track; higher splits tracks more, lower swaps ids more', 0.2),
  trackBuffer: num('frames (captureHz periods, dropped frames included) a lost track is kept before removal; longer bridges occlusions, risks wrong re-matches', {
    integer: true,
    min: 0,
    default: 30,
    unit: 'frames',
  }),
  trackThresh: prob('score splitting high- and low-score detections (two-stage association); BoT-SORT 0.6 (default), ByteTrack 0.5', 0.6),
  newTrackThresh: prob('score for an unmatched detection to start a track confirmed on its next match; BoT-SORT 0.7 (default), ByteTrack 0.6', 0.7),
  tentativeMinHits: num(
    'graded new-track rule: an unmatched detection between trackThresh and newTrackThresh starts a tentative track, confirmed after this many consecutive matches (SORT 3); 0 = ByteTrack (no track)',
    { integer: true, min: 0, default: 3, unit: 'frames' },
  ),
  lowThresh: prob('detections below this score are ignored by the tracker', 0.1),
  classGroups: {
    kind: 'string',
    enum: ['default', 'none'],
    default: 'default',
    description: "T1: 'default' matches within vehicle (car/truck/bus/motorcycle), person, bicycle; 'none' = the seed's same-class rule",
  },
  kalman: {
    kind: 'string',
    enum: ['xyah', 'xywh'],
    default: 'xywh',
    description: "Kalman state: 'xywh' (BoT-SORT: width and height noise each) or 'xyah' (ByteTrack: aspect ratio)",
  },
  duplicateIou: prob('an unmatched box overlapping a matched box of its class group above this IoU starts no track; 1 = off', 0.45),
  momentum: num("OC-SORT's observation-centric momentum weight; 0 = off", { min: 0, default: 0 }),
  reupdate: { kind: 'boolean', default: false, description: "OC-SORT's observation-centric re-update of a re-found track along a virtual trajectory" },
  recovery: { kind: 'boolean', default: false, description: "OC-SORT's observation-centric recovery: match leftovers to lost tracks' last boxes" },
  nsa: { kind: 'boolean', default: false, description: 'NSA Kalman (GIAOTracker, StrongSORT): measurement noise scaled by 1 − detection score' },
  lostMatching: {
    kind: 'string',
    enum: ['joint', 'after', 'cascade'],
    default: 'joint',
    description: "first association of lost tracks: 'joint' with the tracked ones (ByteTrack); 'after' them, with the boxes left over; 'cascade' = after them, by frames since last match, most recent first (DeepSORT)",
  },
  boost: { kind: 'boolean', default: false, description: "BoostTrack's similarity boost: IoU-gated pairs gain confidence × IoU, Mahalanobis and shape similarity terms" },
  confidenceBoost: prob("BoostTrack's detection-confidence boost: a box whose coefficient × best IoU with a predicted track exceeds trackThresh counts as high-score; 0 = off (BoostTrack 0.65)", 0),
  heightIou: { kind: 'boolean', default: false, description: "Hybrid-SORT's height-modulated IoU (IoU × vertical overlap ratio) in both association stages" },
  scoreCue: num("Hybrid-SORT's track confidence cue: cost + weight × |predicted track score − box score|; 0 = off (Hybrid-SORT 1)", { min: 0, default: 0 }),
  depthLevels: num("SparseTrack's depth cascade: pseudo-depth levels matched nearest first; 1 = off", { integer: true, min: 1, default: 1 }),
  lostGate: num('lost tracks take only boxes within this height ratio of their last box and not behind their motion; 0 = off', { min: 0, default: 0 }),
  lostMinScore: prob('lost tracks are re-found only by boxes scored at least this; 0 = off', 0),
  hitLifetime: { kind: 'boolean', default: false, description: "Norfair's hit counter: a lost track survives at most as many frames as it was matched (never longer than trackBuffer)" },
});

/**
 * The policies' own options as config keys, derived from their one
 * definition (src/select/options.ts): optional, no default here, so absent
 * means the chosen policy's own default.
 */
function policyOptionFields(): Record<string, NumberField> {
  const out: Record<string, NumberField> = {};
  for (const name of POLICY_OPTION_NAMES) {
    const spec: PolicyOptionSpec = POLICY_OPTIONS[name];
    const defaults = Object.entries(spec.defaults);
    const values = new Set(defaults.map(([, v]) => v));
    const shown = values.size === 1 ? `default ${defaults[0]![1]}` : `defaults ${defaults.map(([p, v]) => `${v} (${p})`).join(', ')}`;
    out[name] = num(`${spec.description}; ${shown}`, { ...OPTION_BOUNDS[spec.kind], optional: true, ...(spec.unit !== undefined ? { unit: spec.unit } : {}) });
  }
  return out;
}

/** S1–S5 and the policy. Also valid under `defaults:`. */
export const SELECTION_SECTION: ObjectField = obj('best-shot selection (S1–S7)', {
  policy: {
    kind: 'string',
    enum: POLICY_NAMES,
    default: 'shared-best',
    description:
      "'shared-best' (default: the fewest bytes at the 98 % coverage bar, docs/evaluation.md \"The default\") holds each object's best candidates and sends frames that serve several objects; 'deadline-cover' decides only when an object is due (its track ended, or maxLatencyS) which held frames cover the due objects, sending nothing for an object a sent frame already shows well; 'spec' is S1–S7 exactly; 'replace-queued' is S1–S7 with still-queued packages replaced by the same object's better one (docs/selection.md)",
  },
  minWidth: num('S1: minimum box width after the first sighting', { min: 0, default: 32, unit: 'px' }),
  minHeight: num('S1: minimum box height after the first sighting', { min: 0, default: 32, unit: 'px' }),
  minScore1: prob('S1: minimum score after the first sighting', 0.5),
  minScore2: prob('S5: minimum score to send immediately (normally > minScore1)', 0.7),
  minEdge1: num('S2: minimum edge distance for a better image', { default: 8, unit: 'px' }),
  minEdge2: num('S5: edge distance above which a better image is sent immediately (normally > minEdge1)', { default: 32, unit: 'px' }),
  minAreaRatio: prob('S5: box area / image area above which a better image is sent immediately', 0.02),
  ...policyOptionFields(),
  firstSighting: {
    kind: 'string',
    enum: ['first-seen', 'entry-count'],
    default: 'first-seen',
    description: "S1 n = 1: 'first-seen' = first entry offered (ByteTrack reports from confirmation), 'entry-count' = SPEC literal",
  },
  routeResolution: {
    kind: 'string',
    enum: ['any-immediate', 'first'],
    default: 'any-immediate',
    description: 'S4/S5 when several objects select one frame: immediate if any wants it, or as the first decides',
  },
});

const POSITION: UnionField = {
  kind: 'union',
  description: 'camera position (data model: cameraPosition)',
  default: { type: 'none' },
  variants: {
    fixed: obj('a roadside camera at a known place', {
      lat: num('latitude, WGS84 degrees', { min: -90, max: 90 }),
      lon: num('longitude, WGS84 degrees', { min: -180, max: 180 }),
      alt: num('altitude, metres', { default: 0, unit: 'm' }),
      heading: num('degrees clockwise from north', { min: 0, max: 360, default: 0, unit: '°' }),
    }),
    gpsd: obj('a vehicle camera positioned by gpsd', {
      host: { kind: 'string', default: '127.0.0.1', description: 'gpsd host' },
      port: num('gpsd port', { integer: true, min: 1, max: 65535, default: 2947 }),
      maxAgeS: num('a fix older than this is treated as lost (position null)', { min: 0, exclusiveMin: true, default: 2, unit: 's' }),
    }),
    none: obj('no position (cameraPosition null)', {}),
  },
};

const CALIBRATION: ObjectField = obj(
  'pixel-to-world calibration (W1): intrinsics + mount, or a homography',
  {
    intrinsics: obj(
      'pinhole intrinsics in pixels',
      {
        fx: num('focal length x', { min: 0, exclusiveMin: true }),
        fy: num('focal length y', { min: 0, exclusiveMin: true }),
        cx: num('principal point x'),
        cy: num('principal point y'),
      },
      true,
    ),
    distortion: {
      kind: 'array',
      items: num('coefficient'),
      minItems: 5,
      maxItems: 5,
      optional: true,
      description: 'OpenCV distortion [k1, k2, p1, p2, k3]',
    },
    mount: obj(
      'camera mount relative to the ground or vehicle',
      {
        height: num('height above ground', { min: 0, exclusiveMin: true, unit: 'm' }),
        pitch: num('downward tilt', { min: -90, max: 90, default: 0, unit: '°' }),
        roll: num('roll', { min: -180, max: 180, default: 0, unit: '°' }),
        yaw: num('yaw relative to heading', { min: -180, max: 360, default: 0, unit: '°' }),
      },
      true,
    ),
    homography: {
      kind: 'array',
      items: num('element'),
      minItems: 9,
      maxItems: 9,
      optional: true,
      description: 'row-major 3x3 image-to-ground homography (metres, camera-centred ENU)',
    },
  },
  true,
);

const CAPTURE_HZ = num('fixed capture rate (A5); higher sees more, costs CPU and detector time', {
  min: 0,
  exclusiveMin: true,
  default: 10,
  unit: 'Hz',
});
const RING_SECONDS = num(
  'seconds of frames the camera keeps unreferenced after selection (pixel slots: this many frames + 4, each width×height×1.5 bytes with pixelFormat i420: 1.3 MiB at 1280×720); a frame a policy still holds past it keeps its JPEG instead (heldFrames). More costs memory; a frame no policy holds is never uploaded later, so fewer costs nothing but the window before held frames are compacted',
  { min: 0, default: 0.5, unit: 's' },
);
const DECODER_THREADS = num(
  "threads of the software video decoder (libav's avdec_h264/h265 max-threads); 0 = automatic: one thread per camera when the service runs several cameras (the cameras are the parallelism; ~14 MiB less per 1280×720 camera), the decoder's own choice (one per core) for a single camera. 1 lowers the frames/s one source can decode (enough at 10 Hz, slower replays); no effect on hardware decoders",
  { integer: true, min: 0, default: 0 },
);
const HELD_FRAMES = {
  kind: 'string',
  enum: ['jpeg', 'pixels'],
  default: 'jpeg',
  description:
    "how a frame the selection policy still holds (a candidate for a later upload) is kept once it is older than ringSeconds: 'jpeg' (default) encodes its package image at jpegQuality and gives the pixels back (10–20× smaller; one encode per held frame, the package then needs none), 'pixels' keeps the raw frame (width×height×3 bytes each, no encode until it is sent); 'jpeg' applies with upload.content 'frame' only",
} as const satisfies Field;
const PIXEL_FORMAT = {
  kind: 'string',
  enum: ['i420', 'bgr'],
  default: 'i420',
  description:
    "format of the frames the camera keeps: 'i420' (default) takes the decoder's own Y'CbCr 4:2:0 planes (1.5 bytes per pixel: half the memory of every pixel slot, no colour conversion per captured frame; the detector tensor and crop measures convert only what they sample, a package's JPEG converts the frames sent), 'bgr' converts every frame to packed BGR (3 bytes per pixel) in GStreamer",
} as const satisfies Field;
const JPEG_QUALITY = num('JPEG quality of uploaded images; higher costs bytes', { integer: true, min: 1, max: 100, default: 85 });

export const CAMERA_SECTION: ObjectField = obj('one camera and its per-camera parameters', {
  // 64: the runtime's own limit on a camera id (it names the camera's imageId state file, capture/image-ids.ts),
  // refused here so check-config and the config load say so under the key, not the run after the model loaded.
  id: { kind: 'string', pattern: CAMERA_ID_PATTERN, maxLength: 64, description: 'unique camera id (idempotency keys are cameraId:imageId, U3)' },
  source: SOURCE,
  captureHz: CAPTURE_HZ,
  exposure: EXPOSURE_SECTION,
  position: POSITION,
  calibration: CALIBRATION,
  tracker: TRACKER_SECTION,
  selection: SELECTION_SECTION,
  jpegQuality: JPEG_QUALITY,
  ringSeconds: RING_SECONDS,
  decoderThreads: DECODER_THREADS,
  heldFrames: HELD_FRAMES,
  pixelFormat: PIXEL_FORMAT,
});

/** `defaults:` — what every camera inherits (deep merge) and may override. Validated in partial mode. */
export const DEFAULTS_SECTION: ObjectField = obj('per-camera parameters every camera inherits and may override', {
  captureHz: CAPTURE_HZ,
  exposure: EXPOSURE_SECTION,
  tracker: TRACKER_SECTION,
  selection: SELECTION_SECTION,
  jpegQuality: JPEG_QUALITY,
  ringSeconds: RING_SECONDS,
  heldFrames: HELD_FRAMES,
  pixelFormat: PIXEL_FORMAT,
});

const S3_SINK_FIELDS: Record<string, Field> = {
  bucket: { kind: 'string', pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, description: 'bucket the images go to (must exist; the edge never creates it)' },
  prefix: { kind: 'string', pattern: /^[^/](.*[^/])?$/, optional: true, description: "key prefix: <prefix>/<camera>/<yyyy>/<mm>/<dd>/<imageId>.jpg; no leading or trailing '/'" },
  region: { kind: 'string', default: 'us-east-1', description: 'region for SigV4 signing' },
  endpoint: { kind: 'string', protocols: ['http:', 'https:'], optional: true, description: 'S3-compatible endpoint (MinIO, Ceph RGW); absent = AWS S3 of the region' },
  forcePathStyle: { kind: 'boolean', default: false, description: 'path-style URLs (host/bucket/key) instead of virtual-host (bucket.host/key); most self-hosted stores need true' },
  accessKeyId: { kind: 'secret', optional: true, description: 'static access key; absent = the AWS SDK chain (env, profile, instance role)' },
  secretAccessKey: { kind: 'secret', optional: true, description: 'static secret key, with accessKeyId' },
  sidecar: { kind: 'boolean', default: true, description: 'also store the metadata JSON beside the image (<imageId>.json)' },
  verifyEtag: { kind: 'boolean', default: true, description: 'check an MD5 ETag against the bytes when the store returns no SHA-256 checksum; off for SSE-KMS' },
  requestTimeoutMs: num('time allowed for one PUT', { integer: true, min: 1, default: 30000, unit: 'ms' }),
  multipartThresholdBytes: { kind: 'bytes', default: 16 * 1024 ** 2, description: 'objects this large go up as a multipart upload (an edge JPEG never does); at least partSizeBytes' },
  partSizeBytes: { kind: 'bytes', default: 8 * 1024 ** 2, description: 'part size of a multipart upload; S3 needs at least 5 MiB' },
};

const MQTT_SINK_FIELDS: Record<string, Field> = {
  url: { kind: 'string', protocols: ['mqtt:', 'mqtts:', 'ws:', 'wss:'], description: 'broker URL, e.g. mqtts://broker.example:8883' },
  topic: { kind: 'string', pattern: /^[^+#$]+$/, default: 'bestshot/{site}/{camera}/objects', description: 'topic template; {site} and {camera} are replaced' },
  site: { kind: 'string', pattern: CAMERA_ID_PATTERN, default: 'default', description: 'site of this unit: in the topic and the event source' },
  clientId: { kind: 'string', optional: true, description: "MQTT client id, unique per unit; default 'bestshot-<site>-<hostname>'" },
  username: { kind: 'string', optional: true, description: 'MQTT username' },
  password: { kind: 'secret', optional: true, description: 'MQTT password: literal, { env: NAME } or { file: PATH }; never logged' },
  ca: { kind: 'path', optional: true, description: 'CA bundle (PEM) for mqtts/wss' },
  cert: { kind: 'path', optional: true, description: 'client certificate (PEM), e.g. AWS IoT Core' },
  key: { kind: 'path', optional: true, privateFile: true, description: 'client key (PEM)' },
  keepaliveS: num('keep-alive; lower notices a dead link sooner', { integer: true, min: 1, default: 30, unit: 's' }),
  ackTimeoutMs: num('time allowed for the PUBACK; too short turns slow acks into duplicates (dropped by id)', { integer: true, min: 1, default: 10000, unit: 'ms' }),
  requireSubscriber: { kind: 'boolean', default: true, description: "retry on PUBACK 0x10 'no matching subscribers'; off for IoT Core rules / broker bridges" },
  inlineImageMaxBytes: { kind: 'bytes', default: 0, description: 'mqtt alone: put JPEGs up to this size in the event (base64); a larger one is a dead letter (kept, never an event without it); 0 = never: events without images (warned)' },
};

/** upload.sink: how a package leaves (a union on type). U1/U2 decide what and when either way. */
const SINK: UnionField = {
  kind: 'union',
  description: "how packages leave: 'http' (multipart POST to upload.endpoint), 's3', 'mqtt', or 's3+mqtt' (object first, event after)",
  default: { type: 'http' },
  variants: {
    http: obj('multipart POST to upload.endpoint with the keys above', {}),
    s3: obj('JPEG + JSON sidecar PUT to an S3-compatible bucket', S3_SINK_FIELDS),
    mqtt: obj('one MQTT 5 CloudEvent per package (QoS 1)', MQTT_SINK_FIELDS),
    's3+mqtt': obj('object stored first, then the event naming it; sent when both are acknowledged', {
      s3: obj('the object store', S3_SINK_FIELDS),
      mqtt: obj('the broker', MQTT_SINK_FIELDS),
    }),
  },
};

export const UPLOAD_SECTION: ObjectField = obj('cloud upload (U1–U3)', {
  endpoint: {
    kind: 'string',
    protocols: ['http:', 'https:'],
    optional: true,
    description: 'receiver URL; required unless receiver.embedded',
  },
  token: { kind: 'secret', optional: true, description: 'bearer token: literal, { env: NAME } or { file: PATH }; never logged' },
  ca: { kind: 'path', optional: true, description: 'CA bundle (PEM) to trust for https' },
  cert: { kind: 'path', optional: true, description: 'client certificate (PEM) for mutual TLS' },
  key: { kind: 'path', optional: true, privateFile: true, description: 'client key (PEM) for mutual TLS' },
  connectTimeoutMs: num('connect timeout', { integer: true, min: 1, default: 5000, unit: 'ms' }),
  responseTimeoutMs: num('response timeout; too short re-sends slow but successful uploads', {
    integer: true,
    min: 1,
    default: 15000,
    unit: 'ms',
  }),
  immediateConcurrency: num('immediate uploads in flight at once (U1)', { integer: true, min: 1, default: 2 }),
  sendHz: num('rate the cache queue is drained at (U2); higher empties it faster, uses more uplink', {
    min: 0,
    exclusiveMin: true,
    default: 2,
    unit: 'Hz',
  }),
  drainTimeoutS: num('when every source has ended, how long to wait for the queue to deliver before exiting; what is left stays on disk for the next start', {
    min: 0,
    default: 60,
    unit: 's',
  }),
  sink: SINK,
  content: {
    kind: 'string',
    enum: UPLOAD_CONTENTS,
    default: 'frame',
    description:
      "what a package carries: 'frame' (default: the whole frame, SPEC's package; the one mode every sink takes), 'crops' (a full-resolution crop of every qualifying, unclipped object of the frame: about 4.5× fewer bytes at the same coverage with the default policy, http sink only, docs/evaluation.md \"Confident views\"), 'frame+crops' (a small, low-quality frame for context, contextMaxWidth and contextJpegQuality, plus the crops)",
  },
  cropJpegQuality: num("JPEG quality of the crops ('crops', 'frame+crops')", { integer: true, min: 1, max: 100, default: 90 }),
  contextJpegQuality: num("JPEG quality of the context frame ('frame+crops'); the camera's jpegQuality is the frame's in 'frame'", { integer: true, min: 1, max: 100, default: 40 }),
  contextMaxWidth: num(
    "width the context frame ('frame+crops') is scaled down to, its aspect kept; a narrower frame keeps its size; 0 = the full frame. The crops carry the detail: 640 px still shows the scene above the 416 px the detector saw it at",
    { integer: true, min: 0, default: 640, unit: 'px' },
  ),
  cropMargin: num('margin around a crop, as a fraction of the box size on each side; more shows the surroundings', { min: 0, max: 2, default: 0.15 }),
});

export const QUEUE_SECTION: ObjectField = obj('durable cache queue (U2)', {
  path: { kind: 'path', default: '/var/lib/bestshot/queue.sqlite', description: 'SQLite file; relative to the config file' },
  maxPackages: num('capacity in packages; when full the oldest is dropped and counted', { integer: true, min: 1, default: 1000 }),
  maxBytes: { kind: 'bytes', default: 512 * 1024 ** 2, description: "capacity in bytes (e.g. '512MiB'); when full the oldest is dropped" },
  synchronous: {
    kind: 'string',
    enum: ['full', 'normal'],
    default: 'full',
    description: "SQLite synchronous: 'full' survives power loss, 'normal' is faster (docs/upload.md)",
  },
});

export const RECEIVER_SECTION: ObjectField = obj('the embedded reference receiver (demo, tests)', {
  embedded: { kind: 'boolean', default: false, description: 'start the reference receiver on loopback and upload to it' },
  port: num('receiver port; 0 = ephemeral', { integer: true, min: 0, max: 65535, default: 0 }),
  dir: { kind: 'path', default: '/var/lib/bestshot/receiver', description: 'where the receiver stores packages' },
});

export const METRICS_SECTION: ObjectField = obj('Prometheus /metrics and /healthz', {
  enabled: { kind: 'boolean', default: true, description: 'serve /metrics and /healthz' },
  port: num('port; 0 = ephemeral', { integer: true, min: 0, max: 65535, default: 9464 }),
  host: { kind: 'string', default: '127.0.0.1', description: "bind address; '0.0.0.0' exposes metrics to the network" },
});

export const LOG_SECTION: ObjectField = obj('structured logs', {
  level: {
    kind: 'string',
    enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    default: 'info',
    description: 'lowest level written',
  },
  format: {
    kind: 'string',
    enum: ['json', 'pretty', 'auto'],
    default: 'auto',
    description: "'json' lines for journald/collectors, 'pretty' for people (with timestamps), 'auto' = pretty on a TTY, json otherwise",
  },
});

export const REPORT_SECTION: ObjectField = obj('HTML report', {
  dir: { kind: 'path', optional: true, description: 'write the HTML report here at exit; absent = no report' },
  maxImages: num("images the report of 'bestshot run' keeps, the newest (older ones, earlier runs' included, are deleted from report.dir): a service runs for months, and every selected image costs disk. With upload.content crops or frame+crops a package's crops count as one image with it", {
    integer: true,
    min: 1,
    default: 2000,
  }),
});

export const CURRENT_VERSION = 1;

/** The whole file, after migration to CURRENT_VERSION. */
export const CONFIG_SCHEMA: ObjectField = obj('bestshot config', {
  version: num('config file format version (migrated when older)', { integer: true, min: 0, max: CURRENT_VERSION, default: CURRENT_VERSION }),
  model: MODEL_SECTION,
  defaults: DEFAULTS_SECTION,
  cameras: {
    kind: 'array',
    items: CAMERA_SECTION,
    minItems: 1,
    description: 'the cameras of this process, each with its own parameters',
  },
  upload: UPLOAD_SECTION,
  queue: QUEUE_SECTION,
  receiver: RECEIVER_SECTION,
  metrics: METRICS_SECTION,
  log: LOG_SECTION,
  stateDir: { kind: 'path', default: '/var/lib/bestshot/state', description: 'imageId and trackId high-water marks and other small state; its first block of ids is saved at start, so a stateDir that cannot be written (full, read-only) fails the start: ids handed out unsaved would be reused after a restart' },
  report: REPORT_SECTION,
});
