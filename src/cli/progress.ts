/**
 * Progress for long work (replay, demo, detect on a video): a bar with total,
 * percent, frames/s and ETA on a terminal, then a visible drain phase
 * ("queue: N left, ~T s"). Silent when stderr is not a TTY (pipes, journald),
 * so logs and results stay clean. Drawn on stderr: stdout carries results.
 */
import cliProgress from 'cli-progress';
import { recordingDurationSync } from '../capture/index.js';

export interface Progress {
  /** Frames done so far, and packages selected. */
  frames(done: number, uploads: number): void;
  /** The queue is draining: packages left and the rate they leave at (Hz). */
  draining(left: number, sendHz: number): void;
  stop(): void;
}

const SILENT: Progress = { frames: () => undefined, draining: () => undefined, stop: () => undefined };

/**
 * U2: a drain's ETA, s, at the rate packages actually left over the last
 * interval (`leftBefore` at its start, `left` now); undefined when none left:
 * an endpoint that accepts connections and never answers fails nothing until
 * the response timeout (30 s by default), and an ETA at sendHz would promise
 * seconds while nothing moves. Say what the drain waits for instead.
 */
export function drainEtaS(leftBefore: number, left: number, intervalS: number): number | undefined {
  if (!(intervalS > 0) || left >= leftBefore) return undefined;
  return Math.ceil(left / ((leftBefore - left) / intervalS));
}

/** Seconds without a package leaving after which a drain says it waits for the endpoint's answer. */
const DRAIN_QUIET_S = 5;

/**
 * Frames a recording yields on the captureHz grid (A5), from its duration as
 * gst-discoverer reports it; undefined when unknown (the bar then shows counts
 * without a total).
 */
export function expectedFrames(path: string, captureHz: number): number | undefined {
  const seconds = recordingDurationSync(path);
  return seconds !== undefined ? Math.max(1, Math.floor(seconds * captureHz)) : undefined;
}

export function createProgress(options: { total?: number; enabled: boolean; stream?: NodeJS.WriteStream }): Progress {
  const stream = options.stream ?? process.stderr;
  if (!options.enabled || !stream.isTTY) return SILENT;
  const total = options.total;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: total
        ? 'frames {bar} {percentage}% {value}/{total} | {fps} frames/s | ETA {eta_formatted} | {uploads} selected'
        : 'frames {value} | {fps} frames/s | {uploads} selected',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = performance.now();
  bar.start(total ?? 0, 0, { fps: '0.0', uploads: 0 });
  let phase: 'frames' | 'drain' = 'frames';
  let lastLeft = Number.POSITIVE_INFINITY;
  let movedAt = 0;
  return {
    frames(done, uploads) {
      if (phase !== 'frames') return;
      const fps = done / Math.max(1e-3, (performance.now() - t0) / 1000);
      // A recording can run slightly past its estimated length: grow the total, never overflow.
      if (total !== undefined && done > bar.getTotal()) bar.setTotal(done);
      bar.update(done, { fps: fps.toFixed(1), uploads });
    },
    draining(left, sendHz) {
      if (phase === 'frames') {
        if (total !== undefined) bar.update(bar.getTotal());
        bar.stop();
        phase = 'drain';
      }
      const now = performance.now();
      if (left < lastLeft) {
        lastLeft = left;
        movedAt = now;
      }
      // No ETA while nothing leaves (drainEtaS): the endpoint has not answered.
      const quietS = Math.floor((now - movedAt) / 1000);
      stream.write(`\r\x1b[2Kqueue: ${left} left, ${quietS >= DRAIN_QUIET_S ? `waiting for the endpoint's answer (${quietS} s)` : `~${Math.ceil(left / sendHz)} s`}`);
    },
    stop() {
      if (phase === 'frames') bar.stop();
      else stream.write('\n');
    },
  };
}

/** A bar over a known number of items (eval inputs, video frames), on stderr, silent when it is not a TTY. */
export function createCountBar(options: { total: number; unit: string; enabled?: boolean; stream?: NodeJS.WriteStream }): { tick(done: number, note?: string): void; stop(): void } {
  const stream = options.stream ?? process.stderr;
  if (options.enabled === false || !stream.isTTY) return { tick: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { stream, format: `${options.unit} {bar} {percentage}% {value}/{total} | ETA {eta_formatted} {note}`, hideCursor: true, clearOnComplete: true, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(options.total, 0, { note: '' });
  return {
    tick: (done, note = '') => bar.update(done, { note }),
    stop: () => bar.stop(),
  };
}
