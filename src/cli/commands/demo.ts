/**
 * The embedded default (npm start): replay a sample traffic clip from
 * ../shared through the whole pipeline on CPU, upload to the reference
 * receiver started on loopback, print a summary and write an HTML report.
 */
import { parseArgs } from '../args.js';
import { join } from 'node:path';
import { loadDemoConfig, DEMO_CONFIG_PATH } from '../../config/index.js';
import type { Command } from '../commands.js';
import { replayMain } from './replay.js';

const usage = `Usage: bestshot demo [--clip path] [--policy name] [--verbose]

Runs ${DEMO_CONFIG_PATH} (a shared traffic clip, CPU inference, the reference
receiver on loopback), prints a summary and writes an HTML report. Everything
of the run (queue, state, receiver store, report, run.log) goes under
$BESTSHOT_DEMO_DIR/run (default /tmp/bestshot-demo/run).`;

export const command: Command = {
  summary: 'the embedded default: replay a sample clip to a local receiver, write a report',
  usage,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { clip: { type: 'string' }, policy: { type: 'string' }, verbose: { type: 'boolean', default: false } } });
    const { config } = await loadDemoConfig();
    const out = join(process.env.BESTSHOT_DEMO_DIR ?? '/tmp/bestshot-demo', 'run');
    const args = [...(values.clip ? [values.clip] : []), ...(values.policy ? ['--policy', values.policy] : [])];
    return replayMain(args, {
      config,
      out,
      report: true,
      logLevel: values.verbose ? 'info' : 'warn',
      banner: (source) => `bestshot demo: ${source} → reference receiver on loopback`,
      command: 'bestshot demo',
      ownRunDir: 'a BESTSHOT_DEMO_DIR of its own',
    });
  },
};
