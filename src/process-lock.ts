/**
 * One process at a time on a path (a run's stateDir, a queue file): a lock
 * file that names its holder (pid, the process's start time, the command).
 *
 * Node has no flock(2), so the lock is the file's existence: it is made with
 * link(2) of a complete temporary file, which fails when the lock exists, so
 * no one ever reads a half-written lock (O_EXCL 'wx' where a file system
 * has no hard links). A lock whose holder is gone — kill -9, a power cut —
 * is stale: the process is not alive (kill(pid, 0) says ESRCH, or it is a
 * zombie), or the pid now belongs to another process (its start time in
 * /proc/<pid>/stat differs). A stale lock is taken over under a second,
 * short-lived lock (`<lock>.takeover`), so of two processes that find the
 * same stale lock only one replaces it; the other then finds a live holder.
 *
 * Released by release(), and at process exit (normal, process.exit, an
 * uncaught error); a kill -9 leaves it behind for the next start to take over.
 * A holder in another PID namespace (a container sharing the folder) looks
 * gone from here: such processes need folders of their own.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, realpathSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { BestshotError, LockedError } from './errors.js';

/**
 * mkdir -p, one level at a time from the nearest part that exists, so each
 * failure is the real errno of the level that failed. Node's recursive mkdir
 * (v20) says ENOENT where the parent exists on a read-only file system
 * (EROFS), and under a pseudo file system (/proc, where mkdir answers ENOENT
 * beside a parent that exists) it loops for ever at 100 % CPU, deaf to
 * SIGTERM: a stateDir or queue.path under /proc hung `bestshot run`.
 * A part of the path that is a file fails as ENOTDIR (mkdir's EEXIST named
 * the file's name as if the folder existed).
 */
export function makeDirectory(dir: string): void {
  const missing: string[] = [];
  let p = resolve(dir);
  for (;;) {
    let isDir: boolean | undefined;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      // ENOTDIR: a file further up; found as the walk reaches it.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
    if (isDir === true) break;
    if (isDir === false) {
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}' (${p} is a file)`), { code: 'ENOTDIR', errno: -20, syscall: 'mkdir', path: p });
    }
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level);
    } catch (err) {
      // Made meanwhile by another process: fine when it is a folder.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(level).isDirectory()) throw err;
    }
  }
}

/**
 * Where a path really is: symlinks resolved along the part that exists, the
 * rest (a stateDir or queue file not made yet) appended. A lock belongs to
 * the real place, not to the name a config gives it: two configs reaching
 * one queue through a symlinked folder must find the same lock, or the
 * second gets as far as SQLite's own lock and its 'database is locked'.
 */
export function realLocation(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    const parent = dirname(absolute);
    return parent === absolute ? absolute : join(realLocation(parent), basename(absolute));
  }
}

/** What a lock file says about its holder. */
export interface LockHolder {
  pid: number;
  /** The process's start time (clock ticks after boot, /proc/<pid>/stat field 22); null where /proc is missing. */
  start: string | null;
  /** e.g. 'bestshot run'. */
  command: string;
  /** When the lock was taken (ISO 8601). */
  since: string;
  /** Tells this holding from another one of the same process. */
  token: string;
}

export interface LockOptions {
  /** The holder's command, named to whoever finds the lock taken. */
  command: string;
  /** What the lock keeps to one process, for the refusal: 'stateDir /var/lib/bestshot/state'. */
  subject: string;
  /** The end of the refusal: why it matters and what to do. */
  advice: string;
  /** Told when a stale lock is taken over (an info line). */
  onTakeover?: (message: string, fields: Record<string, unknown>) => void;
}

/** How long a takeover may take before its guard counts as left behind by a process that died during it. */
const TAKEOVER_GUARD_MS = 10_000;
/** A lock file that cannot be parsed yet (being written on a file system without hard links) is given this long. */
const UNREADABLE_GRACE_MS = 2_000;

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** State and start time of a process from /proc/<pid>/stat; undefined where it cannot be read. */
function procStat(pid: number): { state: string; start: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces and parentheses): 3 state … 22 starttime.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const start = fields[19];
  return state !== undefined && start !== undefined ? { state, start } : undefined;
}

function ownStart(): string | null {
  return procStat(process.pid)?.start ?? null;
}

/** True while the lock's holder runs: its pid is alive, not a zombie, and the same process that took the lock. */
export function holderAlive(holder: LockHolder): boolean {
  if (holder.pid === process.pid) return holder.start === null || holder.start === ownStart();
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: it exists, under another user.
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const stat = procStat(holder.pid);
  if (stat === undefined) return true;
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return holder.start === null || stat.start === holder.start;
}

/** The holder a lock file names; undefined when there is none, null when it cannot be understood. */
function readHolder(path: string): LockHolder | null | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (Number.isSafeInteger(h.pid) && (h.pid as number) > 0 && typeof h.token === 'string') {
      return { pid: h.pid as number, start: typeof h.start === 'string' ? h.start : null, command: String(h.command ?? 'another process'), since: String(h.since ?? '?'), token: h.token };
    }
  } catch {
    // not JSON (yet)
  }
  return null;
}

function refusal(holder: LockHolder, path: string, options: Pick<LockOptions, 'subject' | 'advice'>): LockedError {
  return new LockedError(`${options.subject} is in use by another process: ${describeHolder(holder)} holds ${path}; ${options.advice}`, holder.pid);
}

/** Refuse as acquire() would while a live process holds the lock at `path`, without taking it (a reader that may not write there). */
export function refuseIfLocked(path: string, options: Pick<LockOptions, 'subject' | 'advice'>): void {
  const holder = lockHolder(path);
  if (holder) throw refusal(holder, path, options);
}

/** The live process that holds the lock at `path`, if any (this process included). */
export function lockHolder(path: string): LockHolder | undefined {
  let holder: LockHolder | null | undefined;
  try {
    holder = readHolder(path);
  } catch {
    return undefined;
  }
  return holder && holderAlive(holder) ? holder : undefined;
}

export function describeHolder(holder: LockHolder): string {
  return holder.pid === process.pid ? `this process (pid ${holder.pid})` : `${holder.command} (pid ${holder.pid}, since ${holder.since})`;
}

/** Make `target` with `content` unless it exists (false); link(2) of `tmp`, or O_EXCL where hard links are not supported. */
function createExclusive(target: string, tmp: string, content: string): boolean {
  try {
    linkSync(tmp, target);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
  }
  let fd: number;
  try {
    fd = openSync(target, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

function unlinkIfToken(path: string, token: string): void {
  try {
    if (readHolder(path)?.token === token) unlinkSync(path);
  } catch {
    // gone already, or not ours to remove
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

export class ProcessLock {
  readonly path: string;
  readonly holder: LockHolder;
  #released = false;
  #onExit = (): void => this.release();

  private constructor(path: string, holder: LockHolder) {
    this.path = path;
    this.holder = holder;
    process.on('exit', this.#onExit);
  }

  /**
   * Take the lock at `path` (its folder is created), or throw LockedError
   * naming the live holder. Errors of the file system (a folder that cannot
   * be created or written) are thrown as they are, for the caller to word.
   */
  static acquire(path: string, options: LockOptions): ProcessLock {
    makeDirectory(dirname(path));
    const holder: LockHolder = { pid: process.pid, start: ownStart(), command: options.command, since: new Date().toISOString(), token: randomBytes(9).toString('base64url') };
    const content = `${JSON.stringify(holder)}\n`;
    const tmp = `${path}.${holder.token}.tmp`;
    const fd = openSync(tmp, 'wx');
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    try {
      for (let attempt = 0; attempt < 200; attempt++) {
        if (createExclusive(path, tmp, content)) return new ProcessLock(path, holder);
        const found = readHolder(path);
        if (found === undefined) continue; // released meanwhile: try again
        if (found === null && ageMs(path) < UNREADABLE_GRACE_MS) {
          pause(20); // still being written
          continue;
        }
        if (found !== null && holderAlive(found)) {
          throw refusal(found, path, options);
        }
        if (ProcessLock.#takeOver(path, found, tmp, content, holder.token)) {
          options.onTakeover?.('a stale lock was taken over: the process that held it is gone (killed, or the unit lost power)', {
            lock: path,
            ...(found ? { pid: found.pid, command: found.command, since: found.since } : { content: 'unreadable' }),
          });
          return new ProcessLock(path, holder);
        }
      }
      throw new BestshotError('ERR_LOCKED', `${options.subject}: the lock ${path} could not be taken (it kept changing hands); try again`);
    } finally {
      try {
        unlinkSync(tmp);
      } catch {
        // already gone
      }
    }
  }

  /**
   * Replace the stale lock `stale` (null: unreadable) with ours, under the
   * takeover guard; false when the guard or the lock changed hands meanwhile
   * (the caller looks again).
   */
  static #takeOver(path: string, stale: LockHolder | null, tmp: string, content: string, token: string): boolean {
    const guard = `${path}.takeover`;
    if (!createExclusive(guard, tmp, content)) {
      const other = readHolder(guard);
      if (other === undefined) return false;
      // Another process is taking over now (or still writing its guard): once it has, the lock has a live holder.
      const age = ageMs(guard);
      if (other === null ? age < UNREADABLE_GRACE_MS : holderAlive(other) && age < TAKEOVER_GUARD_MS) {
        pause(20);
        return false;
      }
      // Left by a process that died during its takeover.
      if (other === null) {
        try {
          unlinkSync(guard);
        } catch {
          // removed by another process meanwhile
        }
      } else unlinkIfToken(guard, other.token);
      return false;
    }
    try {
      const now = readHolder(path);
      const same = now === undefined || (now === null ? stale === null : now.token === stale?.token);
      if (!same) return false;
      if (now !== undefined) unlinkSync(path);
      return createExclusive(path, tmp, content);
    } finally {
      unlinkIfToken(guard, token);
    }
  }

  /** Remove the lock if it is still ours; idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    process.off('exit', this.#onExit);
    unlinkIfToken(this.path, this.holder.token);
  }
}
