// Every deployment script is shellcheck clean (docs/deploy.md). Skips only when the
// shellcheck binary is absent (CI installs the apt package `shellcheck`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SCRIPTS } from './harness.js';

/** The deployment scripts (scripts/setup.sh belongs to the dev setup, not the unit). */
const DEPLOY_SCRIPTS = ['install-jetson.sh', 'install-onnxruntime-jetson.sh', 'package.sh', 'ota-update.sh', 'health-watchdog.sh', 'lib/common.sh'];

const have = spawnSync('shellcheck', ['--version']).status === 0;

describe('shellcheck', () => {
  it('passes on every install, packaging and OTA script', { skip: have ? false : 'shellcheck is not installed' }, () => {
    const files = DEPLOY_SCRIPTS.map((f) => join(SCRIPTS, f));
    for (const f of files) assert.ok(existsSync(f), `${f} exists`);
    // Default severity (style and up), following sourced files.
    const r = spawnSync('shellcheck', ['--external-sources', ...files]);
    assert.equal(r.stdout.toString() + r.stderr.toString(), '');
    assert.equal(r.status, 0);
  });
});
