/**
 * The command table. Each command lives in its own module under
 * src/cli/commands/ and is loaded only when run, so `bestshot probe` does not
 * load ONNX Runtime and `bestshot eval-mot` does not load GStreamer.
 */
export interface Command {
  /** One line for `bestshot --help`. */
  summary: string;
  /** Full usage text for `bestshot <command> --help`. */
  usage: string;
  run(argv: string[]): Promise<number>;
}

// A computed specifier: each command module is optional at type-check time
// (a build without, say, the receiver still compiles) and loaded lazily.
function loadCommand(name: string): Promise<{ command: Command }> {
  return import(`./commands/${name}.js`) as Promise<{ command: Command }>;
}

export const COMMANDS: Record<string, { summary: string; load: () => Promise<{ command: Command }> }> = {
  run: { summary: 'run the pipeline from a config file', load: () => loadCommand('run') },
  demo: { summary: 'the embedded default: replay a sample clip to a local receiver, write a report', load: () => loadCommand('demo') },
  replay: { summary: 'offline run on a recording or MOT sequence, with tracks, selections and a report', load: () => loadCommand('replay') },
  receiver: { summary: 'reference cloud receiver (stores packages, dedupes by idempotency key)', load: () => loadCommand('receiver') },
  ingest: { summary: 'fleet consumer: MQTT shared subscription → verify S3 object → idempotent SQLite index', load: () => loadCommand('ingest') },
  probe: { summary: "print a source's caps and the first frames' timestamps", load: () => loadCommand('probe') },
  detect: { summary: 'run the detector on an image or video', load: () => loadCommand('detect') },
  track: { summary: "run the tracker on a MOTChallenge sequence's det.txt", load: () => loadCommand('track') },
  'eval-mot': { summary: 'MOTA, IDF1, ID switches, FP, FN, MT/ML of a tracker result', load: () => loadCommand('eval-mot') },
  queue: { summary: 'inspect the upload queue, re-send dead letters, export', load: () => loadCommand('queue') },
  'check-config': { summary: 'validate a config file', load: () => loadCommand('check-config') },
};
