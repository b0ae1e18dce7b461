/**
 * npm run bench -- <name> [--results DIR] [args]: runs benchmarks/<name>.ts.
 * Every benchmark prints its figures (percentiles, ratios) and writes JSON to
 * benchmarks/results/<name>.json, or to DIR/<name>.json with `--results DIR`
 * (an existing folder: a run that should not touch the committed results).
 * `npm run bench -- <name> --help` prints the bench's options; a wrong
 * argument is one line on stderr and exit 2, before any work and before any
 * result file is written (benchArgs in util.ts).
 */
import { readdirSync } from 'node:fs';
import { type BenchArgsError, existingFolder, takeResultsOption, useResultsDir } from './util.js';

const RESULTS_HELP = `--results DIR  write the result files into DIR, an existing folder, instead of benchmarks/results/ (every bench)`;

const [name, ...argv] = process.argv.slice(2);
const available = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'util.ts', 'eval.ts', 'receiver-child.ts', 'service-child.ts', 'service-runner.ts'].includes(f))
  .map((f) => f.replace(/\.ts$/, ''));
if (name === '--help' || name === '-h') {
  console.log(`usage: npm run bench -- <${available.join('|')}> [--results DIR] [args]; npm run bench -- <name> --help lists a bench's options
  ${RESULTS_HELP}`);
  process.exit(0);
}
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [--results DIR] [args]`);
  process.exit(name ? 2 : 1);
}

/** A refused command line (BenchArgsError, or a UsageError of src/errors.ts): one line and exit 2; --help: the usage and exit 0. */
function refuse(err: unknown): never {
  // By name, not instanceof: the bench may load util.ts under another URL than this file does.
  // A UsageError (src/errors.ts: ERR_USAGE, e.g. from a src/cli/args.ts check) is refused the same way.
  const e = err as Partial<BenchArgsError> & { code?: unknown };
  if (e?.name !== 'BenchArgsError' && e?.code !== 'ERR_USAGE') throw err;
  if (e.help) {
    // Every bench's usage ends with run.ts's own option: it is taken here, not by the bench's parser.
    console.log(`${e.message}\n  ${RESULTS_HELP}`);
    process.exit(0);
  }
  console.error(`bench ${name}: ${e.message}${e.seeHelp ? `. Run 'npm run bench -- ${name} --help' for its options.` : ''}`);
  process.exit(2);
}

let args: string[];
try {
  const { results, rest } = takeResultsOption(argv);
  args = rest;
  // Checked before the bench parses its own arguments and starts: a wrong --results costs no run. With --help it is not checked (nothing is written).
  if (results !== undefined && !args.includes('--help') && !args.includes('-h')) {
    existingFolder('--results', results);
    useResultsDir(results);
  }
} catch (err) {
  refuse(err);
}
const mod = (await import(`./${name}.ts`)) as { default: (args: string[]) => Promise<void> };
try {
  await mod.default(args);
} catch (err) {
  refuse(err);
}
