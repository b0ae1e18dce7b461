/** The typed emitter (STYLE 9): a throwing listener is isolated and reported, never recursing. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypedEmitter } from '../src/events.js';

type Events = { data: [number]; error: [Error] };

test('a listener that throws is reported; the other listeners still run', () => {
  const reported: string[] = [];
  const e = new TypedEmitter<Events>((err, event) => reported.push(`${String(event)}: ${(err as Error).message}`));
  const seen: number[] = [];
  e.on('data', () => {
    throw new Error('boom');
  });
  e.on('data', (n) => seen.push(n));
  e.emit('data', 7);
  assert.deepEqual(seen, [7]);
  assert.deepEqual(reported, ['data: boom']);
});

test("errors re-emitted as 'error' (as the runners do): a throwing 'error' listener does not recurse", () => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w.message);
  };
  process.on('warning', onWarning);
  try {
    let calls = 0;
    class Runner extends TypedEmitter<Events> {
      constructor() {
        super((err) => this.emit('error', err instanceof Error ? err : new Error(String(err))));
      }
    }
    const r = new Runner();
    r.on('error', () => {
      calls++;
      throw new Error('error listener failed');
    });
    r.on('data', () => {
      throw new Error('data listener failed');
    });
    // Before the fix this overflowed the stack (each report re-entered the throwing 'error' listener).
    r.emit('data', 1);
    assert.equal(calls, 1, "the 'error' listener ran once");
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        assert.deepEqual(warnings, ["listener for 'error' threw: error listener failed"]);
        resolve();
      }),
    );
  } finally {
    setImmediate(() => process.off('warning', onWarning));
  }
});
