/**
 * Install hygiene: one project config only (onnxruntime-node's install skip,
 * for an npm that does not read allowScripts), every dependency's install
 * script covered by package.json's allowScripts (a future npm blocks the
 * others: better-sqlite3 would not build; onnxruntime-node's, a CUDA
 * download, is denied on purpose), and
 * the set-up script fails on the warnings npm would print (CI runs it on a
 * fresh clone, so the real `npm ci` log is checked there).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.js';

test('npm never runs onnxruntime-node\'s CUDA download step: allowScripts denies it, .npmrc skips it for an older npm (set-up runs it only for a GPU user)', () => {
  // .npmrc: a plain offline `npm ci` with npm < 11.16 (which does not read allowScripts) must not try the download.
  const npmrc = readFileSync(join(PROJECT_ROOT, '.npmrc'), 'utf8');
  assert.deepEqual(npmrc.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')), ['onnxruntime-node-install=skip']);
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(ONNXRUNTIME_NODE_INSTALL|npm_config_onnxruntime)/i.test(k)) delete env[k];
  // npm rebuild runs a package's install scripts as npm ci does, and honours allowScripts the same way.
  const r = spawnSync('npm', ['rebuild', 'onnxruntime-node', '--foreground-scripts', '--loglevel=info'], { cwd: PROJECT_ROOT, encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /run onnxruntime-node@[\d.]+ postinstall/);
  const setup = readFileSync(join(PROJECT_ROOT, 'scripts', 'setup.sh'), 'utf8');
  assert.match(setup, /export ONNXRUNTIME_NODE_INSTALL="\$\{ONNXRUNTIME_NODE_INSTALL:-skip\}"/);
  assert.match(setup, /if \[ "\$ONNXRUNTIME_NODE_INSTALL" != skip \].*\n.*\n\s+node node_modules\/onnxruntime-node\/script\/install\.js/);
  assert.match(setup, /grep -E "Unknown project config\|install-scripts\|not yet covered by allowScripts" \.bestshot\/npm-ci\.log \| grep -v 'Unknown project config "onnxruntime-node-install"'/);
});

test('every installed package with an install script is covered by allowScripts', () => {
  const r = spawnSync('npm', ['install-scripts', 'ls'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /No packages with unreviewed install scripts/, r.stdout);
  const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> };
  assert.equal(pkg.allowScripts?.['better-sqlite3'], true);
  assert.equal(pkg.allowScripts?.['onnxruntime-node'], false);
});
