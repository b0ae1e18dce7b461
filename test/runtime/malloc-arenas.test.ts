/**
 * The service limits glibc's malloc arenas to DEFAULT_MALLOC_ARENAS unless
 * MALLOC_ARENA_MAX is set (docs/performance.md: each thread's arena keeps
 * pages; two arenas cut 14–22 MiB a camera).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNative } from '../../src/capture/native.js';
import { DEFAULT_MALLOC_ARENAS, limitMallocArenas } from '../../src/runtime/service.js';

test('limitMallocArenas: 2 arenas when MALLOC_ARENA_MAX is unset, the environment kept when it is set', () => {
  const calls: number[] = [];
  const native = { limitMallocArenas: (n: number) => (calls.push(n), true) };
  assert.equal(limitMallocArenas({}, native), DEFAULT_MALLOC_ARENAS);
  assert.deepEqual(calls, [2]);
  assert.equal(limitMallocArenas({ MALLOC_ARENA_MAX: '4' }, native), null);
  assert.equal(limitMallocArenas({ MALLOC_ARENA_MAX: '' }, native), DEFAULT_MALLOC_ARENAS);
  assert.deepEqual(calls, [2, 2]);
  // A C library other than glibc: nothing set, nothing claimed.
  assert.equal(limitMallocArenas({}, { limitMallocArenas: () => false }), null);
});

test('the native addon sets M_ARENA_MAX on glibc (mallopt accepts it)', () => {
  const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime !== undefined;
  assert.equal(loadNative().limitMallocArenas(DEFAULT_MALLOC_ARENAS), glibc);
});
