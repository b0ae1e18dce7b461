/**
 * The capture layer over its native binding, without GStreamer: a binding of
 * the same interface (NativeBinding) stands in for the addon where a test
 * needs the addon to fail in ways a real pipeline cannot be made to. Native
 * errors come back as CaptureErrors whose `cause` is the native error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeJpeg } from '../../src/capture/jpeg.js';
import { FrameSource } from '../../src/capture/frame-source.js';
import type { NativeBinding, NativeMessage, NativePipeline } from '../../src/capture/native.js';

function failingBinding(fail: { create?: Error; start?: Error; jpeg?: Error }, messages: Array<(m: NativeMessage) => void> = []): NativeBinding {
  class Pipeline implements NativePipeline {
    constructor(_o: unknown, onMessage: (m: NativeMessage) => void) {
      if (fail.create) throw fail.create;
      messages.push(onMessage);
    }
    start(): void {
      if (fail.start) throw fail.start;
    }
    request(): void {}
    push(): boolean {
      return true;
    }
    endOfStream(): void {}
    setProperty(): void {}
    getProperty(): string | null {
      return null;
    }
    close(): void {}
    released(): boolean {
      return true;
    }
    releaseTensor(): void {}
    addPixelSlots(views: Uint8Array[]): number {
      return views.length;
    }
    addTensorSlots(views: Float32Array[]): number {
      return views.length;
    }
    releasePixels(): void {}
  }
  return {
    gstVersion: () => 'GStreamer 0.0 (stand-in)',
    hasElement: () => true,
    limitMallocArenas: () => false,
    fixMmapThreshold: () => false,
    encodeJpeg: async () => {
      throw fail.jpeg ?? new Error('no');
    },
    Pipeline,
  };
}

test('a pipeline the addon cannot create: CaptureError naming the cause, the native error kept as cause', () => {
  const native = new Error('no element "videotestsrc2"');
  assert.throws(
    () => new FrameSource({ source: { type: 'test', pattern: 'ball', width: 64, height: 48, framerate: 10 } }, failingBinding({ create: native })),
    (err: Error & { code?: string; cause?: unknown }) => {
      assert.equal(err.name, 'CaptureError');
      assert.equal(err.message, 'Could not create pipeline: no element "videotestsrc2"');
      assert.equal(err.cause, native, 'the native error is the cause');
      return true;
    },
  );
});

test('a pipeline that fails to start: the same, from start()', () => {
  const native = new Error('Resource not found.');
  const source = new FrameSource({ source: { type: 'test', pattern: 'ball', width: 64, height: 48, framerate: 10 } }, failingBinding({ start: native }));
  assert.throws(
    () => source.start(),
    (err: Error & { cause?: unknown }) => err.name === 'CaptureError' && err.message === 'Could not start pipeline: Resource not found.' && err.cause === native,
  );
  source.close();
});

test('a native error message after start fails the pending next() with a CaptureError naming it', async () => {
  const sinks: Array<(m: NativeMessage) => void> = [];
  const source = new FrameSource({ source: { type: 'test', pattern: 'ball', width: 64, height: 48, framerate: 10 } }, failingBinding({}, sinks)).start();
  source.on('error', () => {});
  const next = source.next();
  sinks[0]!({ type: 'error', message: 'Internal data stream error.', debug: 'gstbasesrc.c(3132)', source: 'src' });
  await assert.rejects(next, { name: 'CaptureError', code: 'ERR_CAPTURE', message: 'Internal data stream error. (from src)' });
  source.close();
});

test('JPEG encoding that fails in the addon: CaptureError with the native error as cause', async () => {
  const native = new Error('jpegenc refused the caps');
  const pixels = new Uint8Array(8 * 8 * 3);
  await assert.rejects(
    encodeJpeg({ width: 8, height: 8, format: 'BGR', pixels }, {}, failingBinding({ jpeg: native })),
    (err: Error & { cause?: unknown }) => err.name === 'CaptureError' && /JPEG encoding failed: jpegenc refused the caps/.test(err.message) && err.cause === native,
  );
});
