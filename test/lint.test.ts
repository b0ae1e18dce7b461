/**
 * Guard rails run with the tests: the strict type-check (noUnusedLocals,
 * noUnusedParameters on), biome's recommended lint rules (biome.jsonc says
 * which are off and why) and knip (no unused file, export or dependency;
 * knip.json names the entry points) must be clean.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from '../src/paths.js';

test('npm run lint: tsc --noEmit, biome lint and knip are clean', { timeout: 180_000 }, () => {
  const r = spawnSync('npm', ['run', '--silent', 'lint'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`.slice(-6000));
});
