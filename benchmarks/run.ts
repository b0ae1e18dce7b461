/**
 * npm run bench -- <name> [args]: runs benchmarks/<name>.ts. Every benchmark
 * prints its figures (percentiles, ratios) and writes JSON to
 * benchmarks/results/<name>.json. `npm run bench -- <name> --help` prints the
 * bench's options; a wrong argument is one line on stderr and exit 2, before
 * any work and before any result file is written (benchArgs in util.ts).
 */
import { readdirSync } from 'node:fs';
import type { BenchArgsError } from './util.js';

const [name, ...args] = process.argv.slice(2);
const available = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'util.ts', 'eval.ts', 'receiver-child.ts', 'service-child.ts', 'service-runner.ts'].includes(f))
  .map((f) => f.replace(/\.ts$/, ''));
if (name === '--help' || name === '-h') {
  console.log(`usage: npm run bench -- <${available.join('|')}> [args]; npm run bench -- <name> --help lists a bench's options`);
  process.exit(0);
}
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [args]`);
  process.exit(name ? 2 : 1);
}
const mod = (await import(`./${name}.ts`)) as { default: (args: string[]) => Promise<void> };
try {
  await mod.default(args);
} catch (err) {
  // By name, not instanceof: the bench may load util.ts under another URL than this file does.
  // A UsageError (src/errors.ts: ERR_USAGE, e.g. writableFolder's check of queue --dir) is refused the same way.
  const e = err as Partial<BenchArgsError> & { code?: unknown };
  if (e?.name !== 'BenchArgsError' && e?.code !== 'ERR_USAGE') throw err;
  if (e.help) {
    console.log(e.message);
    process.exit(0);
  }
  console.error(`bench ${name}: ${e.message}${e.seeHelp ? `. Run 'npm run bench -- ${name} --help' for its options.` : ''}`);
  process.exit(2);
}
