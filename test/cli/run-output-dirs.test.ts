/**
 * `bestshot run` with a report.dir or an embedded receiver's receiver.dir that
 * cannot be made (here: under a regular file): refused at start with exit 1
 * and one line naming the key, the path and the fix, before the model loads
 * or anything listens. It used to start (detector loaded, metrics listening)
 * and then die with Node's bare `[ENOTDIR] ENOTDIR: not a directory, mkdir …`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRunConfig } from '../helpers/run-config.js';
import { spawnCli } from '../helpers/spawn-cli.js';

/** The one error line of a failed start (the JSON log lines before it aside). */
const errorLine = (stderr: string): string | undefined => stderr.split('\n').find((l) => l.startsWith('bestshot run: '));

for (const key of ['report.dir', 'receiver.dir'] as const) {
  test(`a ${key} under a regular file: exit 1, one line naming ${key}, before the model loads`, { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bestshot-output-dir-'));
    try {
      const file = join(dir, 'afile');
      writeFileSync(file, 'not a folder');
      const unwritable = join(file, key === 'report.dir' ? 'report' : 'receiver');
      const config = writeRunConfig(dir, {
        source: '{ type: test, width: 64, height: 48, framerate: 5, numBuffers: 5 }',
        endpoint: 'http://127.0.0.1:9/packages',
        metricsPort: 0,
        extra: key === 'receiver.dir' ? `receiver: { embedded: true, port: 0, dir: ${unwritable} }\n` : '',
      });
      if (key === 'report.dir') writeFileSync(config, readFileSync(config, 'utf8').replace(`report: { dir: ${join(dir, 'report')} }`, `report: { dir: ${unwritable} }`));
      const cli = spawnCli(['run', '--config', config], { BESTSHOT_TEST_TOKEN: 't' });
      const [code] = await cli.closed;
      const { stdout, stderr } = cli.output();
      assert.equal(code, 1, stderr);
      assert.equal(errorLine(stderr), `bestshot run: [ERR_CONFIG] ${key}: ${unwritable} cannot be created (ENOTDIR): set ${key} to a writable directory`);
      // Nothing started: no model loaded, no port listening, no counts.
      assert.doesNotMatch(stderr, /detector loaded|metrics listening|receiver started/);
      assert.equal(stdout, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a metrics.host that is not an address of this unit: exit 1, one line naming metrics.host and the fix', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-metrics-host-'));
  try {
    const config = writeRunConfig(dir, { source: '{ type: test, width: 64, height: 48, framerate: 5, numBuffers: 5 }', endpoint: 'http://127.0.0.1:9/packages' });
    // 192.0.2.1 (TEST-NET-1, RFC 5737) is on no interface here: EADDRNOTAVAIL. Before: no code, no fix.
    writeFileSync(config, readFileSync(config, 'utf8').replace('metrics: { enabled: false }', 'metrics: { enabled: true, port: 0, host: 192.0.2.1 }'));
    const cli = spawnCli(['run', '--config', config], { BESTSHOT_TEST_TOKEN: 't' });
    const [code] = await cli.closed;
    const { stderr } = cli.output();
    assert.equal(code, 1, stderr);
    assert.equal(
      errorLine(stderr),
      "bestshot run: [ERR_CONFIG] metrics server cannot listen on 192.0.2.1:0 (EADDRNOTAVAIL): metrics.host is not an address of this unit; set it to 127.0.0.1, 0.0.0.0 (every interface) or one of the unit's own addresses",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
