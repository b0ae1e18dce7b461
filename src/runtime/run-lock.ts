/**
 * The locks a run takes before it opens anything (process-lock.ts): its
 * stateDir (`<stateDir>/bestshot.lock`) and its queue (`<queue.path>.lock`).
 * Two runs on one stateDir hand out the same imageIds (A5: the endpoint then
 * refuses them as other images, 409); two on one queue found each other's
 * fresh file empty and set it aside as corrupt, with up to queue.maxPackages
 * packages. SQLite's own lock on the queue comes too late for either: it is
 * taken once the file is open, and not on the stateDir at all.
 */
import { dirname, join } from 'node:path';
import { CaptureError, QueueError, unwritableDirAdvice } from '../errors.js';
import { ProcessLock, realLocation } from '../process-lock.js';
import { queueLockPath } from '../upload/queue.js';

export interface RunLockOptions {
  /** The holder's command, named in the refusal another process gets: 'bestshot run'. */
  command: string;
  /** Told when a stale lock (its process killed) is taken over, and when the queue's lock cannot be written for a full disk. */
  log: { info(msg: string, fields?: Record<string, unknown>): void; warn(msg: string, fields?: Record<string, unknown>): void };
  /** The refusal's last words: how to stop the first process, what to give the second instead. Default: systemd's unit; its own stateDir / queue.path. */
  own?: { stop: string; stateDir: string; queue: string };
  /** The whole advice of the refusal, for a process that is no run (bestshot queue). */
  advice?: string;
}

function stopFirst(options: RunLockOptions): string {
  return `stop that one first${options.own?.stop ?? ' (systemctl stop bestshot)'}`;
}

/** Take `<stateDir>/bestshot.lock`; a stateDir that cannot be created or written fails as the imageId state would. */
export function lockStateDir(stateDir: string, options: RunLockOptions): ProcessLock {
  const path = join(realLocation(stateDir), 'bestshot.lock');
  try {
    return ProcessLock.acquire(path, {
      command: options.command,
      subject: `stateDir ${stateDir}`,
      advice: options.advice ?? `two runs on one stateDir hand out the same imageIds: ${stopFirst(options)}, or give this one ${options.own?.stateDir ?? 'a stateDir of its own'}`,
      onTakeover: (m, f) => options.log.info(m, f),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (typeof e.syscall !== 'string') throw err;
    const how = e.syscall === 'mkdir' ? 'created' : 'written';
    // Node's message repeats the code and names the lock's temporary file: the code alone says it.
    throw new CaptureError(`stateDir ${stateDir} cannot be ${how} (${e.code ?? e.message}): ${unwritableDirAdvice(e.code, 'stateDir')}`, 'ERR_CAPTURE', { cause: err });
  }
}

/**
 * Take `<queue.path>.lock`. A full disk under the queue does not stop the
 * start (the queue keeps its reserve for that, and SQLite's lock still
 * keeps a second opener out once the file is open): said, and undefined.
 */
export function lockQueue(queuePath: string, options: RunLockOptions): ProcessLock | undefined {
  const path = queueLockPath(queuePath);
  try {
    return ProcessLock.acquire(path, {
      command: options.command,
      subject: `queue ${queuePath}`,
      advice:
        options.advice ??
        `two processes on one queue take each other's packages and set its file aside as corrupt: ${stopFirst(options)}, or give this one ${options.own?.queue ?? 'a queue.path of its own'}`,
      onTakeover: (m, f) => options.log.info(m, f),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (typeof e.syscall !== 'string') throw err;
    if (e.code === 'ENOSPC' || e.code === 'EDQUOT') {
      options.log.warn('the queue lock cannot be written (disk full): running without it', { lock: path, error: e.message });
      return undefined;
    }
    throw new QueueError(
      `Cannot open queue database ${queuePath}: its lock ${path} cannot be made (${e.code ?? 'error'}: ${e.message}): check that ${dirname(queuePath)} exists, is writable by this user and is on a file system mounted read-write, or set queue.path elsewhere`,
      'ERR_QUEUE',
      { cause: err },
    );
  }
}

/** Both locks of a run, stateDir first; release() gives both back. */
export function lockRun(paths: { stateDir: string; queuePath: string }, options: RunLockOptions): { release(): void } {
  const state = lockStateDir(paths.stateDir, options);
  let queue: ProcessLock | undefined;
  try {
    queue = lockQueue(paths.queuePath, options);
  } catch (err) {
    state.release();
    throw err;
  }
  return {
    release: () => {
      queue?.release();
      state.release();
    },
  };
}
