// Automatic rollback of ota-update.sh: a failing self-check never touches
// `current`; a release that fails to restart or to get healthy after the
// switch is switched back and the old one restarted (docs/deploy.md).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort } from '../helpers/net.js';
import { makeUnit, OTA, run, type Unit } from './harness.js';

const units: Unit[] = [];
after(() => units.forEach((u) => u.stop()));
async function unit(name: string, initial?: string): Promise<Unit> {
  const u = await makeUnit(name, initial);
  units.push(u);
  return u;
}

describe('ota-update.sh: rollback', () => {
  it('a release failing its self-check (check-config) is discarded; the running service is not touched', async () => {
    const u = await unit('selfcheck');
    const before = await u.health();
    const r = await u.ota([await u.pack('1.1.0', { selfcheckFails: true })]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'ota-update: self-checking 1.1.0\nconfig: cameras[0].source: unknown key\nota-update: self-check failed for 1.1.0 (exit 1); staying on 1.0.0\n',
    );
    assert.equal(u.current(), '1.0.0');
    assert.deepEqual(u.releases(), ['1.0.0']);
    // Same process: no restart happened.
    assert.deepEqual(await u.health(), before);
  });

  it('the self-check command is configurable and runs inside the new release', async () => {
    const u = await unit('selfcheck-cmd');
    const r = await u.ota([await u.pack('1.1.0'), '--selfcheck-cmd', 'test "$(cat VERSION)" = 1.1.0 && test -f "$BESTSHOT_CONFIG" && exit 7']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ota-update: self-check failed for 1\.1\.0 \(exit 7\); staying on 1\.0\.0\n$/);
  });

  it('the self-check sees the service environment (EnvironmentFile bestshot.env / platform.env)', async () => {
    const u = await unit('selfcheck-env');
    writeFileSync(join(u.root, 'etc/bestshot/bestshot.env'), '# secrets\nBESTSHOT_UPLOAD_TOKEN="s3cret value"\n\nODD_LINE\n');
    writeFileSync(join(u.root, 'etc/bestshot/platform.env'), "BESTSHOT_JETPACK=6\nBESTSHOT_JPEG_ENCODER='nvjpegenc'\n");
    const check = 'test "$BESTSHOT_UPLOAD_TOKEN" = "s3cret value" && test "$BESTSHOT_JETPACK" = 6 && test "$BESTSHOT_JPEG_ENCODER" = nvjpegenc';
    const ok = await u.ota([await u.pack('1.1.0'), '--selfcheck-cmd', check]);
    assert.equal(ok.code, 0, ok.stderr);
    writeFileSync(join(u.root, 'etc/bestshot/bestshot.env'), 'BESTSHOT_UPLOAD_TOKEN=other\n');
    const bad = await u.ota([await u.pack('1.2.0'), '--selfcheck-cmd', check]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /ota-update: self-check failed for 1\.2\.0 \(exit 1\); staying on 1\.1\.0\n$/);
  });

  it('rolls back when the new release is unhealthy after the switch', async () => {
    const u = await unit('unhealthy');
    const r = await u.ota([await u.pack('1.1.0', { unhealthy: true })]);
    assert.equal(r.code, 4);
    assert.equal(
      r.stderr,
      [
        'ota-update: self-checking 1.1.0',
        'ota-update: restarting the service on 1.1.0',
        'ota-update: restarting the service on 1.0.0',
        `ota-update: health check failed for 1.1.0 after 3s (http://127.0.0.1:${u.port}/healthz answered HTTP 503); rolled back to 1.0.0`,
        '',
      ].join('\n'),
    );
    assert.equal(u.current(), '1.0.0');
    const h = await u.health();
    assert.equal(h?.status, 200);
    assert.equal(h?.version, '1.0.0');
    assert.deepEqual(u.releases(), ['1.0.0']);
    assert.equal(existsSync(join(u.root, 'var/lib/bestshot/ota/journal')), false);
    // The unit can take the next good update afterwards.
    const next = await u.ota([await u.pack('1.1.1')]);
    assert.equal(next.code, 0, next.stderr);
    assert.equal((await u.health())?.version, '1.1.1');
    assert.equal(u.previous(), '1.0.0');
  });

  it('with /var/log/bestshot in place, every message also goes to ota.log with a UTC timestamp (the exit code on the last)', async () => {
    const u = await unit('ota-log');
    mkdirSync(join(u.root, 'var/log/bestshot'), { recursive: true });
    const r = await u.ota([await u.pack('1.1.0', { unhealthy: true })]);
    assert.equal(r.code, 4);
    const lines = readFileSync(join(u.root, 'var/log/bestshot/ota.log'), 'utf8').trimEnd().split('\n');
    const said = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, said.length, lines.join('\n'));
    lines.forEach((l, i) => {
      const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (.*)$/.exec(l);
      assert.ok(m, l);
      assert.ok(Math.abs(Date.parse(m[1]!) - Date.now()) < 120_000, l);
      assert.equal(m[2], i === said.length - 1 ? `${said[i]} (exit 4)` : said[i]);
    });
  });

  it('rolls back when the new release crashes on start', async () => {
    const u = await unit('crash');
    const r = await u.ota([await u.pack('1.1.0', { crashes: true })]);
    assert.equal(r.code, 4);
    assert.ok(
      r.stderr.endsWith(
        `ota-update: health check failed for 1.1.0 after 3s (nothing listens at http://127.0.0.1:${u.port}/healthz: the service did not start (see its journal), or its config serves /healthz elsewhere or not at all (metrics.enabled, metrics.port, metrics.host; --health-url)); rolled back to 1.0.0\n`,
      ),
      r.stderr,
    );
    assert.equal((await u.health())?.version, '1.0.0');
  });

  it('rolls back when the restart command itself fails', async () => {
    const u = await unit('restartfail');
    const r = await u.ota([await u.pack('1.1.0'), '--restart-cmd', 'test "$BESTSHOT_RELEASE" != 1.1.0 && ' + u.args[u.args.indexOf('--restart-cmd') + 1]]);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /ota-update: restart of 1\.1\.0 failed; rolled back to 1\.0\.0\n$/);
    assert.equal(u.current(), '1.0.0');
    assert.equal((await u.health())?.version, '1.0.0');
  });

  it('exits 5 when there is nothing healthy to roll back to (first install)', async () => {
    const u = await unit('first', '');
    const r = await u.ota([await u.pack('1.0.0', { unhealthy: true })]);
    assert.equal(r.code, 5);
    assert.match(r.stderr, /ota-update: health check failed for 1\.0\.0 after 3s \(http:\/\/127\.0\.0\.1:\d+\/healthz answered HTTP 503\); there is no previous release to roll back to\n$/);
  });

  it('a health URL where nothing listens (the config has the metrics server off or elsewhere): exit 5 says what the check got, for both releases', async () => {
    const u = await unit('nothing-listens');
    // The releases serve /healthz at their port; the updater looks at another, as on a unit whose
    // config moved metrics.port (or turned metrics off) after the install. A later option wins.
    const url = `http://127.0.0.1:${await freePort()}/healthz`;
    const r = await u.ota([await u.pack('1.1.0'), '--health-url', url]);
    assert.equal(r.code, 5);
    const got = `nothing listens at ${url}: the service did not start (see its journal), or its config serves /healthz elsewhere or not at all (metrics.enabled, metrics.port, metrics.host; --health-url)`;
    assert.ok(r.stderr.endsWith(`ota-update: health check failed for 1.1.0 after 3s (${got}); rolled back to 1.0.0 but it is not healthy either (${got})\n`), r.stderr);
    assert.equal(u.current(), '1.0.0');
    assert.equal((await u.health())?.version, '1.0.0');
  });

  it('a config with the metrics server off: refused up front (exit 1), nothing fetched, installed or restarted', async () => {
    const u = await unit('metrics-off');
    const before = await u.health();
    const config = join(u.root, 'etc/bestshot/config.yaml');
    // Before: installed, switched, restarted, "health check failed … nothing listens", rolled back to 1.0.0,
    // which with the same config was not healthy either (exit 5): the unit left without /healthz.
    writeFileSync(config, 'version: 1\ncameras: []\nmetrics: { enabled: false }\n');
    const off = await u.ota([await u.pack('1.1.0')]);
    assert.equal(off.code, 1, off.stderr);
    assert.equal(
      off.stderr,
      `ota-update: refusing the update: ${config} turns the metrics server off (metrics.enabled: false), so nothing would answer the health check at http://127.0.0.1:${u.port}/healthz after the restart and the update would be rolled back; set metrics.enabled: true (/healthz is served on metrics.port), then update again; nothing was changed\n`,
    );
    assert.equal(u.current(), '1.0.0');
    assert.deepEqual(u.releases(), ['1.0.0']);
    // Same process: no restart happened.
    assert.deepEqual(await u.health(), before);
  });

  it('without --health-url, /healthz is polled at the config\'s metrics.port (a port other than 9464 was rolled back, exit 5, on a healthy unit)', async () => {
    const u = await unit('metrics-port');
    const config = join(u.root, 'etc/bestshot/config.yaml');
    writeFileSync(config, `version: 1\ncameras: []\nmetrics: { enabled: true, port: ${u.port} }\n`);
    const at = u.args.indexOf('--health-url');
    const args = [...u.args.slice(0, at), ...u.args.slice(at + 2)];
    const r = await run(OTA, [...args, await u.pack('1.1.0')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(u.current(), '1.1.0');
    assert.equal((await u.health())?.version, '1.1.0');
    // metrics.port 0 (a free port at each start): nothing to poll, refused before anything changes.
    writeFileSync(config, 'version: 1\ncameras: []\nmetrics: { enabled: true, port: 0 }\n');
    const zero = await run(OTA, [...args, await u.pack('1.2.0')]);
    assert.equal(zero.code, 1);
    assert.equal(
      zero.stderr,
      `ota-update: refusing the update: ${config} has metrics.port 0 (a free port chosen at each start), so the health check cannot find /healthz after the restart; set a fixed metrics.port, or pass --health-url; nothing was changed\n`,
    );
    assert.equal(u.current(), '1.1.0');
  });
});
