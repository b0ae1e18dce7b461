/**
 * Service events → Prometheus metrics (src/prometheus.ts), plus the /metrics
 * and /healthz server. Kept out of the pipeline code: the runners emit
 * events, this module counts them.
 */
import { createMetrics, startMetricsServer, type BestshotMetrics, type MetricsServer } from '../prometheus.js';
import { classifyStatus } from '../upload/sender.js';
import { type BestshotService, cameraTotals } from './service.js';

export interface Observability {
  metrics: BestshotMetrics;
  server: MetricsServer | undefined;
  /** Feed the metrics from a started service (every declared metric has a feeder here). */
  attach(svc: BestshotService): void;
  close(): Promise<void>;
}

/** DropReason → the metric's reason label. */
const DROP_LABEL: Record<string, string> = {
  busy: 'detector_busy',
  'detect-error': 'detect_error',
  'track-error': 'track_error',
  evicted: 'evicted',
};

/**
 * Binds /metrics and /healthz first (a taken port fails the start before any
 * camera runs; /healthz answers 503 until a service is attached and ready),
 * then attach() feeds the metrics from the service's events.
 */
export async function observe(options: { port: number; host: string; enabled: boolean }): Promise<Observability> {
  const metrics = createMetrics();
  let attached: BestshotService | undefined;
  let poll: NodeJS.Timeout | undefined;
  let trackTotals = new Map<string, number>();
  const server = options.enabled
    ? await startMetricsServer({
        port: options.port,
        host: options.host,
        registry: metrics.registry,
        health: () => {
          if (!attached)
            return {
              ready: false,
              details: { detector: 'loading', cameras: {} },
            };
          const h = attached.health();
          const uploader = attached.uploader;
          return {
            ready: h.ready,
            details: {
              detector: h.detector ? 'loaded' : 'loading',
              cameras: h.cameras,
              // A live camera sending fewer frames than captureHz (A5): its rate, not a failure.
              ...(Object.keys(h.slow).length > 0 ? { slowCameras: h.slow } : {}),
              // More camera work than the CPU can do: frames dropped before detection, or a realtime
              // recording behind real time (the log says it once, with what to lower). Still ready.
              ...(Object.keys(h.overloaded).length > 0 ? { overloadedCameras: h.overloaded } : {}),
              // Said, not judged: an endpoint outage does not make the unit unready (an OTA health
              // check would roll back a good release for a cloud outage), but /healthz said nothing
              // of it while every package stayed queued, the queue filled and dropped the oldest.
              ...(uploader
                ? { upload: { endpoint: attached.endpointDown ? 'not taking packages' : 'taking packages', queued: uploader.stats().queueDepth } }
                : {}),
            },
          };
        },
      })
    : undefined;
  const attach = (svc: BestshotService): void => {
    attached = svc;
    svc.on('frame', (camera, r) => {
      metrics.framesCaptured.inc({ camera });
      metrics.observeStageMs(camera, 'detect', r.latency.detect);
      metrics.observeStageMs(camera, 'track', r.latency.track - r.latency.detect);
      metrics.observeStageMs(camera, 'end_to_end', r.latency.total);
      const runner = svc.cameras.get(camera)?.runner;
      if (runner) metrics.tracksActive.set({ camera }, runner.stats.activeTracks);
      const exposure = runner?.ring.get(r.imageId)?.exposure;
      if (exposure && exposure.exposureTimeUs > 0) {
        metrics.exposureTime.set({ camera }, exposure.exposureTimeUs / 1e6);
        metrics.exposureGain.set({ camera }, exposure.gain);
      }
      metrics.cameraUp.set({ camera }, 1);
    });
    svc.on('drop', (camera, reason, n) => {
      metrics.framesDropped.inc({ camera, reason: DROP_LABEL[reason] ?? reason }, n);
      // A frame dropped before it was analysed was taken all the same (A5): counted only when analysed, an
      // overloaded camera's 'captured' fell below its drops (2449 dropped of 1538 "captured").
      // 'evicted' is a selected frame the ring let go, analysed and counted already.
      if (reason !== 'evicted') metrics.framesCaptured.inc({ camera }, n);
    });
    svc.on('skip', (camera, n) => metrics.framesSkipped.inc({ camera }, n));
    svc.on('upload', (u) => {
      metrics.selections.inc({ camera: u.cameraId, route: u.route });
    });
    svc.on('workerRestart', (_camera, kind) => metrics.workerRestarts.inc({ pool: kind }));
    svc.on('cameraError', (camera) => metrics.cameraUp.set({ camera }, 0));
    // Counted when the camera is reopened: a recording that cannot be played fails once, is given up
    // on, and was counted as restarted.
    svc.on('cameraRetrying', (camera) => metrics.cameraRestarts.inc({ camera }));
    // A source that ended (a recording, a test source with numBuffers) or a recording that cannot
    // be played delivers nothing any more: camera_up stayed 1 from its last frame through the drain,
    // and tracks_active kept the count of its last frame (17 tracks "alive" on an ended camera).
    svc.on('cameraEnded', (camera) => {
      metrics.cameraUp.set({ camera }, 0);
      metrics.tracksActive.set({ camera }, 0);
    });
    const uploader = svc.uploader;
    if (uploader) {
      uploader.on('sent', (e) => {
        const camera = e.idempotencyKey.slice(0, e.idempotencyKey.lastIndexOf(':'));
        metrics.packagesSent.inc({ camera, route: e.route });
        metrics.bytesSent.inc({ camera, route: e.route }, e.bytes);
      });
      uploader.on('retry', (e) => metrics.uploadErrors.inc({ kind: e.errorKind }));
      uploader.on('dropped', () => metrics.queueDropped.inc({ reason: 'full' }));
      uploader.on('deadLettered', (d) => {
        // A refusal for good is an upload error too: an alert on upload_errors_total must see a unit
        // whose every package the endpoint refuses (a wrong token), not only the retried failures.
        const c = classifyStatus(d.status);
        metrics.uploadErrors.inc({ kind: c.kind === 'ok' ? 'http4xx' : c.errorKind });
        metrics.queueDropped.inc({ reason: 'dead_letter' });
      });
      uploader.on('refused', () => metrics.queueDropped.inc({ reason: 'disk_full' }));
    }
    // A1–A4 counters are cumulative in each controller; export the increments.
    const exposureSeen = new Map<string, Record<string, number>>();
    const exposureCounters = (camera: string, now: Record<string, number>): void => {
      const before = exposureSeen.get(camera) ?? {};
      const inc = (key: string): number => Math.max(0, (now[key] ?? 0) - (before[key] ?? 0));
      metrics.exposureModeSwitches.inc({ camera, to: 'auto' }, inc('switchesToAuto'));
      metrics.exposureModeSwitches.inc({ camera, to: 'manual' }, inc('switchesToManual'));
      metrics.exposureClamped.inc({ camera, what: 'gain_max' }, inc('gainClampedMax'));
      metrics.exposureClamped.inc({ camera, what: 'gain_min' }, inc('gainClampedMin'));
      metrics.exposureClamped.inc({ camera, what: 'time_lengthened' }, inc('timeLengthened'));
      exposureSeen.set(camera, now);
    };
    poll = setInterval(() => {
      const s = uploader?.stats();
      if (s) {
        metrics.queueDepth.set(s.queueDepth);
        metrics.queueBytes.set(s.queueBytes);
        metrics.queueLost.set(s.setAside);
        // From the queue, not counted here: the *_total counters start at 0 with each process, and a
        // restarted unit whose queue holds refused packages showed no sign of them.
        if (uploader && !uploader.queue.closed) metrics.queueDeadLetters.set(uploader.queue.deadLetterCount());
      }
      for (const [id, controller] of svc.exposureControllers) {
        const st = controller.stats();
        exposureCounters(id, {
          switchesToAuto: st.switchesToAuto,
          switchesToManual: st.switchesToManual,
          gainClampedMax: st.gainClampedMax,
          gainClampedMin: st.gainClampedMin,
          timeLengthened: st.timeLengthened,
        });
      }
      for (const [id, c] of svc.cameras) {
        const created = cameraTotals(c).tracksCreated;
        const prev = trackTotals.get(id) ?? 0;
        if (created > prev) metrics.tracksCreated.inc({ camera: id }, created - prev);
        trackTotals.set(id, created);
      }
    }, 1000);
    poll.unref();
  };
  return {
    metrics,
    server,
    attach,
    async close() {
      if (poll) clearInterval(poll);
      trackTotals = new Map();
      await server?.close();
    },
  };
}
