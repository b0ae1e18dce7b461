/**
 * File formats a file source refuses before a pipeline starts, told by the
 * file's first bytes (not its name). GStreamer's decodebin takes a GIF but
 * never reaches end of stream on it: the pipeline spins at full CPU and
 * hands out a frame every 15 s or so, so `detect` and `replay` never end.
 */
import { execFile, spawnSync } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { fileKind } from '../file-magic.js';

/**
 * What `path` is when it is there but not a regular file, in words; undefined
 * for a regular file or one that is not there. stat, not open: opening a FIFO
 * blocks until a writer opens it.
 */
function notARegularFile(path: string): string | undefined {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  return 'a device';
}

/** The size of a regular file, undefined when it cannot be read. */
function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/**
 * `read(fd)` on the file opened for reading; undefined when it cannot be
 * opened or read (a missing file), or is not a regular file (never opened:
 * a FIFO would block here until a writer came, unkillable by SIGTERM).
 */
function readOpenFile<T>(path: string, read: (fd: number) => T): T | undefined {
  if (notARegularFile(path) !== undefined) return undefined;
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

/**
 * The reason `path` cannot be a file source, or undefined when its format is not refused (or it
 * cannot be read: opening it says why). `allowPipes`: a named pipe, socket or device passes (the
 * FrameSource API, whose caller feeds the pipe and knows it; the commands and the config refuse one).
 */
export function unsupportedFileFormat(path: string, options: { allowPipes?: boolean } = {}): string | undefined {
  // A folder (an image sequence's, say) gave GStreamer's '"…" is a directory.' after the model had
  // loaded; a FIFO hung the command before its first line, deaf to SIGTERM (open and filesrc's
  // read block until the writer sends, and stopping the pipeline waits for that read).
  const kind = notARegularFile(path);
  if (kind === 'a folder') return `${path} is a folder, not a video file: give the path of a recording (an image sequence is not read: make a video of it first)`;
  if (kind !== undefined && options.allowPipes !== true) return `${path} is ${kind}, not a video file: a recording is read from a regular file (a pipe blocks the reader until its writer sends, and cannot be stopped); save it to a file, or serve a live stream over RTSP`;
  // An empty file (a copy that failed, a recording not written yet) is said as such before the
  // model loads, as a missing one is (exit 2), not as GStreamer's 'Stream contains no data.' after.
  if (kind === undefined && fileSize(path) === 0) return `${path} is empty (0 bytes): check the path, or wait until the recording has been written`;
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
export function declaredBytesBeyondFile(path: string): { declared: number; actual: number; container: 'mp4' | 'avi' } | undefined {
  return readOpenFile(path, (fd) => {
    const actual = fstatSync(fd).size;
    const head = Buffer.alloc(16);
    const read = (at: number): number => readSync(fd, head, 0, 16, at);
    if (read(0) < 12) return undefined;
    if (head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'AVI ') {
      const declared = head.readUInt32LE(4) + 8;
      return declared > actual ? { declared, actual, container: 'avi' } : undefined;
    }
    if (head.toString('latin1', 4, 8) !== 'ftyp') return undefined;
    // Top-level ISO BMFF boxes: size (32 bits; 1 = 64-bit size follows; 0 = to the end of the file), type.
    let at = 0;
    for (let boxes = 0; at < actual && boxes < 10_000; boxes++) {
      if (read(at) < 8) return { declared: at + 8, actual, container: 'mp4' };
      let size = head.readUInt32BE(0);
      if (size === 0) return undefined;
      if (size === 1) size = Number(head.readBigUInt64BE(8));
      if (size < 8) return undefined; // not a box structure this reader knows: say nothing
      at += size;
    }
    return at > actual ? { declared: at, actual, container: 'mp4' } : undefined;
  });
}

/**
 * What to say when a recording ended at `endedAtS` (stream time) and its file
 * is shorter than its structure declares; undefined when it is whole. Only a
 * cut MP4 asks gst-discoverer for its duration (a whole file costs box headers).
 */
export async function recordingCutShort(path: string, endedAtS: number): Promise<string | undefined> {
  const cut = declaredBytesBeyondFile(path);
  if (!cut) return undefined;
  const mb = (b: number): string => (b / 1e6).toFixed(1);
  // An MP4's duration is its index's (whole at the front); a cut AVI's is GStreamer's estimate from what is left.
  const declaredS = cut.container === 'mp4' ? await recordingDuration(path) : undefined;
  const of = declaredS !== undefined ? ` of the ${declaredS.toFixed(1)} s its container declares` : '';
  return `${path} is cut short (${mb(cut.actual)} MB of the ${mb(cut.declared)} MB its container declares): it ended at ${endedAtS.toFixed(1)} s${of}, and the rest was not processed`;
}

/** A display rotation a recording's video track asks for, clockwise degrees. */
export type Rotation = 0 | 90 | 180 | 270;

/** The children of an ISO BMFF box's payload: [type, payload start, payload end] each. */
function* boxes(buf: Buffer, start: number, end: number): Generator<[string, number, number]> {
  let at = start;
  while (at + 8 <= end) {
    let size = buf.readUInt32BE(at);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) return;
      size = Number(buf.readBigUInt64BE(at + 8));
      header = 16;
    } else if (size === 0) size = end - at;
    if (size < header || at + size > end) return;
    yield [buf.toString('latin1', at + 4, at + 8), at + header, at + size];
    at += size;
  }
}

/**
 * The rotation an MP4/MOV's video track matrix (tkhd, ISO/IEC 14496-12 §8.3.2)
 * asks for: phones and some dashcams store the picture as the sensor read it
 * and rotate it on display. 0 when there is none, the file is of another kind,
 * or its matrix is not a plain quarter turn. Only the moov box is read.
 */
export function recordingRotation(path: string): Rotation {
  const found = readOpenFile(path, (fd): Rotation => {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(16);
    let at = 0;
    for (let n = 0; at + 8 <= size && n < 10_000; n++) {
      readSync(fd, head, 0, 16, at);
      let boxSize = head.readUInt32BE(0);
      if (boxSize === 1) boxSize = Number(head.readBigUInt64BE(8));
      if (boxSize === 0) boxSize = size - at;
      if (boxSize < 8) return 0;
      if (head.toString('latin1', 4, 8) === 'moov') {
        if (boxSize > 64 * 1024 * 1024 || at + boxSize > size) return 0;
        const moov = Buffer.alloc(boxSize);
        readSync(fd, moov, 0, boxSize, at);
        return moovRotation(moov);
      }
      at += boxSize;
    }
    return 0;
  });
  return found ?? 0;
}

function moovRotation(moov: Buffer): Rotation {
  for (const [type, start, end] of boxes(moov, 8, moov.length)) {
    if (type !== 'trak') continue;
    let matrix: number[] | undefined;
    let video = false;
    for (const [t, s, e] of boxes(moov, start, end)) {
      if (t === 'tkhd') {
        // version 0: 20 bytes of times and ids, version 1: 32; then 16 reserved/layer/volume bytes; then the 3×3 matrix.
        const at = s + 4 + (moov[s] === 1 ? 32 : 20) + 16;
        if (at + 36 <= e) matrix = Array.from({ length: 4 }, (_, i) => moov.readInt32BE(at + [0, 4, 12, 16][i]!));
      } else if (t === 'mdia') {
        for (const [m, ms, me] of boxes(moov, s, e)) {
          if (m === 'hdlr' && ms + 12 <= me && moov.toString('latin1', ms + 8, ms + 12) === 'vide') video = true;
        }
      }
    }
    if (!video || !matrix) continue;
    // a b / c d in 16.16: a quarter turn clockwise is (0 1 / −1 0), half (−1 0 / 0 −1), three quarters (0 −1 / 1 0).
    const [a, b, c, d] = matrix.map((v) => Math.round(v / 0x10000));
    if (a === 0 && b === 1 && c === -1 && d === 0) return 90;
    if (a === -1 && b === 0 && c === 0 && d === -1) return 180;
    if (a === 0 && b === -1 && c === 1 && d === 0) return 270;
    return 0;
  }
  return 0;
}

/** Files larger than this are not read whole for the JPEG end-of-image check (no camera image comes close). */
const JPEG_CHECK_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Whether a JPEG's marker structure reaches its end-of-image marker (FFD9): segments are stepped
 * over by their lengths (so an EXIF thumbnail's own FFD9 and data after the end do not count), scans
 * are read to the next marker. 'cut' when the file ends first, undefined when it is no JPEG, is
 * whole, or is laid out in a way this reader does not know (say nothing rather than guess).
 */
export function jpegEnd(data: Uint8Array): 'whole' | 'cut' | undefined {
  const n = data.length;
  if (n < 3 || data[0] !== 0xff || data[1] !== 0xd8 || data[2] !== 0xff) return undefined;
  let at = 2;
  while (at < n) {
    if (data[at] !== 0xff) return undefined;
    if (at + 1 >= n) return 'cut';
    const marker = data[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte before a marker
      continue;
    }
    if (marker === 0xd9) return 'whole';
    // TEM and RSTn stand alone; every other marker has a 16-bit length that counts itself.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (at + 4 > n) return 'cut';
    const length = (data[at + 2]! << 8) | data[at + 3]!;
    if (length < 2) return undefined;
    at += 2 + length;
    if (at > n) return 'cut';
    if (marker !== 0xda) continue;
    // Entropy-coded data after SOS: FF00 is a stuffed FF, FFD0–FFD7 restart markers, FFFF fill;
    // any other FFxx is the next marker.
    for (;;) {
      if (at + 1 >= n) return 'cut';
      if (data[at] !== 0xff) {
        at++;
        continue;
      }
      const next = data[at + 1]!;
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) at += 2;
      else if (next === 0xff) at++;
      else break;
    }
  }
  return 'cut';
}

/**
 * What to say about a JPEG image cut short (a copy interrupted, a download stopped); undefined for
 * a whole one or another kind of file. GStreamer's jpegdec says nothing about it: libjpeg decodes
 * what is there and fills the rest with grey, and the frame looks like any other.
 */
export function jpegCutShort(path: string): string | undefined {
  const data = readOpenFile(path, (fd) => {
    const size = fstatSync(fd).size;
    if (size > JPEG_CHECK_MAX_BYTES) return undefined;
    const buf = Buffer.alloc(size);
    return buf.subarray(0, readSync(fd, buf, 0, size, 0));
  });
  if (data === undefined || jpegEnd(data) !== 'cut') return undefined;
  return `${path} is a JPEG cut short (its ${data.length} bytes end before the image does): the decoder filled in the missing part (grey), so nothing in that part was detected; copy the image again`;
}
