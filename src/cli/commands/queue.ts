/** `bestshot queue`: look into a durable upload queue (U2) and act on it while the runtime is stopped. */
import { accessSync, constants, copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { numberArg, parseArgs, writableFolder } from '../args.js';
import type { Command } from '../commands.js';
import { PackageQueue, queueLockPath } from '../../upload/queue.js';
import { packageParts, type PackageMetadata } from '../../upload/index.js';
import { QueueError, UsageError } from '../../errors.js';
import { parseBytes } from '../../config/schema.js';
import { refuseIfLocked, makeDirectory } from '../../process-lock.js';
import { lockQueue } from '../../runtime/run-lock.js';
import { maskUrlCredentials } from '../../log.js';

const usage = `Usage: bestshot queue <inspect|resend-dead|export> --path <queue.sqlite> [options]

Tools for the durable upload queue, with 'bestshot run' stopped: one process
owns a queue (SQLite lets no one else read it meanwhile), so each action is
refused (exit 1) while a process holds its lock (<queue.sqlite>.lock), naming
its pid; a running service shows its queue on /metrics (bestshot_queue_depth).
resend-dead holds that lock itself while it writes (a start meanwhile is
refused the same way). inspect and export only read the queue: a corrupt
queue is reported and left as it is ('bestshot run' sets it aside and
recovers what is readable at its next start); a queue in a folder that cannot
be written (mounted read-only) is read from a copy in a temporary folder.

  inspect       depth, bytes, oldest package, counters, dead letters with their reasons
  resend-dead   put dead letters back at the queue's tail (after fixing, say, the token);
                the runtime sends them on its next start. Only as many as the queue has
                room for (--max-packages, --max-bytes): more would make the service drop
                its oldest packages at once; the rest stay dead letters, to re-send later
  export        write every queued package and dead letter to --out <dir> (new or empty)
                (queued/<key>/ and dead/<key>/: metadata.json + image.jpg, or
                crop-N.jpg per crop for crops packages; and index.json)

Options:
  --path <file>   the queue database (queue.path in the config)
  --out <dir>     export directory (export)
  --limit <n>     dead letters listed or re-sent at most (default all; inspect still counts them all)
  --max-packages <n>  resend-dead: the queue's capacity, queue.maxPackages in the config (default 1000)
  --max-bytes <size>  resend-dead: the queue's capacity in bytes, queue.maxBytes (default 512MiB)
  --json          inspect: print JSON`;

/**
 * The files of one exported package, named as the receiver stores them: `image.jpg` (the frame,
 * when the package has one) and `crop-N.jpg` per crop (upload.content crops / frame+crops) — the
 * stored blob is their concatenation. Metadata that cannot be read keeps the blob whole as image.jpg.
 */
function exportedParts(metadata: string, blob: Buffer): Array<{ file: string; data: Buffer }> {
  let meta: Pick<PackageMetadata, 'image' | 'crops' | 'idempotencyKey'>;
  try {
    meta = JSON.parse(metadata) as typeof meta;
  } catch {
    return [{ file: 'image.jpg', data: blob }];
  }
  const declared = (meta.image?.bytes ?? 0) + (meta.crops ?? []).reduce((a, c) => a + c.bytes, 0);
  if (meta.crops === undefined || declared !== blob.length) return [{ file: 'image.jpg', data: blob }];
  return packageParts({ idempotencyKey: meta.idempotencyKey, jpeg: blob, metadata: meta }).map((part) => ({ file: `${part.name}.jpg`, data: part.data }));
}

type Action = 'inspect' | 'resend-dead' | 'export';
/** The options each action reads, besides --path. */
const ACTION_OPTIONS: Readonly<Record<Action, readonly string[]>> = {
  inspect: ['limit', 'json'],
  'resend-dead': ['limit', 'max-packages', 'max-bytes'],
  export: ['out'],
};

export const command: Command = {
  summary: 'inspect the upload queue, re-send dead letters, export',
  usage,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        path: { type: 'string' },
        out: { type: 'string' },
        limit: { type: 'string' },
        'max-packages': { type: 'string' },
        'max-bytes': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    const action = positionals[0];
    if (!values.path || !['inspect', 'resend-dead', 'export'].includes(action ?? '')) {
      console.error(`bestshot queue: ${values.path ? `unknown action '${action ?? ''}'` : '--path is required'}\n\n${usage}`);
      return 2;
    }
    // An option the action does not read was ignored without a word (inspect --out, export --json).
    const given = Object.entries(values).filter(([k, v]) => k !== 'path' && v !== undefined && v !== false).map(([k]) => k);
    const unread = given.filter((k) => !ACTION_OPTIONS[action as Action].includes(k));
    if (unread.length > 0) throw new UsageError(`${unread.map((k) => `--${k}`).join(', ')} ${unread.length === 1 ? 'is' : 'are'} not an option of '${action}' (its options: ${ACTION_OPTIONS[action as Action].map((k) => `--${k}`).join(', ')})`);
    const limit = numberArg('positive integer', 'limit', values.limit);
    const maxPackages = numberArg('positive integer', 'max-packages', values['max-packages']);
    const maxBytes = values['max-bytes'] === undefined ? undefined : parseBytes(values['max-bytes']);
    if (maxBytes === 0 || (values['max-bytes'] !== undefined && maxBytes === undefined)) {
      throw new UsageError(`Expected byte size (an integer, or like '512MiB') for --max-bytes but received '${values['max-bytes']}'`);
    }
    const path = resolve(values.path);
    // Opening a path with no queue would create an empty one (and its 1 MiB reserve) and report it as empty.
    if (!existsSync(path)) throw new UsageError(`no queue at ${path}: --path names the queue database (queue.path in the config)`);
    // SQLite said 'disk I/O error' of a folder (stateDir given for queue.path, say).
    if (statSync(path).isDirectory()) throw new UsageError(`${path} is a folder: --path names the queue database file in it (queue.path in the config, e.g. ${join(path, 'queue.sqlite')})`);
    let out: string | undefined;
    if (action === 'export') {
      if (!values.out) {
        console.error('bestshot queue export: --out <dir> is required');
        return 2;
      }
      out = resolve(values.out);
      // Checked before the queue is read: an --out that names a file failed with a bare ENOTDIR at the first package.
      if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`--out ${out} is a file: export writes into a folder (created when missing)`);
      // A second export into the first one's folder left the first one's packages beside an index.json that lists only the second's.
      if (existsSync(out) && readdirSync(out).length > 0) throw new UsageError(`--out ${out} is not empty: export writes into a new or empty folder, so that what is there is this queue's and nothing else`);
    }
    // The queue's owner keeps SQLite's lock while it runs: this says who, instead of 'database is locked'.
    const advice = "bestshot queue works on a stopped queue: stop that one first (systemctl stop bestshot); a running service shows its queue on /metrics (bestshot_queue_depth)";
    if (action !== 'resend-dead') refuseIfLocked(queueLockPath(path), { subject: `queue ${path}`, advice });
    // resend-dead writes: it takes the lock (refused the same way) and holds it while it writes, so a run started meanwhile is refused by name.
    const say = (m: string, f?: Record<string, unknown>): void => console.error(`bestshot queue: ${m} (${Object.entries(f ?? {}).map(([k, v]) => `${k} ${String(v)}`).join(', ')})`);
    const lock = action === 'resend-dead' ? lockQueue(path, { command: 'bestshot queue resend-dead', advice, log: { info: say, warn: say } }) : undefined;
    // inspect and export only read, but SQLite cannot open a queue in a folder it cannot write (a unit's
    // card mounted read-only to rescue its queue: 'unable to open database file'): they read a copy instead.
    const copy = action === 'resend-dead' ? undefined : readableCopy(path);
    let q: PackageQueue;
    try {
      q = PackageQueue.open({ path: copy?.path ?? path, readOnly: action !== 'resend-dead', log: (m) => console.error(m), maxPackages, maxBytes });
    } catch (err) {
      lock?.release();
      copy?.remove();
      throw err;
    }
    try {
      if (action === 'inspect') {
        const oldest = q.oldestEnqueuedAtMs();
        const info = {
          depth: q.depth,
          bytes: q.bytes,
          oldest: oldest === undefined ? null : { key: q.keys()[0], enqueuedAt: new Date(oldest).toISOString() },
          counters: q.counters(),
          // The total, whatever --limit: the list below may be cut short.
          deadLetterCount: q.deadLetterCount(),
          // Masked as the log masks it: a reason stored before the sender masked them (an endpoint's
          // redirect Location, an error echoing a signed URL) kept the URL's password or ?token=, and this
          // listing goes into tickets and chats.
          deadLetters: q.deadLetters(limit ?? 1_000_000).map((d) => ({ key: d.idempotencyKey, status: d.status, reason: maskUrlCredentials(d.reason), attempts: d.attempts, deadAt: new Date(d.deadAtMs).toISOString() })),
        };
        if (values.json) console.log(JSON.stringify(info, null, 2));
        else {
          console.log(`depth ${info.depth} (${info.bytes} bytes), oldest ${info.oldest ? `${info.oldest.key} queued ${info.oldest.enqueuedAt}` : 'none'}`);
          console.log(`counters ${Object.entries(info.counters).map(([k, v]) => `${k}=${v}`).join(' ')}`);
          const listed = info.deadLetters.length < info.deadLetterCount ? ` (the oldest ${info.deadLetters.length} listed)` : '';
          console.log(`dead letters: ${info.deadLetterCount}${listed}`);
          for (const d of info.deadLetters) console.log(`  ${d.key}  ${d.status ?? '-'}  ${d.reason}  (${d.attempts} ${d.attempts === 1 ? 'try' : 'tries'}, ${d.deadAt})`);
        }
      } else if (action === 'resend-dead') {
        const n = q.requeueDeadLetters(limit);
        console.log(`re-queued ${n} dead letter(s); queue depth now ${q.depth}`);
        const left = q.deadLetterCount();
        const wanted = Math.min(limit ?? Number.MAX_SAFE_INTEGER, n + left);
        if (n < wanted) {
          console.error(
            `bestshot queue: ${wanted - n} dead letter(s) left as they are: the queue is full (${q.depth} of ${q.maxPackages} packages, ${q.bytes} of ${q.maxBytes} bytes), and the service would drop its oldest packages to make room; run resend-dead again once it has sent some (--max-packages and --max-bytes: the config's queue.maxPackages and queue.maxBytes)`,
          );
        }
      } else if (out !== undefined) {
        // Made once the queue opened, so a queue that cannot be read leaves no empty folder behind.
        writableFolder(out, '--out');
        const index: Array<{ kind: string; key: string; reason: string | null }> = [];
        // A full disk stopped the export with a bare "[ENOSPC] …, write" (no file, no count, no word on what was left).
        const write = (file: string, data: string | Buffer): void => {
          try {
            writeFileSync(file, data);
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code ?? 'error';
            const why = code === 'ENOSPC' ? 'disk full' : code === 'EDQUOT' ? 'quota exceeded' : (err as Error).message;
            throw new QueueError(
              `export stopped after ${index.length} package(s): cannot write ${file} (${code}: ${why}); the queue is unchanged, and ${out} holds an incomplete export (no index.json): remove it and export again where there is room`,
            );
          }
        };
        for (const p of q.exportAll()) {
          const d = join(out, p.kind, encodeURIComponent(p.idempotencyKey));
          makeDirectory(d);
          write(join(d, 'metadata.json'), p.metadata);
          for (const part of exportedParts(p.metadata, p.jpeg)) write(join(d, part.file), part.data);
          index.push({ kind: p.kind, key: p.idempotencyKey, reason: p.reason === null ? null : maskUrlCredentials(p.reason) });
        }
        write(join(out, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
        // By kind: an export of dead letters alone read as if it held packages waiting to be sent.
        const dead = index.filter((e) => e.kind === 'dead').length;
        console.log(`exported ${index.length} package(s) to ${out}: ${index.length - dead} queued, ${dead} dead letter(s)`);
      }
    } finally {
      q.close();
      lock?.release();
      copy?.remove();
    }
    return 0;
  },
};

/**
 * When the queue's folder cannot be written (a read-only file system, or no write permission), a
 * copy of the queue (and its -wal, so the last commits are read too) in a temporary folder, said
 * on stderr; undefined when the queue can be read where it is.
 */
function readableCopy(path: string): { path: string; remove(): void } | undefined {
  const dir = dirname(path);
  try {
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const tmp = mkdtempSync(join(tmpdir(), 'bestshot-queue-'));
    const remove = (): void => rmSync(tmp, { recursive: true, force: true });
    const copyPath = join(tmp, basename(path));
    try {
      copyFileSync(path, copyPath);
      if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copyPath}-wal`);
    } catch (copyErr) {
      remove();
      const c = copyErr as NodeJS.ErrnoException;
      throw new QueueError(`Cannot read queue database ${path}: its folder cannot be written (${code}), and copying it to ${tmp} failed (${c.code ?? c.message}): copy it somewhere writable and give that --path`);
    }
    console.error(`bestshot queue: ${dir} cannot be written (${code}): reading a copy of the queue in ${tmp}, removed afterwards; the queue itself is not touched`);
    return { path: copyPath, remove };
  }
}
