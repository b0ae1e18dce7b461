import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CONFIG_SCHEMA, DEMO_CONFIG_PATH, loadConfig, loadDemoConfig, redact, renderSchemaMarkdown, schemaRows } from '../../src/config/index.js';
import { PROJECT_ROOT, SHARED_DIR } from '../../src/paths.js';

const EXAMPLE = join(PROJECT_ROOT, 'config', 'example.yaml');
const ENV = { BESTSHOT_SHARED_DIR: SHARED_DIR, BESTSHOT_UPLOAD_TOKEN: 'example-token-value' };

describe('config files shipped in config/', () => {
  test('config/example.yaml loads with no warnings and shows every source, position and secret form', async () => {
    const { config, warnings } = await loadConfig(EXAMPLE, { env: ENV });
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      config.cameras.map((c) => `${c.id}:${c.source.type}:${c.position.type}`),
      ['north-gate:argus:fixed', 'dashcam:rtsp:gpsd', 'usb0:v4l2:none', 'replay:file:none', 'pattern:test:none', 'sim:simulated:none'],
    );
    // Shipped without a token so that it passes check-config as is; the secret forms are shown in comments.
    assert.equal(config.upload.token, undefined);
    assert.match(readFileSync(EXAMPLE, 'utf8'), /# token: \{ env: BESTSHOT_UPLOAD_TOKEN \}\n\s+# token: \{ file: /);
    assert.equal(config.queue.maxBytes, 512 * 1024 * 1024);
    // dashcam overrides one selection key and inherits the rest from defaults:
    assert.equal(config.cameras[1]!.selection.minScore2, 0.75);
    assert.equal(config.cameras[1]!.selection.policy, 'spec');
    const safe = JSON.stringify(redact(config));
    assert.ok(!safe.includes('example-token-value'));
    assert.ok(!safe.includes('changeme'));
  });

  test('config/example.yaml mentions every key of the schema', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const missing = schemaRows(CONFIG_SCHEMA)
      .map((r) => r.key)
      .filter((key) => !new RegExp(`(^|[\\s{,#])${key}:`, 'm').test(text));
    assert.deepEqual([...new Set(missing)], []);
  });

  test('config/demo.yaml (the embedded default) replays the shared clip to the embedded receiver on CPU', async () => {
    const { config, warnings } = await loadDemoConfig({ env: { BESTSHOT_SHARED_DIR: SHARED_DIR, BESTSHOT_DEMO_DIR: '/tmp/demo-x' } });
    assert.equal(DEMO_CONFIG_PATH, join(PROJECT_ROOT, 'config', 'demo.yaml'));
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.cameras[0]!.source, {
      type: 'file',
      path: join(SHARED_DIR, 'data', 'traffic-clips', 'suburban-street-elevated.mp4'),
      realtime: false,
      loop: false,
    });
    assert.deepEqual(config.model.providers, ['cpu']);
    assert.equal(config.receiver.embedded, true);
    assert.equal(config.upload.endpoint, undefined);
    assert.equal(config.queue.path, '/tmp/demo-x/queue.sqlite');
    assert.equal(config.report.dir, '/tmp/demo-x/report');
  });

  test('docs/config.md carries the reference table generated from the schema', () => {
    const docs = readFileSync(join(PROJECT_ROOT, 'docs', 'config.md'), 'utf8');
    assert.ok(docs.includes(renderSchemaMarkdown()), 'docs/config.md is out of date: regenerate with bestshot check-config --schema');
  });
});
