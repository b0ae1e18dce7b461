/**
 * bestshot detect <image|video>: run the detector (D1) on a file and print
 * the boxes; --annotate draws them into a JPEG.
 */
import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { describeVideoStreams, encodeJpeg, openCapture, recordingCutShort, unsupportedFileFormat, type CapturedFrame } from '../../capture/index.js';
import { jpegCutShort } from '../../capture/file-format.js';
import { annotate } from '../../detect/annotate.js';
import { Detector, PROVIDERS, tensorOptionsFor, type ExecutionProvider } from '../../detect/index.js';
import { CaptureError, UsageError } from '../../errors.js';
import { maskUrlCredentials } from '../../log.js';
import type { Box } from '../../types.js';
import type { Command } from '../commands.js';
import { createCountBar, expectedFrames } from '../progress.js';
import { numberArg, parseArgs } from '../args.js';

const usage = `Usage: bestshot detect <image|video> [options]

Runs the detector on a JPEG/PNG image or a video file and prints the boxes
(frame pixels: x1,y1,x2,y2 = box corners of the axis-aligned extent).

Options:
  --model <path>        ONNX model (default: models/yolox_nano.onnx, then $BESTSHOT_SHARED_DIR/models/)
  --manifest <path>     model manifest (default: <model>.json beside the model, else models/yolox_nano.json)
  --classes <a,b,...>   keep only these labels, e.g. person,bicycle,car,motorcycle,bus,truck
  --score <0..1>        minimum score (default: the manifest's, 0.3 for YOLOX-Nano)
  --frames <N>          read at most the first N frames of a video (default: all);
                        with --every K, every K-th of them is processed
  --every <K>           process every K-th frame (default 1)
  --providers <list>    execution providers in order (default tensorrt,cuda,cpu)
  --threads <N>         intra-op threads (default 1; 0 = one per core)
  --json                one JSON object per processed frame (NDJSON) instead of text
  --annotate <out.jpg>  write the processed frame with the most boxes, boxes drawn
  -h, --help            this text`;

/** Packed pixels (stride = width × 3) as encodeJpeg wants them. */
function packed(f: CapturedFrame): Uint8Array {
  const row = f.width * 3;
  if (f.stride === row) return new Uint8Array(f.pixels);
  const out = new Uint8Array(row * f.height);
  for (let y = 0; y < f.height; y++) out.set(f.pixels.subarray(y * f.stride, y * f.stride + row), y * row);
  return out;
}

const r2 = (v: number): number => Math.round(v * 100) / 100;
const xyxy = (b: Box): number[] => [b.cx - b.w / 2, b.cy - b.h / 2, b.cx + b.w / 2, b.cy + b.h / 2].map((v) => Math.round(v * 10) / 10);

export const command: Command = {
  summary: 'run the detector on an image or video',
  usage,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        model: { type: 'string' },
        manifest: { type: 'string' },
        classes: { type: 'string' },
        score: { type: 'string' },
        frames: { type: 'string' },
        every: { type: 'string' },
        providers: { type: 'string' },
        threads: { type: 'string' },
        json: { type: 'boolean', default: false },
        annotate: { type: 'string' },
      },
    });
    if (positionals.length !== 1) {
      console.error(usage);
      return 2;
    }
    const file = positionals[0]!;
    // Inputs and outputs are checked before the model loads: a typo fails in milliseconds, not after the work.
    // A camera URL is not a file: 'no such image or video: rtsp://…' read as if the file were missing.
    if (!existsSync(file) && /^(?!file:)[a-z][a-z0-9+.-]*:\/\//i.test(file)) {
      throw new UsageError(`detect reads an image or video file, not a camera URL (${maskUrlCredentials(file)}): save a frame or a recording first, or run the camera with 'bestshot run'`);
    }
    if (!existsSync(file)) throw new UsageError(`no such image or video: ${file}`);
    const unsupported = unsupportedFileFormat(file);
    if (unsupported !== undefined) throw new UsageError(unsupported);
    if (values.annotate !== undefined) {
      // An existing folder is no file to write either: it failed with EISDIR after the whole detection.
      if (existsSync(values.annotate) && statSync(values.annotate).isDirectory()) {
        throw new UsageError(`cannot write --annotate ${values.annotate}: it is a folder; give a file name, e.g. ${join(values.annotate, 'annotated.jpg')}`);
      }
      // The annotated frame is always JPEG: out.png held JPEG bytes under a PNG name, which some viewers and uploads refuse.
      const ext = extname(values.annotate);
      if (ext !== '' && !/^\.jpe?g$/i.test(ext)) {
        throw new UsageError(`cannot write --annotate ${values.annotate}: the annotated frame is a JPEG, not ${ext}; give a name ending in .jpg, e.g. ${values.annotate.slice(0, -ext.length)}.jpg`);
      }
      const dir = dirname(resolve(values.annotate));
      try {
        accessSync(dir, constants.W_OK);
      } catch {
        throw new UsageError(`cannot write --annotate ${values.annotate}: folder ${dir} does not exist or is not writable`);
      }
    }
    const maxFrames = numberArg('positive integer', 'frames', values.frames, Number.MAX_SAFE_INTEGER);
    const every = numberArg('positive integer', 'every', values.every, 1);
    const scoreThreshold = numberArg('number between 0 and 1', 'score', values.score);
    const threads = numberArg('non-negative integer', 'threads', values.threads);
    // A mistyped provider is a wrong option (exit 2), said with its name before the model loads.
    const providers = values.providers?.split(',').map((s) => s.trim());
    for (const p of providers ?? []) {
      if (!(PROVIDERS as readonly string[]).includes(p)) throw new UsageError(`Expected one of ${PROVIDERS.map((x) => `'${x}'`).join(', ')} for --providers but received '${p}'`);
    }
    const detector = await Detector.create({
      model: values.model,
      manifest: values.manifest,
      classes: values.classes?.split(',').map((s) => s.trim()).filter(Boolean),
      scoreThreshold,
      providers: providers as ExecutionProvider[] | undefined,
      intraOpNumThreads: threads,
    }).catch((err: Error) => {
      // A label the model does not know is a mistyped option (exit 2), not a runtime failure.
      if (err instanceof TypeError && err.message.includes(' for classes but received ')) throw new UsageError(err.message.replace(' for classes ', ' for --classes '));
      throw err;
    });
    const source = openCapture({ source: { type: 'file', path: file }, format: 'BGR', tensor: tensorOptionsFor(detector.manifest) });
    // GStreamer plays the first of several video streams and drops the others without a word: said, as run and replay say it.
    source.once('videoStreams', (v) => console.error(`bestshot detect: warning: ${describeVideoStreams(file, v)}`));
    const counts = new Map<string, number>();
    let best: { frame: CapturedFrame; index: number; pixels: Uint8Array; boxes: Box[] } | undefined;
    let index = 0;
    let processed = 0;
    let streamEndS = -1;
    let bar: ReturnType<typeof createCountBar> | undefined;
    try {
      if (!values.json) console.log(`model ${detector.manifest.name} (${detector.modelPath}) on ${detector.provider}`);
      for await (const frame of source) {
        if (index >= maxFrames) break;
        // A video whose results go to a file or pipe shows a bar on the terminal (stderr); on a terminal the lines are the progress.
        if (index === 0 && !process.stdout.isTTY && frame.durationNs > 0n) {
          const total = expectedFrames(file, 1e9 / Number(frame.durationNs));
          if (total !== undefined && total > 1) bar = createCountBar({ total: Math.min(total, maxFrames), unit: 'frames' });
        }
        const i = index++;
        if (frame.ptsNs >= 0n) streamEndS = Number(frame.ptsNs + (frame.durationNs > 0n ? frame.durationNs : 0n)) / 1e9;
        bar?.tick(index);
        if (i % every !== 0) continue;
        processed++;
        const boxes = await detector.detect({ tensor: frame.tensor!, letterbox: frame.letterbox!, frameWidth: frame.width, frameHeight: frame.height });
        for (const b of boxes) counts.set(b.label, (counts.get(b.label) ?? 0) + 1);
        if (values.json) {
          console.log(
            JSON.stringify({
              frame: i,
              width: frame.width,
              height: frame.height,
              boxes: boxes.map((b) => ({ ...b, cx: r2(b.cx), cy: r2(b.cy), w: r2(b.w), h: r2(b.h), score: Math.round(b.score * 1e4) / 1e4, xyxy: xyxy(b) })),
            }),
          );
        } else {
          console.log(`frame ${i} (${frame.width}x${frame.height}): ${boxes.length} box${boxes.length === 1 ? '' : 'es'}`);
          for (const b of boxes) console.log(`  ${b.label.padEnd(14)} ${b.score.toFixed(2)}  [${xyxy(b).join(', ')}]${b.angle ? ` angle ${b.angle.toFixed(3)}` : ''}`);
        }
        if (values.annotate !== undefined && (!best || boxes.length > best.boxes.length)) best = { frame, index: i, pixels: packed(frame), boxes };
      }
    } finally {
      bar?.stop();
      source.close();
      await detector.close();
    }
    // A damaged file can end the stream without a frame and without an error from the decoder: that is a failure, not "no boxes".
    if (index === 0) throw new CaptureError(`no frame could be decoded from ${file}: the file is damaged or not an image or video GStreamer can read`);
    // A JPEG cut short decodes without a word from GStreamer, the missing part grey. Warned, not refused:
    // the part that decoded is real and its boxes are right (a cut recording is warned about the same
    // way); a cut that leaves nothing to decode already fails above.
    if (index === 1) {
      const cut = jpegCutShort(file);
      if (cut) console.error(`bestshot detect: warning: ${cut}`);
    }
    // Read to its end (not stopped by --frames): a recording cut short is said, as run and replay say it.
    if (index > 1 && index < maxFrames) {
      const cut = await recordingCutShort(file, streamEndS);
      if (cut) console.error(`bestshot detect: warning: ${cut}`);
    }
    if (!values.json && processed > 1) {
      const summary = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([l, n]) => `${l} ${n}`);
      console.log(`${processed} frames: ${summary.join(', ') || 'no boxes'}`);
    }
    if (values.annotate !== undefined) {
      if (!best) throw new CaptureError('no frame to annotate'); // not reached: at least frame 0 was processed
      const img = { width: best.frame.width, height: best.frame.height, format: 'BGR' as const, pixels: best.pixels };
      annotate(img, best.boxes);
      writeFileSync(values.annotate, await encodeJpeg(img, { quality: 80 }));
      if (!values.json) console.log(`annotated frame ${best.index} written to ${values.annotate}`);
    }
    return 0;
  },
};
