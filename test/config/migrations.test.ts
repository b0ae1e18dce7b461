import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigValidationError, CURRENT_VERSION, migrate, MIGRATIONS, parseConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

const ENV = { BESTSHOT_SHARED_DIR: '/srv/bestshot-shared' };

const V0 = `
version: 0
detector:
  threads: 1
  providers: [cpu]
cameras:
  - id: gate
    source: { type: test }
    fps: 5
  - id: lane
    source: { type: test }
upload:
  url: http://127.0.0.1:8080/ingest
cache:
  file: /tmp/q.sqlite
  capacity: 50
`;

describe('config migrations', () => {
  test('the table covers every version up to the current one', () => {
    assert.equal(CURRENT_VERSION, 1);
    assert.deepEqual(
      MIGRATIONS.map((m) => [m.from, m.to]),
      [[0, 1]],
    );
  });

  test('version 0 → 1 renames keys and reports each rename as a warning', () => {
    const { config, warnings } = parseConfig(V0, { baseDir: '/tmp', env: ENV });
    assert.equal(config.version, 1);
    assert.equal(config.model.intraOpThreads, 1);
    assert.deepEqual(config.model.providers, ['cpu']);
    assert.equal(config.cameras[0]!.captureHz, 5);
    assert.equal(config.cameras[1]!.captureHz, 10);
    assert.equal(config.upload.endpoint, 'http://127.0.0.1:8080/ingest');
    assert.equal(config.queue.path, '/tmp/q.sqlite');
    assert.equal(config.queue.maxPackages, 50);
    assert.deepEqual(warnings, [
      'version 0 → 1: renamed detector to model',
      'version 0 → 1: renamed model.threads to model.intraOpThreads',
      'version 0 → 1: renamed cameras[0].fps to cameras[0].captureHz',
      'version 0 → 1: renamed upload.url to upload.endpoint',
      'version 0 → 1: renamed cache to queue',
      'version 0 → 1: renamed queue.file to queue.path',
      'version 0 → 1: renamed queue.capacity to queue.maxPackages',
    ]);
  });

  test('migrate() does not modify its input', () => {
    const doc = { version: 0, cameras: [{ id: 'a', fps: 3 }] };
    const { doc: out, fromVersion } = migrate(doc);
    assert.equal(fromVersion, 0);
    assert.deepEqual(doc, { version: 0, cameras: [{ id: 'a', fps: 3 }] });
    assert.deepEqual(out, { version: 1, cameras: [{ id: 'a', captureHz: 3 }] });
  });

  test('a file without version is read as the current version (old keys are then unknown)', () => {
    assert.throws(
      () => parseConfig(V0.replace('version: 0\n', ''), { env: ENV }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigValidationError);
        assert.deepEqual(
          err.issues.map((i) => `${i.line}: ${i.path}`),
          ['2: detector', '13: cache', '8: cameras[0].fps', '12: upload.url'],
        );
        return true;
      },
    );
  });

  test('old and new name together is an error', () => {
    assert.throws(() => migrate({ version: 0, cameras: [{ id: 'a', fps: 3, captureHz: 4 }] }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, "cameras[0].fps: Both 'fps' (old name) and 'captureHz' are set; keep only 'captureHz'");
      return true;
    });
  });

  test('an unknown future version is refused', () => {
    assert.throws(() => parseConfig('version: 2\n', { env: ENV }), {
      message: 'version: Expected integer between 0 and 1 but received 2 of type number (this bestshot reads config versions 0 to 1)',
    });
    assert.throws(() => parseConfig("version: '1'\n", { env: ENV }), {
      message: "version: Expected integer between 0 and 1 but received '1' of type string (this bestshot reads config versions 0 to 1)",
    });
  });
});
