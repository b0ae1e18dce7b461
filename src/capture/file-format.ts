/**
 * File formats a file source refuses before a pipeline starts, told by the
 * file's first bytes (not its name). GStreamer's decodebin takes a GIF but
 * never reaches end of stream on it: the pipeline spins at full CPU and
 * hands out a frame every 15 s or so, so `detect` and `replay` never end.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { fileKind } from '../file-magic.js';

/** The reason `path` cannot be a file source, or undefined when its format is not refused (or it cannot be read: opening it says why). */
export function unsupportedFileFormat(path: string): string | undefined {
  const head = Buffer.alloc(4);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    readSync(fd, head, 0, head.length, 0);
  } catch {
    return undefined; // a folder, say: the pipeline reports it
  } finally {
    closeSync(fd);
  }
  if (fileKind(head) === 'a GIF image') return `${path} is a GIF, which is not supported: convert it to PNG, JPEG or MP4`;
  return undefined;
}
