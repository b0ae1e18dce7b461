/**
 * A6 Argus back end. No Jetson here: the property strings it sets on
 * nvarguscamerasrc are checked against a recording PropertyTarget, and the
 * controller's brightness-probe path (Argus does not report AE's choice) is
 * run with a linear sensor model behind that recorder.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArgusCameraControl } from '../../src/capture/control/argus.js';
import type { PropertyTarget } from '../../src/capture/control/types.js';
import { ExposureController } from '../../src/capture/exposure/controller.js';
import { buildPipeline } from '../../src/capture/options.js';

function recorder(): PropertyTarget & { log: [string, string, string | number | boolean][]; props: Map<string, string | number | boolean> } {
  const log: [string, string, string | number | boolean][] = [];
  const props = new Map<string, string | number | boolean>();
  return {
    log,
    props,
    setProperty(element, name, value) {
      log.push([element, name, value]);
      props.set(name, value);
    },
    getProperty: (_e, name) => (props.has(name) ? String(props.get(name)) : null),
  };
}

test('A6 Argus: auto opens the ranges and unlocks AE; manual pins time, gain and ISP gain, then locks', async () => {
  const r = recorder();
  const ctl = new ArgusCameraControl({ target: r, capabilities: { exposureTimeUs: [13, 683709], gain: [1, 10.625] } });
  await ctl.setAuto();
  assert.deepEqual(r.log, [
    ['camera', 'exposuretimerange', '13000 683709000'],
    ['camera', 'gainrange', '1 10.625'],
    ['camera', 'ispdigitalgainrange', '1 8'],
    ['camera', 'aelock', false],
  ]);
  assert.deepEqual(await ctl.read(), { mode: 'auto', exposureTimeUs: NaN, gain: NaN, source: 'unknown' });
  r.log.length = 0;
  await ctl.setManual(1000, 3.33333);
  assert.deepEqual(r.log, [
    ['camera', 'exposuretimerange', '1000000 1000000'],
    ['camera', 'gainrange', '3.3333 3.3333'],
    ['camera', 'ispdigitalgainrange', '1 1'],
    ['camera', 'aelock', true],
  ]);
  assert.deepEqual(await ctl.read(), { mode: 'manual', exposureTimeUs: 1000, gain: 3.3333, source: 'requested' });
  // Clamped to the sensor mode.
  r.log.length = 0;
  await ctl.setManual(5, 50);
  assert.deepEqual(r.log.slice(0, 2), [
    ['camera', 'exposuretimerange', '13000 13000'],
    ['camera', 'gainrange', '10.625 10.625'],
  ]);
});

test('A6 Argus: the element it drives is the one the argus source builds', () => {
  const p = buildPipeline({ source: { type: 'argus', sensorId: 1, width: 1920, height: 1080, framerate: 30 } }, () => true);
  assert.match(p.description, /^nvarguscamerasrc name=camera sensor-id=1 /);
});

test('A1/A2 on Argus: AE exposure estimated from brightness with one probe', async () => {
  // A linear sensor behind the recorder: brightness = k × time × gain; AE's
  // choice (20 ms × 2.5) is hidden from the controller, as on Argus.
  const r = recorder();
  const ctl = new ArgusCameraControl({ target: r, applyLatencyFrames: 1 });
  const k = 110 / (20000 * 2.5);
  const brightness = (): number => {
    if (r.props.get('aelock') !== true) return 110;
    const t = Number(String(r.props.get('exposuretimerange')).split(' ')[0]) / 1000;
    const g = Number(String(r.props.get('gainrange')).split(' ')[0]);
    return Math.min(255, k * t * g);
  };
  let now = 0;
  const ec = new ExposureController({ control: ctl, clock: () => now });
  await ec.start();
  const tags: string[] = [];
  for (let i = 0; i < 20 && ec.state !== 'manual'; i++) {
    const v = Math.round(brightness());
    const tag = await ec.observe({ pixels: new Uint8Array(8 * 8 * 3).fill(v), width: 8, height: 8, ptsNs: BigInt(i) });
    tags.push(tag.mode);
    now += 100;
  }
  assert.equal(ec.state, 'manual');
  const s = ec.stats();
  assert.equal(s.probes >= 1, true);
  // True A2: 20000 × 2.5 / 1000 = 50 → A4: gain clamped at 10.625, time 4000 µs (T_manual_max).
  assert.deepEqual([s.lastSetting?.gainClamped, s.lastSetting?.gain, s.lastSetting?.exposureTimeUs], ['max', 10.625, 4000]);
  assert.ok(Math.abs(s.lastSetting!.wantedGain / 50 - 1) < 0.05, `estimated s_manual ${s.lastSetting!.wantedGain} vs 50`);
  assert.ok(tags.every((t) => t === 'auto'), 'metering and probe frames are tagged auto');
  assert.deepEqual(r.log.slice(-4), [
    ['camera', 'exposuretimerange', '4000000 4000000'],
    ['camera', 'gainrange', '10.625 10.625'],
    ['camera', 'ispdigitalgainrange', '1 1'],
    ['camera', 'aelock', true],
  ]);
});
