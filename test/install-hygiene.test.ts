/**
 * Install hygiene: no deprecated npm project config (onnxruntime-node is skipped by its environment switch), every dependency's
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

test('onnxruntime-node skips its CUDA download through its environment switch (set-up exports it before npm ci; a GPU user overrides it), and npm prints no project-config warning', () => {
  const setup = readFileSync(join(PROJECT_ROOT, 'scripts', 'setup.sh'), 'utf8');
  const exportAt = setup.indexOf('export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"');
  assert.ok(exportAt > 0, 'setup.sh exports ONNXRUNTIME_NODE_INSTALL');
  assert.ok(exportAt < setup.indexOf('npm ci --no-audit'), 'the switch is exported before npm ci');
  // Every "Unknown project config" warning fails set-up: none is exempt any more.
  assert.match(setup, /grep -E "Unknown project config\|install-scripts\|not yet covered by allowScripts" \.bestshot\/npm-ci\.log; then/);
  // npm's deprecated project-config form (.npmrc onnxruntime-node-install) made every npm command warn.
  const r = spawnSync('npm', ['config', 'get', 'fund'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Unknown project config/);
});

test('every installed package with an install script is covered by allowScripts', () => {
  const r = spawnSync('npm', ['install-scripts', 'ls'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /No packages with unreviewed install scripts/, r.stdout);
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
  for (const name of ['better-sqlite3', 'onnxruntime-node']) assert.equal(pkg.allowScripts?.[name], true, name);
});
