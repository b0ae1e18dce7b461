/** bestshot replay <video> [--config] [--out dir] [--report] [--policy] */
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { replayMotSequence } from '../../runtime/replay-mot.js';
import { loadConfig, loadDemoConfig, type BestshotConfig } from '../../config/index.js';
import { POLICY_NAMES, type PolicyName } from '../../select/index.js';
import { runReplay, type ReplaySummary } from '../../runtime/replay.js';
import { consoleLogger, type RuntimeLogger } from '../../runtime/service.js';
import type { Command } from '../commands.js';

const usage = `Usage: bestshot replay <video | MOT sequence dir> [--config file.yaml] [--out dir] [--report] [--policy name] [--quiet]

Offline run of the whole pipeline on a recording: every frame on the
captureHz grid is detected, tracked and selected (none dropped for being late),
packages go to the configured endpoint (or to the reference receiver started
on loopback), and the run writes tracks.jsonl, uploads.jsonl and summary.json
into --out (default ./replay-out), plus an HTML report with --report.

  --config   YAML config; its first camera is used with the video as source
             (default: config/demo.yaml)
  --policy   selection policy: ${POLICY_NAMES.join(', ')} (default: the config's)
  --quiet    no progress line

A MOTChallenge sequence directory (with det/det.txt) replays its detections
through the tracker and the selection policy and writes tracks.jsonl,
selections.jsonl and summary.json; it has no images, so nothing is uploaded.`;

export function printSummary(s: ReplaySummary, out: (line: string) => void = console.log): void {
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  out('');
  out(`source:            ${s.source}`);
  out(`policy:            ${s.policy}   (inference: ${s.provider})`);
  out(`frames:            ${s.framesProcessed} processed of ${s.framesCaptured} decoded (${s.framesDropped} dropped)`);
  out(`objects tracked:   ${s.objectsTracked}`);
  out(`images sent:       ${s.packagesImmediate} immediate + ${s.packagesCached} cached = ${s.packagesImmediate + s.packagesCached}; ${s.delivered} stored by the receiver`);
  out(`bytes sent:        ${kb(s.bytesSent)} vs ${kb(s.bytesEveryFrame)} for every frame → ${s.byteRatio.toFixed(1)}× fewer`);
  out(`latency:           p50 ${s.latencyMs.p50.toFixed(1)} ms, p99 ${s.latencyMs.p99.toFixed(1)} ms (capture → packages built)`);
  out(`wall time:         ${s.durationS.toFixed(1)} s`);
  if (s.reportPath) out(`report:            ${s.reportPath}`);
}

export async function replayMain(
  argv: string[],
  defaults: { config?: BestshotConfig; out?: string; report?: boolean } = {},
  logger: RuntimeLogger = consoleLogger,
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
  if (!cam) throw new Error('the config has no camera');
  if (values.policy !== undefined && !(POLICY_NAMES as readonly string[]).includes(values.policy)) {
    throw new TypeError(`Expected one of ${POLICY_NAMES.join(', ')} for --policy but received '${values.policy}'`);
  }
  if (video && existsSync(join(video, 'det', 'det.txt'))) {
    if (values.policy !== undefined) cam.selection.policy = values.policy as PolicyName;
    const out = resolve(values.out ?? defaults.out ?? 'replay-out');
    const s = await replayMotSequence(resolve(video), cam, out);
    console.log(`sequence:          ${s.sequence} (${s.framesInSequence} frames at ${s.frameRate} fps; ${s.framesProcessed} on the ${cam.captureHz} Hz grid)`);
    console.log(`policy:            ${s.policy}`);
    console.log(`objects tracked:   ${s.objectsTracked}`);
    console.log(`selections:        ${s.selectionsImmediate} immediate + ${s.selectionsCached} cached (${s.selectionsPerObject.toFixed(2)} per object) vs ${s.everyFramePackages} frames with an object`);
    console.log('uploads:           none (a MOT sequence carries no images)');
    console.log(`outputs:           ${out}/{tracks.jsonl,selections.jsonl,summary.json}`);
    return 0;
  }
  if (video) cam.source = { type: 'file', path: resolve(video), realtime: false, loop: false };
  if (values.policy !== undefined) cam.selection.policy = values.policy as PolicyName;
  config = { ...config, cameras: [cam] };
  const outDir = resolve(values.out ?? defaults.out ?? 'replay-out');
  const tty = process.stderr.isTTY && !values.quiet;
  const summary = await runReplay({
    config,
    outDir,
    report: values.report ?? false,
    logger,
    progress: tty ? (n, u) => process.stderr.write(`\r  frames ${n}  uploads ${u}   `) : undefined,
  });
  if (tty) process.stderr.write('\n');
  printSummary(summary);
  console.log(`outputs:           ${outDir}/{tracks.jsonl,uploads.jsonl,summary.json}`);
  return summary.undelivered === 0 ? 0 : 1;
}

export const command: Command = {
  summary: 'offline run on a recording, with tracks, selections, upload log and report',
  usage,
  run: (argv) => replayMain(argv),
};
