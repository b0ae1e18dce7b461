/**
 * STYLE 11: the C++ addon checked with AddressSanitizer and LeakSanitizer.
 * scripts/asan-check.sh builds an ASan copy of the addon, runs every native
 * entry point (test/native/asan-exercise.ts) and fails on a memory error or a
 * leak whose stack passes through the addon.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

const libasan = (() => {
  try {
    return execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
})();

test('the addon has no memory error and leaks nothing under ASan/LSan', { timeout: 240_000, skip: existsSync(libasan) ? false : 'libasan not installed' }, () => {
  const r = spawnSync('bash', [join(PROJECT_ROOT, 'scripts', 'asan-check.sh')], { encoding: 'utf8', cwd: PROJECT_ROOT });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /asan-check: no memory error, no leak through the addon/);
});
