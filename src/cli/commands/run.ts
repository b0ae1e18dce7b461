/** bestshot run --config file.yaml: the service (systemd runs this). */
import { parseArgs } from '../args.js';
import { drainEtaS } from '../progress.js';
import { endBySignal, exitAfterInferences, handOverSignals, leaveHungUpTerminal } from '../signals.js';
import { loadConfig, refuseMissingRecording, type BestshotConfig } from '../../config/index.js';
import { missingModelMessage } from '../../detect/model-file.js';
import { BestshotError, ConfigError, ModelError, UsageError, unwritableDirAdvice } from '../../errors.js';
import { loggerFromConfig, routeProcessWarnings, type Logger } from '../../log.js';
import { makeDirectory } from '../../process-lock.js';
import { BestshotService, type CameraStatus, cameraTotals, describeLoad, type RunCounts } from '../../runtime/service.js';
import { observe, type Observability } from '../../runtime/observability.js';
import { latencyPercentile, writeReport, type ReportSummary } from '../../runtime/report.js';
import { RunImages } from '../../runtime/run-images.js';
import { lockRun } from '../../runtime/run-lock.js';
import { SystemdNotifier } from '../../runtime/sd-notify.js';
import { unsentObjectsText } from '../../runtime/upload-hints.js';
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { isatty } from 'node:tty';
import type { Command } from '../commands.js';

const usage = `Usage: bestshot run --config /etc/bestshot/config.yaml [--stop-timeout-ms 10000]

Runs every configured camera: capture at captureHz, detection, tracking,
best-shot selection and upload, with /metrics and /healthz on the metrics
port.

Start-up is all or nothing: a stateDir or queue another process runs on
(its lock, <stateDir>/bestshot.lock or <queue.path>.lock, names its pid), a
taken port, a missing or wrong model, an unusable queue, a missing or GIF
recording, a stateDir, report.dir or receiver.dir that cannot be made or
written, or an invalid config stops it within seconds with exit 1 and one
line naming the problem, before anything is captured or sent.

When every source has ended (a file, a test source with numBuffers) it waits
up to upload.drainTimeoutS for the queue to deliver, prints what the run did
and exits 0; packages still queued stay on disk for the next start. SIGTERM,
SIGINT or SIGHUP (the terminal it was started from closed) stops capture,
finishes the frames in flight, closes the queue and exits 0 (exit 1 if that
takes longer than --stop-timeout-ms); a second signal while it stops exits
with exit 1 once the inferences in flight end (at most 2 s), the counts
printed and the queued packages left on disk for the next start.
With report.dir set, the HTML report is written there every 30 s and at stop.
Under systemd (Type=notify) it extends the start timeout every 20 s while
the model loads (EXTEND_TIMEOUT_USEC: a first TensorRT engine build takes
minutes), reports READY=1 once running and pings the watchdog (WATCHDOG=1)
every half WatchdogSec.

Logs go to stderr (log.format: auto = readable on a terminal, JSON lines
otherwise); the final counts go to stdout.`;

const REPORT_REFRESH_MS = 30_000;
/**
 * A unit without a real-time clock boots at 1970 until NTP (or GNSS) sets the time: packages
 * would carry 1970 timestamps and S3 keys (camera/1970/01/01/…). Said at the start; the
 * timestamps follow the clock's forward step once it is set (A5, src/capture/timestamps.ts).
 */
function clockNotSet(nowMs: number): string | undefined {
  if (nowMs >= Date.UTC(2024, 0, 1)) return undefined;
  return 'the wall clock reads a date before this software existed: package timestamps and object keys use it until it is set; enable NTP (systemd-timesyncd, chrony) or a GNSS time source';
}

/** Frames the run report's latency percentiles are over: the most recent ones, all cameras. */
const REPORT_LATENCY_FRAMES = 10_000;

function latencySummary(recent: Float64Array, seen: number): ReportSummary['latencyMs'] {
  const values = Array.from(recent);
  return {
    p50: latencyPercentile(values, 50),
    p99: latencyPercentile(values, 99),
    frames: values.length,
    window: seen > values.length ? `the last ${values.length} frames` : `${values.length} frames`,
  };
}

/** The metrics server's start-up failure as one line with its fix (the service names its own ports). */
function metricsFailure(err: unknown): Error {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  if ((e.code ?? e.cause?.code) === 'EADDRINUSE') {
    return new BestshotError(
      'ERR_PORT_IN_USE',
      `${e.message}: another process holds the port; set metrics.port to a free port (0 = any) or metrics.enabled: false`,
    );
  }
  // 'not a host', 256.1.1.1, an address of another machine: said without a code or a fix before.
  const code = e.code ?? e.cause?.code;
  if (code === 'ENOTFOUND' || code === 'EADDRNOTAVAIL' || code === 'EAI_AGAIN') {
    return new BestshotError('ERR_CONFIG', `${e.message}: metrics.host is not an address of this unit; set it to 127.0.0.1, 0.0.0.0 (every interface) or one of the unit's own addresses`);
  }
  return e instanceof Error ? e : new Error(String(err));
}

/**
 * The mqtt sink alone with inlineImageMaxBytes 0 delivers events without their images (warned at
 * start, config/verify.ts verifyMqttImages): "delivered" then says so, or the summary read as if
 * the images had reached the cloud.
 */
function eventsWithoutImages(config: BestshotConfig): boolean {
  const sink = config.upload.sink;
  return sink?.type === 'mqtt' && sink.inlineImageMaxBytes === 0;
}

function printCounts(c: RunCounts, out: (line: string) => void, eventsOnly = false): void {
  const dropped = Object.entries(c.frames.dropped)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  out(`frames:      ${c.frames.processed} processed, ${c.frames.skipped} skipped by the captureHz grid, ${dropped.length ? dropped.join(', ') : '0'} dropped`);
  const unsent = c.packages.unsentObjects > 0 ? `; ${unsentObjectsText(c.packages.unsentObjects)}` : '';
  out(`packages:    ${c.packages.immediate + c.packages.cached} built (${c.packages.immediate} immediate, ${c.packages.cached} cached)${unsent}`);
  out(`sent:        ${c.sentImmediate} immediate + ${c.sentCached} cached; ${c.delivered} delivered${eventsOnly && c.delivered > 0 ? ' as events without their images (upload.sink.inlineImageMaxBytes 0)' : ''}`);
  out(
    `queue:       ${c.stillQueued} still queued${c.stillQueued > 0 ? ' (sent at the next start)' : ''}, ${c.queueDropped} dropped full, ${c.deadLettered} dead-lettered, ${c.replaced} replaced by a better image of the same object${c.queuedAtStart > 0 ? `; ${c.queuedAtStart} were left by an earlier run and went first in the queue` : ''}${c.refusedDiskFull > 0 ? `; ${c.refusedDiskFull} refused: the disk was full` : ''}${c.deadLettersAtStart > 0 ? `; ${c.deadLettersAtStart} dead letters from earlier runs kept (bestshot queue)` : ''}`,
  );
}

/**
 * A line per camera that had trouble (failures, or no frame at all): in a
 * multi-camera run the totals above hide a camera that never delivered.
 */
function printCameraTrouble(cameras: Iterable<CameraStatus>, out: (line: string) => void): void {
  for (const status of cameras) {
    const captured = cameraTotals(status).captured;
    // A5: a live camera that sent fewer frames than captureHz (said once in the log, when it happened).
    if (status.slowest !== undefined && captured > 0) {
      out(`camera:      ${status.id}: delivered ${status.slowest.hz.toFixed(1)} frames/s at its slowest, fewer than captureHz ${status.slowest.captureHz}`);
    }
    // More work than the CPU could do (said once in the log, when it happened): its worst window.
    if (status.worstLoad !== undefined) {
      out(`camera:      ${status.id}: overloaded, at its worst it ${describeLoad(status.worstLoad)}; lower captureHz, the number of cameras or their resolution, or use a smaller model`);
    }
    if (status.failures === 0 && captured > 0) continue;
    const frames = captured === 0 ? 'no frame captured' : `${captured} frames captured`;
    const failures = status.failures === 0 ? '' : `; ${status.failures} failure${status.failures === 1 ? '' : 's'}${status.state === 'failed' ? ', not retried' : ''}`;
    out(`camera:      ${status.id}: ${frames}${failures}${status.lastError !== undefined ? `; the last: ${status.lastError}` : ''}`);
  }
}

/**
 * A stop asked while the service starts (the model loading; a TensorRT engine build takes
 * minutes on a Jetson) ends the process at once, as the signal's own default action does
 * (exit 143/129/130: nothing was captured yet and the queue is on disk) — but the locks are
 * released first: the default action alone left them for the next start to take over.
 * (process.exit there aborted the process: native inference set-up was still running.)
 */
function exitOnSignalWhileStarting(log: Logger, locks: { release(): void }): { handOver(to: (signal: NodeJS.Signals) => void): void } {
  const signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
  const disarm = (): void => {
    for (const sig of signals) process.off(sig, handler);
  };
  const handler = (signal: NodeJS.Signals): void => {
    log.info('stopping before the start finished', { signal });
    locks.release();
    disarm();
    endBySignal(signal);
  };
  for (const sig of signals) process.on(sig, handler);
  // The run's own handler takes over without a moment with none (a signal then was lost).
  return { handOver: (to) => handOverSignals(signals, handler, to) };
}

/**
 * The folders a run writes into besides stateDir and the queue: report.dir and an embedded
 * receiver's receiver.dir, made and checked before anything starts, as stateDir is. One that could
 * not be made (under a file, on a read-only mount, another user's) failed the run after the model
 * had loaded and the metrics port was listening, with Node's bare ENOTDIR and no key to change.
 */
function checkOutputDirs(config: BestshotConfig): void {
  const dirs = [
    ...(config.report.dir ? [{ key: 'report.dir', dir: config.report.dir }] : []),
    ...(config.receiver.embedded ? [{ key: 'receiver.dir', dir: config.receiver.dir }] : []),
  ];
  for (const { key, dir } of dirs) {
    let how = 'created';
    try {
      makeDirectory(dir);
      how = 'written';
      accessSync(dir, constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError(key, `${dir} cannot be ${how} (${code}): ${unwritableDirAdvice(code, key)}`);
    }
  }
}

/** The service, its locks held: start, run until the sources end or a signal, stop; the exit code. */
async function runService(config: BestshotConfig, log: Logger, stopTimeoutMs: number, stopDuringStart: { handOver(to: (signal: NodeJS.Signals) => void): void }): Promise<number> {
  // Bind the metrics port first: a taken port fails the start before any camera runs.
  let obs: Observability;
  try {
    obs = await observe({ port: config.metrics.port, host: config.metrics.host, enabled: config.metrics.enabled });
  } catch (err) {
    throw metricsFailure(err);
  }
  const systemd = new SystemdNotifier(process.env, (m) => log.warn(m));
  systemd.starting('starting: loading the model (a first start may build TensorRT engines for minutes) and opening the cameras');
  let svc: BestshotService;
  try {
    svc = await BestshotService.start({ config, mode: 'live', logger: log });
  } catch (err) {
    systemd.stopping();
    await obs.close();
    throw err;
  }
  obs.attach(svc);
  if (obs.server) log.info('metrics listening', { url: obs.server.url });

  const reportDir = config.report.dir;
  // The report's own images folder: one copy of each image, the newest report.maxImages kept.
  const images = reportDir ? new RunImages(join(reportDir, 'images'), config.report.maxImages) : undefined;
  if (images) svc.on('upload', (u) => images.add(u));
  const t0 = performance.now();
  // The report's latency is over the most recent frames (a service runs for months): a ring of them.
  const latencies = new Float64Array(REPORT_LATENCY_FRAMES);
  let latencyCount = 0;
  if (reportDir) {
    svc.on('frame', (_id, r) => {
      latencies[latencyCount++ % REPORT_LATENCY_FRAMES] = r.latency.total;
    });
  }
  let reportFailing = false;
  const writeRunReport = (): void => {
    if (!reportDir || !images) return;
    const c = svc.runCounts();
    const cam = config.cameras[0];
    try {
      writeReport(
        reportDir,
        {
          title: 'bestshot run report',
          source: config.cameras.map((x) => x.id).join(', '),
          cameraId: config.cameras.map((x) => x.id).join(', '),
          policy: cam?.selection.policy ?? '',
          framesCaptured: c.frames.captured,
          framesProcessed: c.frames.processed,
          framesDropped: Object.values(c.frames.dropped).reduce((a, n) => a + n, 0),
          objectsTracked: [...svc.cameras.values()].reduce((a, s) => a + cameraTotals(s).tracksCreated, 0),
          packagesImmediate: c.packages.immediate,
          packagesCached: c.packages.cached,
          bytesSelected: c.packages.bytes,
          bytesEveryFrame: 0,
          everyFrameMethod: 'not measured by bestshot run (bestshot replay --report measures them)',
          delivered: c.delivered,
          stillQueued: c.stillQueued,
          queueDropped: c.queueDropped,
          deadLettered: c.deadLettered,
          unsentObjects: c.packages.unsentObjects,
          latencyMs: latencySummary(latencies.subarray(0, Math.min(latencyCount, REPORT_LATENCY_FRAMES)), latencyCount),
          durationS: (performance.now() - t0) / 1000,
        },
        images.uploads(),
      );
      if (reportFailing) log.info('report written again', { dir: reportDir });
      reportFailing = false;
    } catch (err) {
      // Said when it starts failing, not at every 30 s refresh: a disk full for days was 2 lines a minute.
      if (!reportFailing) log.warn('report not written; retried every 30 s, said again when it is written', { dir: reportDir, error: (err as Error).message });
      reportFailing = true;
    }
  };
  const reportTimer = reportDir ? setInterval(writeRunReport, REPORT_REFRESH_MS) : undefined;
  reportTimer?.unref();

  // The first SIGTERM/SIGINT/SIGHUP stops the run gracefully; a second one while it is stopping exits
  // at once (exit 1): the queue is on disk (U2), so what is queued is sent at the next start. Handled
  // before 'running' is said: a signal sent on that line (by a supervisor, a test) was the default kill.
  let firstSignal: string | undefined;
  // The stdio descriptors that are a terminal, asked now: once it hung up, asking fails.
  const ttys = [0, 1, 2].filter((fd) => isatty(fd));
  let leftTerminal = false;
  let onFirstSignal: (sig: string) => void = () => {};
  const signalled = new Promise<string>((resolve) => (onFirstSignal = resolve));
  const onSignal = (sig: string): void => {
    if (sig === 'SIGHUP' && !leftTerminal) {
      leftTerminal = true;
      leaveHungUpTerminal(ttys);
    }
    if (firstSignal === undefined) {
      firstSignal = sig;
      onFirstSignal(sig);
      return;
    }
    // A third signal while the inferences in flight finish: exit now, whatever it costs.
    if (exiting) process.exit(1);
    exiting = true;
    log.warn('second signal while stopping: exiting now; queued packages stay on disk for the next start', { signal: sig, first: firstSignal });
    // Counted at the exit, not at the signal: until the inferences end the stop goes on queueing the
    // images the policies held, and counts taken at the signal missed them (41 queued, 40 said).
    exitAfterInferences(svc.detect, 1, () => {
      printCounts(svc.runCounts(), (line) => console.log(line), eventsWithoutImages(config));
      printCameraTrouble(svc.cameras.values(), (line) => console.log(line));
    });
  };
  let exiting = false;
  // SIGHUP is what a closed ssh terminal sends to a run started from it: its default action killed
  // the process at once (exit 129), losing the images the selection policy still held. It stops gracefully too.
  stopDuringStart.handOver((sig) => onSignal(sig));
  log.info('running', { cameras: config.cameras.map((c) => c.id), provider: svc.provider });
  systemd.ready(`running ${config.cameras.length} camera(s), inference on ${svc.provider}`);
  let reason = await Promise.race([signalled, svc.done().then(() => 'sources ended')]);
  if (reason === 'sources ended' && firstSignal === undefined) {
    // U2: a source that ended leaves its cached packages; deliver them (bounded) before exiting.
    const drainS = config.upload.drainTimeoutS;
    const startLeft = svc.runCounts().stillQueued;
    if (startLeft > 0) log.info('sources ended; draining the queue', { queued: startLeft, drainTimeoutS: drainS, sendHz: config.upload.sendHz });
    let lastLog = performance.now();
    let leftAtLog: number | undefined;
    let lastLeft = Number.POSITIVE_INFINITY;
    let movedAt = performance.now();
    const drainDone = svc.drain(drainS * 1000, (left) => {
      const now = performance.now();
      leftAtLog ??= left;
      if (left < lastLeft) {
        if (lastLeft !== Number.POSITIVE_INFINITY) movedAt = now;
        lastLeft = left;
      }
      if (now - lastLog < 5000) return;
      // The ETA is the rate packages left at since the last line, never a promise from sendHz:
      // while the endpoint refuses, or takes the packages and never answers, say what the drain waits for.
      const etaS = drainEtaS(leftAtLog, left, (now - lastLog) / 1000);
      lastLog = now;
      leftAtLog = left;
      // A queue emptied by refusals is no delivery: 'draining, left 12' while the endpoint
      // dead-letters every package read as progress. Where packages were refused, the line says how many.
      const { delivered, deadLettered } = svc.runCounts();
      const outcome = deadLettered > 0 ? { delivered, deadLettered } : {};
      if (svc.endpointDown) log.info('draining: waiting for the endpoint to take packages', { left, drainTimeoutS: drainS, ...outcome });
      else if (etaS === undefined) log.info("draining: waiting for the endpoint's answer; no package acknowledged", { left, forS: Math.round((now - movedAt) / 1000), drainTimeoutS: drainS, ...outcome });
      else log.info('draining', { left, etaS, ...outcome });
    });
    // A signal during the drain stops it at once: what is left stays on disk.
    const left = await Promise.race([drainDone, signalled.then(() => -1)]);
    if (left > 0) log.warn('drain timed out; packages stay queued on disk for the next start', { left, drainTimeoutS: drainS, queue: config.queue.path });
    if (left < 0) log.info('drain interrupted; packages stay queued on disk for the next start', { signal: firstSignal, left: svc.runCounts().stillQueued });
  }
  if (firstSignal !== undefined) reason = firstSignal;
  log.info('stopping', { reason });
  systemd.stopping();
  const timer = setTimeout(() => {
    log.error('stop took too long, exiting', { stopTimeoutMs });
    // A worker inside an inference when the process exits aborts it (SIGABRT, exit 134): they finish first.
    exitAfterInferences(svc.detect, 1);
  }, stopTimeoutMs);
  await svc.stop();
  if (reportTimer) clearInterval(reportTimer);
  writeRunReport();
  await obs.close();
  clearTimeout(timer);
  const counts = svc.runCounts();
  log.info('stopped', {
    reason,
    framesProcessed: counts.frames.processed,
    framesSkipped: counts.frames.skipped,
    framesDropped: counts.frames.dropped,
    built: counts.packages.immediate + counts.packages.cached,
    sentImmediate: counts.sentImmediate,
    sentCached: counts.sentCached,
    delivered: counts.delivered,
    queueDepth: counts.stillQueued,
    ...(reportDir ? { report: join(reportDir, 'report.html') } : {}),
  });
  printCounts(counts, (line) => console.log(line), eventsWithoutImages(config));
  printCameraTrouble(svc.cameras.values(), (line) => console.log(line));
  // A camera whose recording could not be played at all: the run did not do what was asked.
  return [...svc.cameras.values()].some((c) => c.state === 'failed') ? 1 : 0;
}

export const command: Command = {
  summary: 'run the pipeline from a config file',
  usage,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, 'stop-timeout-ms': { type: 'string', default: '10000' } } });
    if (!values.config) throw new UsageError("missing --config <file>; see 'bestshot run --help'");
    const stopTimeoutMs = Number(values['stop-timeout-ms']);
    if (!Number.isFinite(stopTimeoutMs) || stopTimeoutMs <= 0) throw new UsageError(`--stop-timeout-ms: expected a positive number of ms but received '${values['stop-timeout-ms']}'`);
    const { config, warnings } = await loadConfig(values.config);
    // A missing model, said as check-config says it and before the config's warnings: they said it
    // first ('model.path: file not found'), the model's load again, without its code (lost on the way
    // back from the worker) or a fix: two lines for one problem.
    if (!existsSync(config.model.path)) throw new ModelError(missingModelMessage(config.model.path), 'ERR_MODEL_NOT_FOUND');
    // A recording that is not there likewise: the warning 'file not found' came first, then the start's 'no such file'.
    refuseMissingRecording(config);
    const log: Logger = loggerFromConfig(config.log);
    routeProcessWarnings(log);
    for (const w of warnings) log.warn('config', { warning: w });

    // Armed before the locks are taken: a signal between taking them and arming it had its default
    // action, the process killed with both locks left (a CI run's SIGTERM, sent as the lock file
    // appeared, did). A signal handler runs after this synchronous code, so the locks are known then.
    let locks: { release(): void } | undefined;
    const stopDuringStart = exitOnSignalWhileStarting(log, { release: () => locks?.release() });
    // One run per stateDir and per queue, taken before anything opens — the metrics port included, so a
    // second start on the same config is refused for what it is, not for the port the first one holds.
    locks = lockRun({ stateDir: config.stateDir, queuePath: config.queue.path }, { command: 'bestshot run', log });
    const unset = clockNotSet(Date.now());
    if (unset) log.warn('wall clock not set', { now: new Date().toISOString(), hint: unset });
    try {
      checkOutputDirs(config);
      return await runService(config, log, stopTimeoutMs, stopDuringStart);
    } finally {
      locks.release();
    }
  },
};
