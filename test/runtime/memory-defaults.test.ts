/**
 * Memory defaults of the service (docs/performance.md): glibc's malloc arenas
 * limited to DEFAULT_MALLOC_ARENAS unless MALLOC_ARENA_MAX is set (each
 * thread's arena keeps pages; two arenas cut 14–22 MiB a camera), and one
 * decoder thread per camera when a service runs several cameras.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNative } from '../../src/capture/native.js';
import { parseConfig } from '../../src/config/index.js';
import { DEFAULT_MALLOC_ARENAS, DEFAULT_MMAP_THRESHOLD, decoderThreadsFor, fixMmapThreshold, limitMallocArenas } from '../../src/runtime/service.js';

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

test('fixMmapThreshold: 128 KiB unless MALLOC_MMAP_THRESHOLD_ or GLIBC_TUNABLES sets one', () => {
  const calls: number[] = [];
  const native = { fixMmapThreshold: (n: number) => (calls.push(n), true) };
  assert.equal(fixMmapThreshold({}, native), 128 * 1024);
  assert.equal(DEFAULT_MMAP_THRESHOLD, 131072);
  assert.equal(fixMmapThreshold({ MALLOC_MMAP_THRESHOLD_: '1048576' }, native), null);
  assert.equal(fixMmapThreshold({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=65536' }, native), null);
  assert.equal(fixMmapThreshold({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=1' }, native), 131072);
  assert.deepEqual(calls, [131072, 131072]);
  assert.equal(fixMmapThreshold({}, { fixMmapThreshold: () => false }), null);
});

test('the native addon sets M_MMAP_THRESHOLD on glibc (mallopt accepts it)', () => {
  const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime !== undefined;
  assert.equal(loadNative().fixMmapThreshold(DEFAULT_MMAP_THRESHOLD), glibc);
});

test('the native addon sets M_ARENA_MAX on glibc (mallopt accepts it)', () => {
  const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime !== undefined;
  assert.equal(loadNative().limitMallocArenas(DEFAULT_MALLOC_ARENAS), glibc);
});

test('decoderThreadsFor: a key set is kept; 0 is one thread per camera with several cameras, the decoder’s own choice with one', () => {
  const cfg = (n: number, extra = ''): ReturnType<typeof parseConfig>['config'] =>
    parseConfig(`cameras:\n${Array.from({ length: n }, (_, i) => `  - { id: c${i}, source: { type: test }${extra} }`).join('\n')}\nupload: { endpoint: "http://127.0.0.1:9/in" }\n`, { baseDir: '/tmp', env: {} }).config;
  const one = cfg(1);
  assert.equal(decoderThreadsFor(one, one.cameras[0]!), 0);
  const four = cfg(4);
  for (const c of four.cameras) assert.equal(decoderThreadsFor(four, c), 1);
  const set = cfg(2, ', decoderThreads: 3');
  assert.equal(decoderThreadsFor(set, set.cameras[1]!), 3);
});
