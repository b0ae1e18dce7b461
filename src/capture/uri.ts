/**
 * Source URIs as a user types them on the command line:
 *   path/to/clip.mp4 | file:///abs/clip.mp4   → file replay
 *   rtsp://host/stream                         → RTSP
 *   /dev/video0 | v4l2:///dev/video0           → V4L2/UVC camera
 *   argus://0                                  → Jetson CSI camera, sensor 0
 *   test:// | test://smpte                     → videotestsrc
 */
import { fileURLToPath } from 'node:url';
import { invalidParameterError } from '../errors.js';
import type { SourceOptions } from './options.js';

export function sourceFromUri(uri: string, defaults: { width?: number; height?: number; framerate?: number } = {}): SourceOptions {
  if (typeof uri !== 'string' || uri.length === 0) throw invalidParameterError('source URI', 'uri', uri);
  const width = defaults.width ?? 1280;
  const height = defaults.height ?? 720;
  const framerate = defaults.framerate ?? 30;
  if (/^rtsps?:\/\//.test(uri)) return { type: 'rtsp', url: uri };
  if (uri.startsWith('file://')) return { type: 'file', path: fileURLToPath(uri) };
  if (uri.startsWith('v4l2://')) return { type: 'v4l2', device: uri.slice('v4l2://'.length) };
  if (uri.startsWith('/dev/video')) return { type: 'v4l2', device: uri };
  if (uri.startsWith('argus://')) {
    const id = Number(uri.slice('argus://'.length) || '0');
    return { type: 'argus', sensorId: id, width, height, framerate };
  }
  if (uri.startsWith('test://')) {
    const pattern = uri.slice('test://'.length) || 'smpte';
    return { type: 'test', pattern, width, height, framerate, live: true };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw invalidParameterError('a file path or a URI of scheme file, rtsp, rtsps, v4l2, argus, test', 'uri', uri);
  }
  return { type: 'file', path: uri };
}
