/** bestshot command-line entry. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { maskUrlCredentials } from '../log.js';
import { PROJECT_ROOT } from '../paths.js';
import { hideSecretsInTitle } from './args.js';
import { COMMANDS } from './commands.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `bestshot ${version()} — best-shot edge runtime\n\nUsage: bestshot <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'bestshot <command> --help' for a command's options.`;
}

/**
 * `bestshot … | head` closes stdout early: that ends the output, it is not an error.
 * A service (`run`) goes on instead: its output is only what it says, and its
 * stop (on the signal that usually comes with it) queues the images the
 * selection policy holds. So does every command when the terminal hung up
 * (EIO: the ssh session closed, SIGHUP follows): a write that crashed the
 * process there lost the stop it was logging.
 */
let outputIsService: boolean | undefined;
function quietOnClosedOutput(service: boolean): void {
  // Once per process: main() runs many times in one process under the tests, and a listener per
  // call piled up (MaxListenersExceededWarning on stderr after the tenth).
  const installed = outputIsService !== undefined;
  outputIsService = service;
  if (installed) return;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EIO' || (outputIsService && err.code === 'EPIPE')) return;
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}

/**
 * Commands that write camera images or the upload queue (report, queue.sqlite, the receiver's
 * store, an export, the ingest index): under the usual umask 022 every image was world-readable
 * (0644, folders 0755), so any local account of a shared unit, or of the machine a demo ran on
 * (/tmp/bestshot-demo), could read what the cameras saw. What they create is private to the
 * user running them: files 0600, folders 0700 (a stricter umask is kept). The service's own
 * folders stay as install-jetson.sh sets them (/var/lib/bestshot bestshot:bestshot 0750).
 * Not check-config/detect/probe: check-config --load-model runs as root in an OTA self-check and
 * may write the TensorRT engine cache the service user must read.
 */
const PRIVATE_OUTPUT = new Set(['run', 'demo', 'replay', 'receiver', 'queue', 'ingest']);

/**
 * The AWS SDK warns on every start under Node < 22 that its releases after
 * January 2027 will need Node 22 ('NodeVersionSupportWarning', a WARN line
 * of `bestshot run` with an S3 sink and of `bestshot ingest`). The SDK this
 * release locks runs on Node 20, and only a release of bestshot changes it:
 * nothing an operator can act on, so the CLI turns it off with the SDK's own
 * switch (docs/deploy.md, "Known limits"). An operator's explicit setting wins.
 */
function quietSdkNodeNotice(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  quietOnClosedOutput(name === 'run');
  if (name !== undefined && PRIVATE_OUTPUT.has(name)) process.umask(process.umask() | 0o077);
  hideSecretsInTitle();
  quietSdkNodeNotice();
  if (name === 'help' && rest[0] !== undefined) {
    const target = COMMANDS[rest[0]];
    if (!target) {
      console.error(`bestshot: unknown command '${rest[0]}'. Run 'bestshot --help' for the list.`);
      return 2;
    }
    console.log((await target.load()).command.usage);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    console.log(version());
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    console.error(`bestshot: unknown command '${name}'. Run 'bestshot --help' for the list.`);
    return 2;
  }
  const { command } = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    const e = err as Error & { code?: string };
    // The last line a command says goes into tickets and chats: a camera or broker password an
    // error carries (a URL echoed by GStreamer or a library) is masked as the log masks it.
    if (process.env.BESTSHOT_DEBUG === '1') console.error(maskUrlCredentials(String(e.stack)));
    // node:util parseArgs: an unknown or malformed option is a usage error.
    if (typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) {
      console.error(`bestshot ${name}: ${e.message.split('\n')[0]!.replace(/\.$/, '')}. Run 'bestshot ${name} --help' for its options.`);
      return 2;
    }
    console.error(`bestshot ${name}: ${e.code ? `[${e.code}] ` : ''}${maskUrlCredentials(e.message)}`);
    return e.code === 'ERR_USAGE' || e.code === 'ERR_INPUT' ? 2 : 1;
  }
}
