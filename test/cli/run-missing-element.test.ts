/**
 * A camera whose pipeline needs a GStreamer element this machine lacks (an
 * argus CSI camera off a Jetson: nvarguscamerasrc) fails at once and is not
 * retried: GStreamer reads its plugins once per process, so every retry
 * failed the same way, for ever, while the run looked alive. The other
 * cameras run on; the run exits 1 and names the camera.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SHARED_DIR } from '../../src/paths.js';
import { writeRunConfig } from '../helpers/run-config.js';
import { runToEnd } from '../helpers/run-to-end.js';

const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');

test('an argus camera on a machine without NVIDIA\'s plugins fails once, not retried; the file camera beside it runs to its end; exit 1', { timeout: 120_000, skip: existsSync('/etc/nv_tegra_release') ? 'a Jetson has the element' : false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bestshot-missing-element-'));
  try {
    const config = writeRunConfig(dir, {
      cameras: `  - id: csi\n    source: { type: argus }\n  - id: clip\n    source: { type: file, path: ${CLIP}, realtime: false }\n`,
      endpoint: 'http://127.0.0.1:1/packages',
      upload: 'drainTimeoutS: 0',
    });
    const { code, stdout, stderr } = await runToEnd(config, { BESTSHOT_TEST_TOKEN: 'missing-element' });
    assert.equal(code, 1, stderr.slice(-2000));
    const failed = stderr.split('\n').filter((l) => l.includes('"camera":"csi"') && l.includes('"level":"error"'));
    assert.equal(failed.length, 1, stderr.slice(-3000));
    assert.match(failed[0]!, /"msg":"camera failed: a GStreamer element it needs is missing, not retried"/);
    assert.match(failed[0]!, /nvarguscamerasrc.*this machine is not a Jetson/);
    assert.doesNotMatch(stderr, /"camera":"csi".*retrying|retrying.*"camera":"csi"/);
    assert.match(stdout, /^camera: +csi: no frame captured; 1 failure, not retried; the last: Missing GStreamer element/m);
    assert.match(stdout, /^frames: +[1-9]\d* processed/m); // the clip camera ran on
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
