/**
 * selection.policy 'budget' with a budget too small for the scene gives up on
 * the objects it cannot pay for (budgetMaxWaitS, end of stream) and counts
 * them (src/select/policies/budget.ts). `bestshot run` never said so: its
 * counts showed a package or two, every one delivered, and looked complete.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SHARED_DIR } from '../../src/paths.js';
import { freePort } from '../helpers/net.js';
import { writeRunConfig } from '../helpers/run-config.js';
import { runToEnd } from '../helpers/run-to-end.js';

const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bestshot-budget-unsent-'));
});

after(() => rmSync(dir, { recursive: true, force: true }));

test("'budget' too small for the scene: the run's counts say how many objects were never sent", { timeout: 180_000 }, async () => {
  const config = writeRunConfig(dir, {
    source: `{ type: file, path: ${CLIP} }`,
    endpoint: `http://127.0.0.1:${await freePort()}/packages`,
    upload: 'drainTimeoutS: 0',
    extra: 'defaults: { selection: { policy: budget, budgetBytesPerS: 1, budgetBurstS: 1, budgetMaxWaitS: 1 } }\n',
  });
  const { code, stdout, stderr } = await runToEnd(config, { BESTSHOT_TEST_TOKEN: 'budget-token' });
  assert.equal(code, 0, stderr);
  const m = /^packages: +(\d+) built .*; (\d+) objects never sent: the budget policy gave up on them \(not sent within budgetMaxWaitS of their end\)$/m.exec(stdout);
  assert.ok(m, stdout);
  assert.ok(Number(m[2]) > Number(m[1]), stdout); // a clip with dozens of vehicles, a budget of 1 B/s
});
