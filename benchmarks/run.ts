/**
 * npm run bench -- <name> [args]: runs benchmarks/<name>.ts. Every benchmark
 * prints its figures (percentiles, ratios) and writes JSON to
 * benchmarks/results/<name>.json.
 */
import { readdirSync } from 'node:fs';

const [name, ...args] = process.argv.slice(2);
const available = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && !['run.ts', 'util.ts', 'eval.ts', 'receiver-child.ts', 'service-child.ts', 'service-runner.ts'].includes(f))
  .map((f) => f.replace(/\.ts$/, ''));
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <${available.join('|')}> [args]`);
  process.exit(name ? 2 : 1);
}
const mod = (await import(`./${name}.ts`)) as { default: (args: string[]) => Promise<void> };
await mod.default(args);
