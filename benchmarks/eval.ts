/**
 * npm run eval -- <clip|sequence|sim|all> [--policies a,b] [--hz 10] [--send-hz 2]
 *   [--max-latency S] [--interval S] [--set name=value,...] [--tracker name=value,...] [--out NAME] [--objects] [--lost] [--no-cache] [--md]
 *
 * The evaluation (docs/evaluation.md): runs every selection policy on the same detections and tracks of
 * each input, prints a table per input and writes
 * benchmarks/results/eval-<target>.json and eval-<target>.svg. Clip
 * detections are cached in benchmarks/results/cache/ (key: clip sha, model
 * sha, hz), so a second run costs seconds.
 */
import { basename } from 'node:path';
import { createCountBar } from '../src/cli/progress.js';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
// The CLI's parser: `--budget -5` is the value -5 (refused with --budget's range), not Node's "ambiguous" error.
import { parseArgs } from '../src/cli/args.js';
import { Detector, TRAFFIC_CLASSES } from '../src/detect/index.js';
import {
  evaluateInput,
  formatMarkdown,
  formatPooled,
  formatPooledContent,
  formatLost,
  formatLostPooled,
  poolReports,
  formatTable,
  loadClipInput,
  loadMotInput,
  loadSimInput,
  renderSvg,
  resolveTarget,
  splitHalves,
  type EvalInput,
  type EvalReport,
  type PolicyResult,
} from '../src/eval/index.js';
import { PROJECT_ROOT, SHARED_DATA_DIR } from '../src/paths.js';
import {
  BudgetPolicy,
  createPolicy,
  POLICY_NAMES,
  POLICY_OPTION_NAMES,
  POLICY_OPTIONS,
  policyOption,
  validateSelectionParams,
  type BudgetCounters,
  type PolicyName,
  type PolicyOptionName,
  type PolicyOptions,
} from '../src/select/index.js';
import { SELECTION_SECTION, UPLOAD_SECTION } from '../src/config/sections.js';
import { touchesEdge } from '../src/geometry/box.js';
import { resolveTrackerOptions, type TrackerOptions } from '../src/track/index.js';
import type { UploadContent } from '../src/upload/index.js';
import { BestshotError } from '../src/errors.js';

/** The product's default policy and upload.content (the config schema's). */
const DEFAULT_POLICY = (SELECTION_SECTION.fields.policy as { default: PolicyName }).default;
const DEFAULT_CONTENT = (UPLOAD_SECTION.fields.content as { default: UploadContent }).default;
import { machine } from './util.js';

const usage = `usage: npm run eval -- <clip|sequence|sim|all> [--policies ${POLICY_NAMES.join(',')}] [--hz 10] [--send-hz 2]
       [--max-latency S (final-best 3, shared-best 10)] [--interval S (interval, default 1)]
       [--set name=value,... (any policy option of src/select/options.ts)] [--tracker name=value,... (tracker options over the product's, docs/tracking.md)] [--budget F (also run 'budget' at F × the default policy's bytes)]
       [--out NAME|PATH (NAME: benchmarks/results/eval-NAME.{json,svg}; a path with a '/': PATH.json and PATH.svg)] [--objects] [--lost] [--no-cache] [--md] [--pixel-format i420|bgr (clips captured as the runtime's cameras[].pixelFormat; default i420)]`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      policies: { type: 'string' },
      hz: { type: 'string', default: '10' },
      'send-hz': { type: 'string', default: '2' },
      'max-latency': { type: 'string' },
      interval: { type: 'string' },
      set: { type: 'string' },
      tracker: { type: 'string' },
      budget: { type: 'string' },
      out: { type: 'string' },
      objects: { type: 'boolean', default: false },
      lost: { type: 'boolean', default: false },
      'no-cache': { type: 'boolean', default: false },
      md: { type: 'boolean', default: false },
      'pixel-format': { type: 'string', default: 'i420' },
      help: { type: 'boolean', default: false },
    },
  });
  const pixelFormat = values['pixel-format'] === 'bgr' ? 'BGR' : values['pixel-format'] === 'i420' ? 'I420' : undefined;
  if (pixelFormat === undefined) {
    console.error(`eval: --pixel-format must be i420 or bgr, not ${values['pixel-format']}`);
    return 2;
  }
  const target = positionals[0];
  if (values.help || target === undefined) {
    console.log(usage);
    return target === undefined && !values.help ? 2 : 0;
  }
  const hz = positiveNumber('--hz', values.hz);
  const sendHz = positiveNumber('--send-hz', values['send-hz']);
  // A fraction of the default policy's bytes: checked here, not after the first input's whole evaluation (runBudget), nor ignored on MOT targets.
  const budget = values.budget === undefined ? undefined : positiveNumber('--budget', values.budget);
  let policies: PolicyName[] = [...POLICY_NAMES];
  if (values.policies !== undefined) {
    policies = values.policies.split(',').map((p) => p.trim()) as PolicyName[];
    for (const p of policies) {
      if (!(POLICY_NAMES as readonly string[]).includes(p)) throw new UsageError(`Expected one of ${POLICY_NAMES.join(', ')} for --policies but received '${p}'`);
    }
  }
  const policyOptions: PolicyOptions = {};
  if (values['max-latency'] !== undefined) policyOptions.maxLatencyS = positiveNumber('--max-latency', values['max-latency'], 'positive number of seconds');
  if (values.interval !== undefined) policyOptions.intervalS = positiveNumber('--interval', values.interval, 'positive number of seconds');
  for (const kv of values.set?.split(',') ?? []) {
    const parts = kv.split('=').map((x) => x.trim());
    const [k, v] = parts;
    if (parts.length !== 2 || k === undefined || v === undefined || v === '' || !Number.isFinite(Number(v)) || !(POLICY_OPTION_NAMES as readonly string[]).includes(k)) {
      throw new UsageError(`Expected name=number with a name among ${POLICY_OPTION_NAMES.join(', ')} for --set but received '${kv}'`);
    }
    const name = k as PolicyOptionName;
    // The range the policies themselves check (budgetBytesPerS > 0, shareCandidates an integer, …), whichever policies run:
    // a value out of range is a wrong flag, not a RangeError from a policy's constructor after the input is decoded.
    usageOnArgumentError(`--set '${kv}'`, () => policyOption(name, POLICY_OPTIONS[name].policies[0], Number(v)));
    policyOptions[name] = Number(v);
  }
  // And every policy this run builds, built once with these options as evaluateInput and runBudget will:
  // whatever a constructor refuses is refused here, before any input is read.
  const built = new Set<PolicyName>(['every-frame', ...policies, ...(budget === undefined ? [] : [DEFAULT_POLICY, 'budget' as const])]);
  for (const p of built) usageOnArgumentError(`policy '${p}'`, () => createPolicy(p, policyOptions));
  const tracker = trackerOverrides(values.tracker);
  // Where the JSON and SVG go, settled before the run so a bad --out costs no decoding.
  const outPrefix = resultsPrefix(values.out, target);
  const sources = resolveTarget(target, SHARED_DATA_DIR);
  const results = new URL('./results/', import.meta.url);
  const cacheDir = new URL('./cache/', results).pathname;
  let detector: Detector | undefined;
  const getDetector = async (): Promise<Detector> =>
    (detector ??= await Detector.create({ providers: ['cpu'], intraOpNumThreads: 2, classes: [...TRAFFIC_CLASSES] }));
  const t0 = performance.now();
  const reports: EvalReport[] = [];
  const budgetRuns: BudgetRun[] = [];
  console.log(`eval: ${sources.length} input(s), policies ${policies.join(', ')}, ${hz} Hz, sendHz ${sendHz}; ${machine()}`);
  // Progress on stderr (a terminal only); the tables go to stdout.
  const bar = createCountBar({ total: sources.length, unit: 'inputs' });
  for (const [k, s] of sources.entries()) {
    bar.tick(k, s.kind === 'sim' ? 'simulated scene' : basename(s.path));
    const t1 = performance.now();
    let input: EvalInput;
    try {
      if (s.kind === 'clip') input = await loadClipInput(s.path, { hz, detector: getDetector, cacheDir: values['no-cache'] ? undefined : cacheDir, pixelFormat });
      else if (s.kind === 'mot') input = loadMotInput(s.path, { hz });
      else input = await loadSimInput({ hz });
    } catch (err) {
      // An input that cannot be read (not a video, a sequence without seqinfo.ini) ends the run in one line naming it; a bug keeps its stack.
      if (!(err instanceof BestshotError)) throw err;
      bar.stop();
      await detector?.close();
      const input = s.kind === 'sim' ? 'simulated scene' : s.path;
      // A capture error that already names the file is not prefixed with it twice.
      console.error(`eval: ${err.message.startsWith(input) ? '' : `${input}: `}[${err.code}] ${err.message}`);
      return 1;
    }
    const rep = evaluateInput(input, { policies, sendHz, policyOptions, tracker });
    reports.push(rep);
    if (budget !== undefined && rep.policies.every((p) => p.bytes !== null)) {
      // The same byte budget spent on the default's content, and on crops (what a tight uplink buys most objects with).
      for (const content of BUDGET_CONTENTS) budgetRuns.push(runBudget(input, rep, budget, sendHz, policyOptions, content, tracker));
    }
    console.log('');
    console.log(values.md ? formatMarkdown(rep) : formatTable(rep));
    if (values.lost) {
      const lost = formatLost(rep);
      if (lost !== '') console.log(`\n${lost}`);
    }
    console.log(`  (${((performance.now() - t1) / 1000).toFixed(1)} s)`);
  }
  bar.tick(sources.length);
  bar.stop();
  await detector?.close();
  const imaged = reports.filter((r) => r.policies.every((p) => p.bytes !== null));
  const boxOnly = reports.filter((r) => r.policies.some((p) => p.bytes === null));
  const halves = splitHalves(imaged);
  const pooled = {
    withImages: imaged.length > 1 ? poolReports(imaged) : null,
    halfA: halves.a.length > 0 && halves.b.length > 0 ? poolReports(halves.a) : null,
    halfB: halves.a.length > 0 && halves.b.length > 0 ? poolReports(halves.b) : null,
    halves: { a: halves.a.map((r) => r.input.name), b: halves.b.map((r) => r.input.name) },
    boxesOnly: boxOnly.length > 1 ? poolReports(boxOnly) : null,
  };
  if (pooled.withImages) {
    console.log(`\n${formatPooled(pooled.withImages, `pooled over ${imaged.length} inputs with images (bytes)`)}`);
    console.log(`\n${formatPooledContent(pooled.withImages, `by upload.content, pooled over ${imaged.length} inputs with images (crops: JPEG q90, margin 15 %; frame+crops adds the frame at q40, 640 px wide at most)`)}`);
  }
  if (imaged.length > 0) console.log(`\n${formatLostPooled(imaged, `coverable objects lost, by reason, over ${imaged.length} inputs with images (--lost lists them)`)}`);
  if (pooled.halfA && pooled.halfB) {
    console.log(`\n${formatPooled(pooled.halfA, `half A (inputs with images sorted by name, even positions: ${pooled.halves.a.join(', ')})`)}`);
    console.log(`\n${formatPooled(pooled.halfB, `half B (odd positions: ${pooled.halves.b.join(', ')})`)}`);
    console.log(`\n${formatPooledContent(pooled.halfA, 'by upload.content, half A')}`);
    console.log(`\n${formatPooledContent(pooled.halfB, 'by upload.content, half B')}`);
  }
  if (pooled.boxesOnly) console.log(`\n${formatPooled(pooled.boxesOnly, `pooled over ${boxOnly.length} MOT sequences without images (packages)`)}`);
  for (const content of BUDGET_CONTENTS) {
    const runs = budgetRuns.filter((b) => b.budgetContent === content);
    if (runs.length > 0 && budget !== undefined) console.log(`\n${formatBudget(runs, budget)}`);
  }
  const totalS = (performance.now() - t0) / 1000;
  const prefix = outPrefix ?? new URL(`eval-${sources[0]!.name}`, results).pathname;
  mkdirSync(dirname(prefix), { recursive: true });
  const jsonPath = `${prefix}.json`;
  const svgPath = `${prefix}.svg`;
  // Per-object outcomes only with --objects (they make the file megabytes).
  // Paths are written relative to the project root, so results read the same on every machine.
  const bigint = (k: string, v: unknown): unknown =>
    typeof v === 'bigint'
      ? v.toString()
      : typeof v === 'string' && isAbsolute(v) && v.startsWith(dirname(PROJECT_ROOT))
        ? relative(PROJECT_ROOT, v)
        : k === 'objects' && Array.isArray(v) && !values.objects
          ? undefined
          : v;
  writeFileSync(
    jsonPath,
    JSON.stringify({ command: `npm run eval -- ${argv.join(' ')}`, machine: machine(), date: new Date().toISOString(), wallS: totalS, hz, sendHz, policies, tracker, pooled, budget: budgetRuns, reports }, bigint, 2),
  );
  writeFileSync(svgPath, renderSvg(reports, `bestshot eval: ${target} (${hz} Hz, sendHz ${sendHz})`));
  console.log('');
  console.log(`wall time ${totalS.toFixed(1)} s; wrote ${jsonPath} and ${svgPath}`);
  return 0;
}

/** The upload.content the 'budget' policy is measured with: the default's, then crops. */
const BUDGET_CONTENTS: readonly UploadContent[] = [...new Set<UploadContent>([DEFAULT_CONTENT, 'crops'])];

/**
 * The 'budget' policy on one input, its budget a fraction of the default
 * policy's bytes (in the default upload.content) over the input's duration;
 * the budget policy itself sends `budgetContent`.
 */
interface BudgetRun {
  input: string;
  defaultPolicy: string;
  /** The default's upload.content: what the budget is a fraction of. */
  content: UploadContent;
  /** What the budget policy sends, and is charged for. */
  budgetContent: UploadContent;
  /** Measured crop JPEG bytes per box pixel on this input (margin included): the cost estimate when budgetContent is crops. */
  cropBytesPerPixel: number;
  defaultBytes: number;
  budgetBytesPerS: number;
  defaultCoverage: number;
  /** Coverable objects of the input (the pooled curve's weight). */
  coverable: number;
  /** Bytes of the hindsight cover (whole frames): what covering every object once costs at least, knowing the future. */
  hindsightBytes: number;
  /** Value first, and the FIFO comparison at the same budget. */
  valueFirst: BudgetSide;
  fifo: BudgetSide;
}

interface BudgetSide {
  bytes: number;
  coverageOfCoverable: number;
  counters: BudgetCounters;
  /** Share of the coverable objects covered by 10 %, 20 %, …, 100 % of the input's duration. */
  curve: number[];
  /** Value sent (Σ of each package's value when sent, 'budget' module comment) by 10 %, 20 %, …, 100 % of the input's duration. */
  valueCurve: number[];
}

const CURVE_POINTS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

function runBudget(input: EvalInput, rep: EvalReport, fraction: number, sendHz: number, options: PolicyOptions, budgetContent: UploadContent, tracker: TrackerOptions): BudgetRun {
  const name = DEFAULT_POLICY;
  const content = DEFAULT_CONTENT;
  const def = rep.policies.find((p) => p.policy === name) ?? evaluateInput(input, { policies: [name], sendHz, policyOptions: options, tracker }).policies.find((p) => p.policy === name)!;
  const ef = rep.policies.find((p) => p.policy === 'every-frame')!;
  const bytesOf = (r: PolicyResult, c: UploadContent = content): number => (c === 'frame' ? r.bytes! : r.content![c].bytes);
  const coverageOf = (r: PolicyResult, c: UploadContent = content): number => (c === 'frame' ? r.coverageOfCoverable : r.content![c].coverageOfCoverable);
  // The package cost estimates from this camera's measured JPEG sizes (what a deployment sets once per camera).
  const bytesPerPixel = ef.bytes! / ef.packages / (input.width * input.height);
  const minScore1 = validateSelectionParams(options.params ?? {}).minScore1;
  let cropBytes = 0;
  let cropPixels = 0;
  for (const f of input.frames) {
    for (const [k, b] of f.detections.entries()) {
      if (b.score < minScore1 || touchesEdge(b, input.width, input.height)) continue;
      cropBytes += f.cropJpegBytes?.[k] ?? 0;
      cropPixels += b.w * b.h;
    }
  }
  const defaultBytes = bytesOf(def);
  const budgetBytesPerS = (fraction * defaultBytes) / rep.input.durationS;
  const t0 = input.frames[0]?.timestampNs ?? 0n;
  const side = (valueFirst: number): BudgetSide => {
    let counters: BudgetCounters | undefined;
    const r = evaluateInput(input, {
      policies: ['budget'],
      sendHz,
      tracker,
      policyOptions: {
        ...options,
        budgetBytesPerS,
        budgetBytesPerPixel: bytesPerPixel,
        budgetCropBytesPerPixel: budgetContent === 'frame' || cropPixels === 0 ? 0 : cropBytes / cropPixels,
        budgetValueFirst: valueFirst,
      },
      // The camera reports what each package took (the bucket pays real bytes, the estimate calibrates): as the runtime does.
      packageBytes: budgetContent,
      onPolicy: (p) => {
        if (p instanceof BudgetPolicy) counters = p.counters;
      },
    });
    const b = r.policies.find((p) => p.policy === 'budget')!;
    // When each object was first covered, by what the budget sends: its first package ('frame'), or its first crop.
    const at = budgetContent === 'frame' ? b.objects.map((o) => o.firstUploadAtS).filter((x): x is number => x !== null) : b.content![budgetContent].objects.map((o) => o.firstCropAtS);
    const n = r.objects.coverable;
    return {
      bytes: bytesOf(b, budgetContent),
      coverageOfCoverable: coverageOf(b, budgetContent),
      counters: counters!,
      curve: CURVE_POINTS.map((p) => (n > 0 ? at.filter((t) => t <= p * rep.input.durationS + 1e-9).length / n : NaN)),
      valueCurve: CURVE_POINTS.map((p) => counters!.sends.filter((x) => Number(x.atNs - t0) / 1e9 <= p * rep.input.durationS + 1e-9).reduce((a, x) => a + x.value, 0)),
    };
  };
  return { input: input.name, defaultPolicy: name, content, budgetContent, cropBytesPerPixel: cropPixels === 0 ? NaN : cropBytes / cropPixels, defaultBytes, budgetBytesPerS, defaultCoverage: coverageOf(def), coverable: rep.objects.coverable, hindsightBytes: rep.oracleCover.bytes ?? NaN, valueFirst: side(1), fifo: side(0) };
}

function formatBudget(runs: readonly BudgetRun[], fraction: number): string {
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  const content = runs[0]?.content ?? DEFAULT_CONTENT;
  const budgetContent = runs[0]?.budgetContent ?? content;
  const rows = runs.map(
    (b) =>
      `| ${b.input} | ${(b.budgetBytesPerS / 1024).toFixed(1)} | ${(b.defaultBytes / 1024).toFixed(0)} | ${(b.hindsightBytes / 1024).toFixed(0)} | ${(b.valueFirst.bytes / 1024).toFixed(0)} | ${pct(b.defaultCoverage)} | ${pct(b.valueFirst.coverageOfCoverable)} | ${pct(b.fifo.coverageOfCoverable)} | ${b.valueFirst.counters.sent} | ${b.valueFirst.counters.dropped} | ${pct(b.valueFirst.curve[4]!)} | ${pct(b.fifo.curve[4]!)} |`,
  );
  const sum = (f: (b: BudgetRun) => number): number => runs.reduce((a, b) => a + f(b), 0);
  const defB = sum((b) => b.defaultBytes);
  const vB = sum((b) => b.valueFirst.bytes);
  const fB = sum((b) => b.fifo.bytes);
  // Pooled curve: Σ covered / Σ coverable at each fraction of each input's duration.
  const pooled = (s: 'valueFirst' | 'fifo'): string[] => CURVE_POINTS.map((_, i) => pct(sum((b) => b[s].curve[i]! * b.coverable) / sum((b) => b.coverable)));
  const covPooled = (s: 'valueFirst' | 'fifo'): number => sum((b) => b[s].coverageOfCoverable * b.coverable) / sum((b) => b.coverable);
  const pooledValue = (s: 'valueFirst' | 'fifo'): string[] => CURVE_POINTS.map((_, i) => sum((b) => b[s].valueCurve[i]!).toFixed(1));
  return [
    `**'budget' sending ${budgetContent}, at ${fraction} × the default's (${DEFAULT_POLICY} + ${content}) bytes: coverage ${pct(covPooled('valueFirst'))} (FIFO ${pct(covPooled('fifo'))}); per input (value first: Σ ${(vB / 1024).toFixed(0)} KiB = ${((100 * vB) / defB).toFixed(1)} % of the default's ${(defB / 1024).toFixed(0)} KiB; FIFO ${(fB / 1024).toFixed(0)} KiB)**`,
    '',
    '| input | budget KiB/s | default KiB | hindsight cover KiB (frames) | budget KiB | default cov/EF | budget cov/EF | FIFO cov/EF | sent | objects dropped | covered by half time | FIFO by half time |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `**coverage over time under the budget (sending ${budgetContent}), pooled (covered / coverable objects by each fraction of every input's duration)**`,
    '',
    `| order | ${CURVE_POINTS.map((p) => `${Math.round(100 * p)} %`).join(' | ')} |`,
    `|---|${CURVE_POINTS.map(() => '---:').join('|')}|`,
    `| value first | ${pooled('valueFirst').join(' | ')} |`,
    `| FIFO | ${pooled('fifo').join(' | ')} |`,
    '',
    `**value sent over time under the budget (sending ${budgetContent}), pooled (Σ value of the packages sent by each fraction of every input's duration; value as the 'budget' policy counts it)**`,
    '',
    `| order | ${CURVE_POINTS.map((p) => `${Math.round(100 * p)} %`).join(' | ')} |`,
    `|---|${CURVE_POINTS.map(() => '---:').join('|')}|`,
    `| value first | ${pooledValue('valueFirst').join(' | ')} |`,
    `| FIFO | ${pooledValue('fifo').join(' | ')} |`,
  ].join('\n');
}

/** A wrong flag: one line and exit 2, as the CLI's usage errors. */
class UsageError extends Error {}

/** A flag's positive, finite number, e.g. "Expected positive number for --budget but received 'abc'". */
function positiveNumber(flag: string, text: string | undefined, kind = 'positive number'): number {
  const n = Number(text);
  // Finite too: the policies refuse Infinity (policyOption), which would otherwise surface mid-run.
  if (text === undefined || text.trim() === '' || !(n > 0) || !Number.isFinite(n)) throw new UsageError(`Expected ${kind} for ${flag} but received '${text}'`);
  return n;
}

/**
 * Runs a check of the product's own validation (a policy option, a policy's
 * constructor): its TypeError/RangeError, the argument errors of errors.ts, is
 * the usage error of the flag `what` names; anything else is a bug and keeps its stack.
 */
function usageOnArgumentError(what: string, check: () => unknown): void {
  try {
    check();
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw new UsageError(`${err.message} (${what})`);
    throw err;
  }
}

/**
 * `--tracker name=value,...`: tracker options over the product's
 * (productTrackerOptions), e.g. `lostGate=1.5,recovery=true`; values are
 * numbers, true/false, or words (kalman, lostMatching, classGroups). Checked
 * by the tracker's own validation before any input is decoded.
 */
function trackerOverrides(text: string | undefined): TrackerOptions {
  const out: Record<string, number | boolean | string> = {};
  for (const kv of text?.split(',') ?? []) {
    const eq = kv.indexOf('=');
    const k = kv.slice(0, eq).trim();
    const v = kv.slice(eq + 1).trim();
    if (eq < 1 || v === '') throw new UsageError(`Expected name=value with a tracker option's name for --tracker but received '${kv}'`);
    out[k] = v === 'true' ? true : v === 'false' ? false : Number.isFinite(Number(v)) ? Number(v) : v;
  }
  const options = out as TrackerOptions;
  try {
    resolveTrackerOptions(options);
  } catch (err) {
    if (err instanceof TypeError || err instanceof RangeError) throw new UsageError(`${err.message} (--tracker '${text}')`);
    throw err;
  }
  return options;
}

/**
 * `--out NAME` writes benchmarks/results/eval-NAME.{json,svg}; a value with a
 * '/' is a path prefix (resolved against the working directory) whose folder
 * must exist or be creatable. Without --out: eval-all, or eval-<input> (undefined:
 * settled once the input's name is known).
 */
function resultsPrefix(out: string | undefined, target: string): string | undefined {
  const results = new URL('./results/', import.meta.url).pathname;
  if (out === undefined) return target === 'all' ? join(results, 'eval-all') : undefined;
  if (out === '' || out.endsWith('/')) throw new UsageError(`Expected a name or a file path without extension for --out but received '${out}'`);
  if (!out.includes('/')) return join(results, `eval-${out}`);
  const prefix = resolve(out.replace(/\.(json|svg)$/, ''));
  try {
    mkdirSync(dirname(prefix), { recursive: true });
    accessSync(dirname(prefix), constants.W_OK);
  } catch (err) {
    throw new UsageError(`--out ${out}: cannot write into ${dirname(prefix)} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return prefix;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`eval: ${(err as Error).message} (usage: npm run eval -- --help)`);
    process.exitCode = 2;
  } else {
    // A target that names nothing (ConfigError from resolveTarget) is one line too.
    if (!(err instanceof BestshotError)) throw err;
    console.error(`eval: [${err.code}] ${err.message}`);
    process.exitCode = 1;
  }
}
