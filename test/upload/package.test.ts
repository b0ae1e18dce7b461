import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { buildPackage, compileJsonSchema, formatViolations, loadPackageSchema, validatePackageMetadata } from '../../src/upload/index.js';
import { BASE_NS, entryAt, makeJpeg, makePackage } from './helpers.js';

test('U3: buildPackage keys the package by cameraId:imageId and writes ns timestamps as decimal strings', async () => {
  const jpeg = await makeJpeg(1);
  const pkg = makePackage('cam-north', 42, jpeg);
  assert.equal(pkg.idempotencyKey, 'cam-north:42');
  assert.equal(pkg.metadata.idempotencyKey, 'cam-north:42');
  assert.equal(pkg.metadata.schema, 'bestshot.package/v1');
  assert.equal(pkg.metadata.timestampNs, (BASE_NS + 4_200_000_000n).toString());
  assert.equal(pkg.metadata.timestampNs, '1795550004200000000');
  assert.equal(pkg.metadata.captureMonotonicNs, '5000000042');
  assert.equal(pkg.metadata.tracks[0]!.entry.timestampNs, '1795550004200000000');
  assert.equal(pkg.metadata.image!.bytes, jpeg.length);
  assert.equal(pkg.metadata.image!.sha256, createHash('sha256').update(jpeg).digest('hex'));
  assert.deepEqual(pkg.metadata.selection, { route: 'cached', trackIds: [7], policy: 'baseline' });
  assert.deepEqual(validatePackageMetadata(JSON.parse(JSON.stringify(pkg.metadata))), []);
});

test('data model: every track entry travels with its trackId, world position included; extra fields are not copied', async () => {
  const jpeg = await makeJpeg(2);
  const ts = BASE_NS;
  const e1 = { ...entryAt(3, ts, 1), secret: 'x' } as ReturnType<typeof entryAt>;
  const e2 = { ...entryAt(3, ts, 2), worldPosition: null, cameraPosition: null };
  const pkg = buildPackage({
    cameraId: 'c1', imageId: 3, timestampNs: ts, width: 640, height: 480,
    exposure: { mode: 'auto', exposureTimeUs: 8000, gain: 1 }, cameraPosition: null, jpeg,
    tracks: [{ trackId: 1, entry: e1 }, { trackId: 2, entry: e2 }],
  });
  assert.equal(pkg.metadata.captureMonotonicNs, null);
  assert.equal(pkg.metadata.selection, null);
  assert.deepEqual(pkg.metadata.tracks.map((t) => t.trackId), [1, 2]);
  assert.deepEqual(pkg.metadata.tracks[0]!.entry.worldPosition, { lat: 48.13712, lon: 11.57551, alt: 519.5, east: 3.5, north: 12.25 });
  assert.equal('secret' in pkg.metadata.tracks[0]!.entry, false);
  assert.equal(pkg.metadata.tracks[1]!.entry.worldPosition, null);
});

test('buildPackage rejects bad input with the exact message', async () => {
  const jpeg = await makeJpeg(1);
  const base = {
    cameraId: 'cam', imageId: 1, timestampNs: 1n, width: 640, height: 480,
    exposure: { mode: 'manual' as const, exposureTimeUs: 1000, gain: 1 }, cameraPosition: null, jpeg, tracks: [],
  };
  assert.throws(() => buildPackage({ ...base, width: 1.5 }), {
    name: 'TypeError',
    message: 'Invalid package metadata: /width: expected integer but received 1.5 of type number',
  });
  assert.throws(() => buildPackage({ ...base, cameraId: 'cam 1', imageId: -1 }), {
    message:
      "Invalid package metadata: /cameraId: expected a string matching ^(?!\\.\\.?$)[A-Za-z0-9._-]+$ but received 'cam 1' of type string; /imageId: expected a number >= 0 but received -1",
  });
  assert.throws(() => buildPackage({ ...base, timestampNs: 5 as unknown as bigint }), {
    name: 'TypeError',
    message: 'Expected bigint for timestampNs but received 5 of type number',
  });
  assert.throws(() => buildPackage({ ...base, jpeg: Buffer.alloc(0) }), { message: 'Expected non-empty Buffer for jpeg but received a value of type object' });
  assert.throws(() => buildPackage({ ...base, exposure: { mode: 'manual', exposureTimeUs: NaN, gain: 1 } }), {
    message: 'Invalid package metadata: /exposure/exposureTimeUs: expected number but received null',
  });
});

test('schema package.v1: the validator rejects bad metadata with a JSON pointer and reason', async () => {
  const pkg = makePackage('cam', 9, await makeJpeg(3));
  const good = JSON.parse(JSON.stringify(pkg.metadata)) as Record<string, unknown> & { tracks: Array<{ entry: { box: Record<string, unknown> } }> };
  const bad = structuredClone(good) as typeof good;
  delete bad.height;
  bad.extra = 1;
  bad.timestampNs = 1795550000000000000 as unknown as string;
  (bad.exposure as Record<string, unknown>).mode = 'bright';
  bad.tracks[0]!.entry.box.score = 1.5;
  bad.schema = 'bestshot.package/v2';
  const v = validatePackageMetadata(bad);
  assert.deepEqual(
    v.map((x) => `${x.path}: ${x.message}`),
    [
      '/height: is required',
      '/extra: is not allowed',
      "/schema: expected 'bestshot.package/v1' but received 'bestshot.package/v2' of type string",
      '/timestampNs: expected string but received 1795550000000000000 of type number',
      "/exposure/mode: expected one of 'auto', 'manual' but received 'bright' of type string",
      '/tracks/0/entry/box/score: expected a number <= 1 but received 1.5',
    ],
  );
  assert.equal(formatViolations(v.slice(0, 1)), '/height: is required');
  assert.deepEqual(validatePackageMetadata(null).map((x) => `${x.path}: ${x.message}`), ['/: expected object but received null']);
  const noPos = structuredClone(good);
  noPos.cameraPosition = { lat: 91, lon: 0, alt: 0, heading: 360 };
  assert.deepEqual(validatePackageMetadata(noPos).map((x) => `${x.path}: ${x.message}`), [
    '/cameraPosition/lat: expected a number <= 90 but received 91',
    '/cameraPosition/heading: expected a number < 360 but received 360',
  ]);
});

test('schema validator (ajv, strict): unknown keywords and unresolvable $ref are refused at compile time, not ignored', () => {
  assert.throws(() => compileJsonSchema({ type: 'object', oneOff: [] }), { message: 'strict mode: unknown keyword: "oneOff"' });
  assert.throws(() => compileJsonSchema({ $ref: '#/$defs/missing' }), /can't resolve reference #\/\$defs\/missing/);
  assert.equal(loadPackageSchema().$schema, 'https://json-schema.org/draft/2020-12/schema');
});

test('schema package.v1: keys named like Object.prototype members are refused like any unknown key', async () => {
  const good = JSON.stringify(makePackage('cam', 9, await makeJpeg(3)).metadata);
  for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    // JSON.parse makes "__proto__" an own property, as the receiver sees it.
    const bad = JSON.parse(`{"${key}":{"polluted":1},${good.slice(1)}`) as unknown;
    assert.deepEqual(validatePackageMetadata(bad), [{ path: `/${key}`, message: 'is not allowed' }], key);
    const nested = JSON.parse(good.replace('"exposure":{', `"exposure":{"${key}":1,`)) as unknown;
    assert.deepEqual(validatePackageMetadata(nested), [{ path: `/exposure/${key}`, message: 'is not allowed' }], key);
  }
  // The order of keys does not matter to const/enum (ajv compares deeply).
  assert.deepEqual(compileJsonSchema({ const: { a: 1, b: 2 } })({ b: 2, a: 1 }), []);
});
