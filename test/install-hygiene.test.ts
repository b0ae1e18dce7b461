/**
 * Install hygiene: one project config only (onnxruntime-node's install skip), every dependency's
 * install script covered by package.json's allowScripts (a future npm blocks
 * the others: better-sqlite3 and onnxruntime-node would not install), and
 * the set-up script fails on the warnings npm would print (CI runs it on a
 * fresh clone, so the real `npm ci` log is checked there).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';

test('onnxruntime-node skips its CUDA download for a plain npm ci (.npmrc) and in set-up (its environment switch, which a GPU user overrides)', () => {
  const npmrc = readFileSync(join(PROJECT_ROOT, '.npmrc'), 'utf8');
  assert.match(npmrc, /^onnxruntime-node-install=skip$/m);
  // Nothing else in .npmrc: the one project config kept on purpose.
  assert.deepEqual(npmrc.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')), ['onnxruntime-node-install=skip']);
  const setup = readFileSync(join(PROJECT_ROOT, 'scripts', 'setup.sh'), 'utf8');
  assert.match(setup, /export ONNXRUNTIME_NODE_INSTALL="\$\{ONNXRUNTIME_NODE_INSTALL:-skip\}"/);
  assert.match(setup, /grep -E "Unknown project config\|install-scripts\|not yet covered by allowScripts" \.bestshot\/npm-ci\.log \| grep -v 'Unknown project config "onnxruntime-node-install"'/);
});

test('every installed package with an install script is covered by allowScripts', () => {
  const r = spawnSync('npm', ['install-scripts', 'ls'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /No packages with unreviewed install scripts/, r.stdout);
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
  for (const name of ['better-sqlite3', 'onnxruntime-node']) assert.equal(pkg.allowScripts?.[name], true, name);
});
