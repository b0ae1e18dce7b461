// Version order of OTA downgrade refusal (docs/deploy.md): semver 2.0 precedence
// from scripts/lib/common.sh, run by real bash.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SCRIPTS } from './harness.js';

function bash(script: string): string {
  const r = spawnSync('bash', ['-c', `set -eu; . ${join(SCRIPTS, 'lib/common.sh')}; ${script}`]);
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stdout.toString().trim();
}

describe('lib/common.sh semver', () => {
  it('orders versions by semver 2.0 precedence', () => {
    // Each is lower than the next (the semver.org example chain and more).
    const chain = ['0.9.99', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.9.0', '1.10.0', '2.0.0', '10.0.0', '123456789012345678901.0.0'];
    const pairs = chain.slice(1).map((v, i) => `${chain[i]} ${v}`);
    const out = bash(`for p in ${pairs.map((p) => `'${p}'`).join(' ')}; do set -- $p; echo "$(bs_semver_cmp "$1" "$2") $(bs_semver_cmp "$2" "$1") $(bs_semver_cmp "$1" "$1")"; done`);
    assert.deepEqual(out.split('\n'), pairs.map(() => '-1 1 0'));
  });

  it('validates versions', () => {
    const ok = ['0.0.0', '1.2.3', '1.2.3-rc.1', '1.2.3-0.a-b'];
    const bad = ['1.2', '01.2.3', '1.2.3-', '1.2.3+build', 'v1.2.3', '1.2.3-rc..1', ''];
    const out = bash(`for v in ${[...ok, ...bad].map((v) => `'${v}'`).join(' ')}; do bs_semver_valid "$v" && echo y || echo n; done`);
    assert.deepEqual(out.split('\n'), [...ok.map(() => 'y'), ...bad.map(() => 'n')]);
  });
});
