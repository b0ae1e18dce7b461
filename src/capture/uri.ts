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
import { maskUrlCredentials } from '../log.js';
import { TEST_PATTERNS, type SourceOptions } from './options.js';

export function sourceFromUri(uri: string, defaults: { width?: number; height?: number; framerate?: number } = {}): SourceOptions {
  if (typeof uri !== 'string' || uri.length === 0) throw invalidParameterError('source URI', 'uri', uri);
  const width = defaults.width ?? 1280;
  const height = defaults.height ?? 720;
  const framerate = defaults.framerate ?? 30;
  if (/^rtsps?:\/\//.test(uri)) {
    // Refused as the config refuses cameras[].source.url: 'rtsp://' reached GStreamer, which said
    // 'RTSP camera at :554 cannot be reached' with no host in it. The host is read from the authority
    // (after user:password@, before :port) because new URL() throws on 'rtsp://admin:pw@/x', which is
    // a missing host, not a malformed URL. The password stays out of the message.
    const authority = uri.slice(uri.indexOf('://') + 3).split(/[/?#]/)[0]!;
    if (authority.slice(authority.lastIndexOf('@') + 1).replace(/:\d*$/, '') === '') {
      throw invalidParameterError('rtsp or rtsps URL with a host (rtsp://<host>[:<port>]/<path>)', 'uri', maskUrlCredentials(uri));
    }
    try {
      new URL(uri);
    } catch {
      throw invalidParameterError('rtsp or rtsps URL (rtsp://<host>[:<port>]/<path>)', 'uri', maskUrlCredentials(uri));
    }
    return { type: 'rtsp', url: uri };
  }
  if (uri.startsWith('file://')) return { type: 'file', path: fileURLToPath(uri) };
  if (uri.startsWith('v4l2://')) {
    const device = uri.slice('v4l2://'.length);
    // 'v4l2://' alone (or 'v4l2://video0') reached v4l2src as an empty or relative device path.
    if (!device.startsWith('/')) throw invalidParameterError('v4l2:///dev/videoN, the camera\'s device node after v4l2://', 'uri', uri);
    return { type: 'v4l2', device };
  }
  if (uri.startsWith('/dev/video')) return { type: 'v4l2', device: uri };
  // The sensor id and the pattern are checked here, naming the URI as typed: the source's own
  // checks name source.sensorId and source.pattern, which a command-line user never wrote.
  if (uri.startsWith('argus://')) {
    const id = uri.slice('argus://'.length) || '0';
    if (!/^\d+$/.test(id)) throw invalidParameterError('argus://<sensor-id>, a non-negative integer (argus://0 is the first CSI sensor),', 'uri', uri);
    return { type: 'argus', sensorId: Number(id), width, height, framerate };
  }
  if (uri.startsWith('test://')) {
    const pattern = uri.slice('test://'.length) || 'smpte';
    if (!(TEST_PATTERNS as readonly string[]).includes(pattern)) throw invalidParameterError(`test://<pattern> with a pattern of ${TEST_PATTERNS.join(', ')}`, 'uri', uri);
    return { type: 'test', pattern, width, height, framerate, live: true };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw invalidParameterError('a file path or a URI of scheme file, rtsp, rtsps, v4l2, argus, test', 'uri', uri);
  }
  return { type: 'file', path: uri };
}
