/** bestshot probe <uri>: the first thing to run on a new camera. */
import { existsSync } from 'node:fs';
import { describeVideoStreams, openCapture, unsupportedFileFormat, type VideoStreams } from '../../capture/index.js';
import { sourceFromUri } from '../../capture/uri.js';
import { CaptureError, UsageError } from '../../errors.js';
import { maskUrlCredentials } from '../../log.js';
import type { Command } from '../commands.js';
import { numberArg, parseArgs } from '../args.js';

const usage = `Usage: bestshot probe <uri> [--frames N] [--width W --height H --framerate F]

Opens the source, prints the GStreamer pipeline, the negotiated frame size and
format, and the first frames' timestamps (stream PTS, capture wall clock,
interval). URIs: a file path, rtsp://…, /dev/videoN, argus://<sensor>, test://<pattern>.`;

export const command: Command = {
  summary: "print a source's caps and the first frames' timestamps",
  usage,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        frames: { type: 'string', default: '10' },
        width: { type: 'string' },
        height: { type: 'string' },
        framerate: { type: 'string' },
      },
    });
    const uri = positionals[0];
    if (!uri) {
      console.error(usage);
      return 2;
    }
    const frames = numberArg('positive integer', 'frames', values.frames, 10);
    const dims = {
      width: numberArg('positive integer', 'width', values.width),
      height: numberArg('positive integer', 'height', values.height),
      framerate: numberArg('positive integer', 'framerate', values.framerate),
    };
    // A URI that names no source (an unknown scheme, rtsp:// without a host, argus:// without a sensor
    // number, test:// with an unknown pattern) is a usage error (exit 2); sourceFromUri names the URI.
    let spec: ReturnType<typeof sourceFromUri>;
    try {
      spec = sourceFromUri(uri, dims);
    } catch (err) {
      if (err instanceof TypeError || err instanceof RangeError) throw new UsageError(err.message);
      throw err;
    }
    // A file that is not there is a usage error (exit 2), as in detect and replay; a camera that cannot be reached is a runtime one.
    if (spec.type === 'file' && !existsSync(spec.path)) throw new UsageError(`no such file: ${spec.path}`);
    const unsupported = spec.type === 'file' ? unsupportedFileFormat(spec.path) : undefined;
    if (unsupported !== undefined) throw new UsageError(unsupported);
    let source: ReturnType<typeof openCapture>;
    try {
      source = openCapture({ source: spec });
    } catch (err) {
      // A path that is no V4L2 capture device (/dev/null, a regular file, a camera's metadata node) will
      // never become a camera: a usage error (exit 2), as a missing file is. A /dev/videoN that is not
      // there stays a runtime error (exit 1): the camera may be unplugged for now.
      if (spec.type === 'v4l2' && err instanceof CaptureError && err.message.startsWith(`${spec.device} is not a V4L2 video capture device `)) {
        throw new UsageError(err.message);
      }
      throw err;
    }
    let streams: VideoStreams | undefined;
    source.once('videoStreams', (v) => {
      streams = v;
    });
    // The pipeline names the URL: a camera's password (rtsp://admin:pw@…, ?password=) is not printed,
    // as the log and the errors do not print it (the output is pasted into tickets and chats).
    console.log(`pipeline: ${maskUrlCredentials(source.pipeline.description)}`);
    console.log(`live:     ${source.pipeline.live}`);
    let prev: bigint | undefined;
    let count = 0;
    let timedOut = false;
    // RTSP: longer than rtspsrc's own 20 s tcp-timeout, so that a server that takes the connection
    // and never answers is reported as such (describePipelineError) rather than as no frame.
    const waitS = spec.type === 'rtsp' ? 25 : 15;
    const timer = setTimeout(() => {
      timedOut = true;
      source.close();
    }, waitS * 1000);
    try {
      for await (const f of source) {
        if (count === 0) {
          // GStreamer plays the first of several video streams and drops the others without a word.
          if (streams) console.log(`streams:  ${describeVideoStreams(spec.type === 'file' ? spec.path : maskUrlCredentials(uri), streams)}`);
          console.log(`caps:     video/x-raw, format=${f.format}, width=${f.width}, height=${f.height}\n`);
        }
        const wall = new Date(Number(f.captureRealtimeNs / 1_000_000n)).toISOString();
        const dt = prev === undefined ? '' : `  +${(Number(f.captureMonotonicNs - prev) / 1e6).toFixed(1)} ms`;
        console.log(`#${String(f.sequence).padStart(4)}  pts ${(Number(f.ptsNs) / 1e9).toFixed(3)} s  captured ${wall}${dt}`);
        prev = f.captureMonotonicNs;
        if (++count >= frames) break;
      }
    } finally {
      clearTimeout(timer);
      source.close();
    }
    if (count === 0) {
      // A damaged file ends the stream at once without a frame: that is not a source that is slow to start.
      if (!timedOut && spec.type === 'file') throw new CaptureError(`no frame could be decoded from ${spec.path}: the file is damaged or not an image or video GStreamer can read`);
      console.error(`no frame arrived within ${waitS} s`);
      return 1;
    }
    return 0;
  },
};
