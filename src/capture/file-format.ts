/**
 * File formats a file source refuses before a pipeline starts, told by the
 * file's first bytes (not its name). GStreamer's decodebin takes a GIF but
 * never reaches end of stream on it: the pipeline spins at full CPU and
 * hands out a frame every 15 s or so, so `detect` and `replay` never end.
 */
import { execFile, spawnSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { fileKind } from '../file-magic.js';

/**
 * `read(fd)` on the file opened for reading; undefined when it cannot be
 * opened or read (a missing file, a folder): the pipeline then says why.
 */
function readOpenFile<T>(path: string, read: (fd: number) => T): T | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    return read(fd);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** The reason `path` cannot be a file source, or undefined when its format is not refused (or it cannot be read: opening it says why). */
export function unsupportedFileFormat(path: string): string | undefined {
  const head = Buffer.alloc(4);
  if (readOpenFile(path, (fd) => readSync(fd, head, 0, head.length, 0)) === undefined) return undefined;
  if (fileKind(head) === 'a GIF image') return `${path} is a GIF, which is not supported: convert it to PNG, JPEG or MP4`;
  return undefined;
}

/** The duration gst-discoverer-1.0 prints (`Duration: 0:00:11.177833333`), in seconds; undefined when none. */
function parseDiscovererDuration(stdout: string): number | undefined {
  const m = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(stdout);
  if (!m) return undefined;
  const seconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  return seconds > 0 ? seconds : undefined;
}

/** The duration a recording's container declares, in seconds (undefined: none declared, or not readable in 5 s). */
export function recordingDurationSync(path: string): number | undefined {
  const r = spawnSync('gst-discoverer-1.0', [path], { encoding: 'utf8', timeout: 5000 });
  return parseDiscovererDuration(r.stdout ?? '');
}

/** {@link recordingDurationSync} without blocking: the service asks it while its cameras run. */
export function recordingDuration(path: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    execFile('gst-discoverer-1.0', [path], { encoding: 'utf8', timeout: 5000 }, (_err, stdout) => resolve(parseDiscovererDuration(stdout ?? '')));
  });
}

/**
 * The bytes a recording's own structure says it has, when that is more than
 * the file holds: an MP4/MOV whose top-level boxes run past the end, an AVI
 * whose RIFF size does. Such a file was cut short (a copy interrupted, a
 * camera's card pulled mid-write); with its index at the front the decoder
 * plays it to the cut and ends the stream quietly, as if it were whole.
 * Undefined when the file is whole or of another kind (only box headers are read).
 */
export function declaredBytesBeyondFile(path: string): { declared: number; actual: number } | undefined {
  return readOpenFile(path, (fd) => {
    const actual = fstatSync(fd).size;
    const head = Buffer.alloc(16);
    const read = (at: number): number => readSync(fd, head, 0, 16, at);
    if (read(0) < 12) return undefined;
    if (head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'AVI ') {
      const declared = head.readUInt32LE(4) + 8;
      return declared > actual ? { declared, actual } : undefined;
    }
    if (head.toString('latin1', 4, 8) !== 'ftyp') return undefined;
    // Top-level ISO BMFF boxes: size (32 bits; 1 = 64-bit size follows; 0 = to the end of the file), type.
    let at = 0;
    for (let boxes = 0; at < actual && boxes < 10_000; boxes++) {
      if (read(at) < 8) return { declared: at + 8, actual };
      let size = head.readUInt32BE(0);
      if (size === 0) return undefined;
      if (size === 1) size = Number(head.readBigUInt64BE(8));
      if (size < 8) return undefined; // not a box structure this reader knows: say nothing
      at += size;
    }
    return at > actual ? { declared: at, actual } : undefined;
  });
}

/**
 * What to say when a recording ended at `endedAtS` (stream time) and its file
 * is shorter than its structure declares; undefined when it is whole.
 */
export function recordingCutShort(path: string, endedAtS: number, declaredS: number | undefined): string | undefined {
  const cut = declaredBytesBeyondFile(path);
  if (!cut) return undefined;
  const mb = (b: number): string => (b / 1e6).toFixed(1);
  const of = declaredS !== undefined ? ` of the ${declaredS.toFixed(1)} s its container declares` : '';
  return `${path} is cut short (${mb(cut.actual)} MB of the ${mb(cut.declared)} MB its container declares): it ended at ${endedAtS.toFixed(1)} s${of}, and the rest was not processed`;
}
