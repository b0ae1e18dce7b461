/** bestshot replay <video> [--config] [--out dir] [--report] [--policy] */
import { CaptureError, UsageError, ConfigError } from '../../errors.js';
import { parseArgs, writableFolder } from '../args.js';
import { existsSync, openSync, rmSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { unsupportedFileFormat } from '../../capture/index.js';
import { replayMotSequence } from '../../runtime/replay-mot.js';
import { loadConfig, loadDemoConfig, type BestshotConfig, type CameraConfig } from '../../config/index.js';
import { POLICY_NAMES, type PolicyName } from '../../select/index.js';
import { runReplay, type ReplaySummary } from '../../runtime/replay.js';
import { lockQueue, lockStateDir } from '../../runtime/run-lock.js';
import type { RuntimeLogger } from '../../runtime/service.js';
import { loggerFromConfig, maskUrlCredentials, type LogSink } from '../../log.js';
import { createProgress, expectedFrames } from '../progress.js';
import type { Command } from '../commands.js';
import { endBySignal, exitAfterInferences, handOverSignals, type InFlightInferences } from '../signals.js';
import { makeDirectory } from '../../process-lock.js';
import { queueDroppedText, unsentObjectsText } from '../../runtime/upload-hints.js';

const usage = `Usage: bestshot replay <video | MOT sequence dir> [--config file.yaml] [--out dir] [--report] [--policy name] [--quiet]

Offline run of the whole pipeline on a recording: every frame on the
captureHz grid is detected, tracked and selected (none dropped for being late),
packages go to the configured endpoint (or to the reference receiver started
on loopback), and the run writes tracks.jsonl, uploads.jsonl and summary.json
into --out (default ./replay-out), plus an HTML report with --report.
Everything of the run lives under --out: the queue, the image-id state, the
embedded receiver's store, the report and run.log; an earlier run's files
there are replaced, so a second run never sees the first one's packages
(while a replay still runs there, another one on the same --out is
refused, exit 1).
Logs go to stderr (and run.log); stdout carries the summary only.
SIGTERM, SIGINT or SIGHUP stops a replay early: the frames in flight finish,
tracks.jsonl, uploads.jsonl and summary.json ("interrupted": the signal) are
written for the frames processed, the summary printed, the run folder's locks
released, and it exits 128 + the signal's number (143 for SIGTERM, 130 for
SIGINT). A second signal while it stops exits with the same code once the
inferences in flight end (at most 2 s), the outputs incomplete; while the
model still loads, the signal ends it at once. A signal once the replay has
finished changes nothing: it exits with the replay's own code.

  --config   YAML config; its first camera is used with the video as source
             (default: config/demo.yaml)
  --policy   selection policy: ${POLICY_NAMES.join(', ')} (default: the config's)
  --quiet    no progress line

A MOTChallenge sequence directory (with det/det.txt) replays its detections
through the tracker and the selection policy and writes tracks.jsonl,
selections.jsonl and summary.json; it has no images, so nothing is uploaded.
Its frame rate and image size come from seqinfo.ini (frameRate, imWidth,
imHeight; MOTChallenge's own for the MOT15 train sequences, which ship
without one); without them the replay is refused, as the selection depends
on both.`;

export function printSummary(s: ReplaySummary, out: (line: string) => void = console.log): void {
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  out('');
  out(`source:            ${s.source}`);
  out(`policy:            ${s.policy}   (inference: ${s.provider})`);
  out(`frames:            ${s.framesProcessed} processed of ${s.framesCaptured} decoded (${s.framesSkipped} skipped by the captureHz grid, ${s.framesDropped} dropped)`);
  out(`objects tracked:   ${s.objectsTracked}`);
  out(`images selected:   ${s.packagesImmediate} immediate + ${s.packagesCached} cached = ${s.packagesImmediate + s.packagesCached}`);
  if (s.unsentObjects > 0) out(`never sent:        ${unsentObjectsText(s.unsentObjects)}`);
  out(
    `delivered:         ${s.delivered} acknowledged by the endpoint${s.replaced > 0 ? `, ${s.replaced} replaced in the queue by a better image of the same object` : ''}${s.undelivered > 0 ? `, ${s.undelivered} still queued (${s.interrupted !== undefined ? 'interrupted' : 'drain timed out'})` : ''}${s.queueDropped > 0 ? `, ${queueDroppedText(s.queueDropped)}` : ''}${s.deadLettered > 0 ? `, ${s.deadLettered} refused by it (dead letters: run.log says why)` : ''}`,
  );
  out(`bytes selected:    ${kb(s.bytesSelected)} vs ${kb(s.bytesEveryFrame)} for every frame → ${s.byteRatio.toFixed(1)}× fewer`);
  out(`latency:           p50 ${s.latencyMs.p50.toFixed(1)} ms, p99 ${s.latencyMs.p99.toFixed(1)} ms (capture → packages built)`);
  out(`wall time:         ${s.durationS.toFixed(1)} s`);
  if (s.interrupted !== undefined) out(`interrupted:       by ${s.interrupted}, before the recording ended`);
  if (s.reportPath) out(`report:            ${s.reportPath}`);
}

/** Files of an earlier run in the same --out folder, replaced by a new run. */
const RUN_FILES = ['queue.sqlite', 'queue.sqlite-wal', 'queue.sqlite-shm', 'state', 'receiver', 'report', 'images', 'tracks.jsonl', 'uploads.jsonl', 'summary.json', 'run.log'];

/** Every path of the run under outDir, so runs never share a queue, state or store. */
function confineToRunDir(config: BestshotConfig, outDir: string): BestshotConfig {
  return {
    ...config,
    queue: { ...config.queue, path: join(outDir, 'queue.sqlite') },
    receiver: { ...config.receiver, dir: join(outDir, 'receiver') },
    stateDir: join(outDir, 'state'),
    report: { ...config.report, dir: join(outDir, 'report') },
  };
}

/** Fails before any work when the output folder cannot be written. */

/** Log lines to stderr and to the run's own run.log. */
function teeSink(file: string): LogSink {
  const fd = openSync(file, 'a');
  return {
    isTTY: process.stderr.isTTY,
    write(line: string) {
      process.stderr.write(line);
      try {
        writeSync(fd, line);
      } catch {
        // a full disk loses log lines, never the run
      }
    },
  };
}

/** What a signal does once the replay has ended: nothing (the process is exiting with the replay's code). */
const ignoreSignal = (): void => {};

/** 128 + the signal's number, the shell's code for a process a signal ended (SIGTERM 143, SIGINT 130, SIGHUP 129). */
function interruptedExitCode(signal: string): number {
  return 128 + (constants.signals[signal as NodeJS.Signals] ?? 15);
}

/** `--policy NAME` of replay and demo: one of the policies, or a usage error (exit 2) before anything is printed or started. */
export function checkPolicyFlag(policy: string | undefined): void {
  if (policy !== undefined && !(POLICY_NAMES as readonly string[]).includes(policy)) {
    throw new UsageError(`Expected one of ${POLICY_NAMES.join(', ')} for --policy but received '${policy}'`);
  }
}

export async function replayMain(
  argv: string[],
  defaults: {
    config?: BestshotConfig;
    out?: string;
    report?: boolean;
    logLevel?: 'info' | 'warn';
    /** A first stdout line, printed once the arguments and the output folder have passed their checks (demo's). */
    banner?: (source: string) => string;
    /** The command named to a second process on the same run folder. Default 'bestshot replay'. */
    command?: string;
    /** What that second process is told to take instead. Default 'an --out of its own'. */
    ownRunDir?: string;
  } = {},
  injectedLogger?: RuntimeLogger,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      out: { type: 'string' },
      report: { type: 'boolean', default: defaults.report ?? false },
      policy: { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  let config = defaults.config ?? (values.config ? (await loadConfig(values.config)).config : (await loadDemoConfig()).config);
  const video = positionals[0];
  if (!defaults.config && !video) {
    console.error(usage);
    return 2;
  }
  const cam = config.cameras[0];
  if (!cam) throw new ConfigError('cameras', 'the config has no camera');
  checkPolicyFlag(values.policy);
  if (video && existsSync(join(video, 'det', 'det.txt'))) {
    if (values.policy !== undefined) cam.selection.policy = values.policy as PolicyName;
    const out = resolve(values.out ?? defaults.out ?? 'replay-out');
    const s = await replayMotSequence(resolve(video), cam, out);
    // A MOT sequence has detections, no images: nothing for a report to show (it was ignored without a word).
    if (values.report) console.error('bestshot replay: warning: --report ignored: a MOT sequence carries no images (the selections are in selections.jsonl)');
    for (const w of s.warnings) console.error(`bestshot replay: warning: ${w}`);
    console.log(`sequence:          ${s.sequence} (${s.framesInSequence} frames at ${s.frameRate} fps; ${s.framesProcessed} on the ${cam.captureHz} Hz grid)`);
    console.log(`policy:            ${s.policy}`);
    console.log(`objects tracked:   ${s.objectsTracked}`);
    console.log(`selections:        ${s.selectionsImmediate} immediate + ${s.selectionsCached} cached (${s.selectionsPerObject.toFixed(2)} per object) vs ${s.everyFramePackages} frames with an object`);
    console.log('uploads:           none (a MOT sequence carries no images)');
    console.log(`outputs:           ${out}/{tracks.jsonl,selections.jsonl,summary.json}`);
    return 0;
  }
  if (video) {
    // The input is checked before the model loads or anything is written.
    // A camera URL is not a recording: 'no such recording: rtsp://…' read as if the file were missing.
    if (!existsSync(video) && /^(?!file:)[a-z][a-z0-9+.-]*:\/\//i.test(video)) {
      throw new UsageError(`replay reads a recording file, not a camera URL (${maskUrlCredentials(video)}): record the stream to a file first, or run the camera with 'bestshot run' (its config's source), or look at it with 'bestshot probe'`);
    }
    if (!existsSync(video)) throw new UsageError(`no such recording: ${video}`);
    // A MOTChallenge folder without its detections (gt/ and seqinfo.ini only): said as track --mot says it,
    // not as a folder given for a video.
    if (existsSync(join(video, 'seqinfo.ini')) || existsSync(join(video, 'gt', 'gt.txt'))) {
      throw new UsageError(`no such file: ${join(video, 'det', 'det.txt')} (a MOTChallenge sequence folder is replayed from its det/det.txt; this one has none)`);
    }
    const unsupported = unsupportedFileFormat(video);
    if (unsupported !== undefined) throw new UsageError(unsupported);
    cam.source = { type: 'file', path: resolve(video), realtime: false, loop: false };
  }
  if (values.policy !== undefined) cam.selection.policy = values.policy as PolicyName;
  const outDir = resolve(values.out ?? defaults.out ?? 'replay-out');
  writableFolder(outDir, '--out');
  // The run folder's queue is locked before an earlier run's files are removed: a replay still running
  // there keeps them (and this one is refused), as `bestshot run` keeps its stateDir and queue.
  const command = defaults.command ?? 'bestshot replay';
  const own = defaults.ownRunDir ?? 'an --out of its own';
  // What the locks say (a stale lock taken over) waits for the run's logger, made once the folder is clean.
  const said: Array<['info' | 'warn', string, Record<string, unknown> | undefined]> = [];
  const lockOptions = {
    command,
    own: { stop: '', stateDir: own, queue: own },
    log: { info: (m: string, f?: Record<string, unknown>) => said.push(['info', m, f]), warn: (m: string, f?: Record<string, unknown>) => said.push(['warn', m, f]) },
  };
  const queueLock = lockQueue(join(outDir, 'queue.sqlite'), lockOptions);
  try {
    if (defaults.banner) console.log(defaults.banner(cam.source.type === 'file' ? (video ?? cam.source.path) : cam.source.type));
    for (const f of RUN_FILES) rmSync(join(outDir, f), { recursive: true, force: true });
    config = confineToRunDir({ ...config, cameras: [cam] }, outDir);
    makeDirectory(dirname(config.queue.path));
    const stateLock = lockStateDir(config.stateDir, lockOptions);
    try {
      const logger =
        injectedLogger ?? loggerFromConfig({ ...config.log, level: defaults.logLevel ?? config.log.level }, teeSink(join(outDir, 'run.log')));
      for (const [level, m, f] of said) logger[level](m, f);
      return await replayVideo(config, cam, outDir, values, logger, {
        release: () => {
          stateLock.release();
          queueLock?.release();
        },
      });
    } finally {
      stateLock.release();
    }
  } finally {
    queueLock?.release();
  }
}

/** The replay of a recording in its run folder, its locks held; the exit code. */
async function replayVideo(
  config: BestshotConfig,
  cam: CameraConfig,
  outDir: string,
  values: { report?: boolean; quiet?: boolean },
  logger: RuntimeLogger,
  locks: { release(): void },
): Promise<number> {
  const progress = createProgress({
    enabled: !values.quiet,
    total: cam.source.type === 'file' ? expectedFrames(cam.source.path, cam.captureHz) : undefined,
  });
  let summary: ReplaySummary;
  const stop = new AbortController();
  const signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  // SIGTERM, SIGINT or SIGHUP mid-replay was the default kill (exit 143/130/129): tracks.jsonl and
  // uploads.jsonl cut short (a buffered last line lost, or half written), no summary.json, the run
  // folder's locks and the queue left as they were. The first stops the replay: the frames in flight
  // finish, the outputs are written for what was processed, the locks released. A second exits as soon
  // as the inferences in flight end: process.exit() at once aborted the process (exit 134) when a
  // detector worker was inside one (6 of 6 double SIGTERMs mid-replay).
  let detect: InFlightInferences | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!stop.signal.aborted) {
      logger.warn('stopping the replay: the outputs will cover the frames processed so far', { signal });
      stop.abort(signal);
      return;
    }
    logger.warn('second signal while stopping: exiting now; the outputs are incomplete', { signal });
    if (detect !== undefined) {
      exitAfterInferences(detect, interruptedExitCode(signal));
    } else {
      // The model still loading: the signal's own default action, the run folder's locks released first.
      locks.release();
      endBySignal(signal);
    }
  };
  for (const sig of signals) process.on(sig, onSignal);
  try {
    summary = await runReplay({
      config,
      outDir,
      report: values.report ?? false,
      logger,
      drainTimeoutMs: config.upload.drainTimeoutS * 1000,
      progress: (n, u) => progress.frames(n, u),
      draining: (left) => progress.draining(left, config.upload.sendHz),
      stop: stop.signal,
      started: (d) => (detect = d),
    });
  } finally {
    // Once the replay has ended, a signal changes nothing: taken and dropped until the process exits
    // with the replay's code (bin/bestshot.js exits at once). With no listener left, a signal in
    // Node's teardown had its default action, exit 143 after a replay that had finished.
    handOverSignals(signals, onSignal, ignoreSignal);
    setImmediate(() => {
      for (const sig of signals) process.off(sig, ignoreSignal);
    });
    progress.stop();
  }
  // A damaged recording ends without a frame and without a decoder error: a failed replay, not an empty one.
  if (summary.framesCaptured === 0 && cam.source.type === 'file' && summary.interrupted === undefined) {
    throw new CaptureError(`no frame could be decoded from ${cam.source.path}: the file is damaged or not an image or video GStreamer can read`);
  }
  printSummary(summary);
  console.log(`outputs:           ${outDir}/{tracks.jsonl,uploads.jsonl,summary.json}`);
  if (summary.interrupted !== undefined) {
    // Exit as the signal's default action would have (128 + its number): a script sees the replay did not finish.
    logger.warn('replay interrupted: its outputs cover the frames processed before the stop', {
      signal: summary.interrupted,
      framesProcessed: summary.framesProcessed,
      undelivered: summary.undelivered,
    });
    return interruptedExitCode(summary.interrupted);
  }
  if (summary.undelivered > 0) {
    logger.error('the endpoint did not take every package before the drain timeout', {
      undelivered: summary.undelivered,
      drainTimeoutS: config.upload.drainTimeoutS,
      queue: config.queue.path,
      // Unlike bestshot run's queue, nothing sends these later: the next replay on this --out replaces the queue.
      note: 'they are not sent later: the next replay on this --out starts a fresh queue; raise upload.drainTimeoutS or replay again once the endpoint takes packages',
    });
    return 1;
  }
  // Before: packages the endpoint refused (409, 4xx) were logged as warnings and the replay exited 0.
  if (summary.deadLettered > 0) {
    logger.error('the endpoint refused packages for good (dead letters)', { deadLettered: summary.deadLettered, queue: config.queue.path });
    return 1;
  }
  return 0;
}

export const command: Command = {
  summary: 'offline run on a recording, with tracks, selections, upload log and report',
  usage,
  run: (argv) => replayMain(argv),
};
