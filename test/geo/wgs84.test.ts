/** W1: local ENU ↔ WGS84 on the ellipsoid, against hand-computed values. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WGS84_A, WGS84_E2, ecefToGeodetic, enuToGeodetic, geodeticToEcef, geodeticToEnu } from '../../src/geo/index.js';

const DEG = 180 / Math.PI;

test('W1 ENU → WGS84 at the equator equals the closed forms', () => {
  const o = { lat: 0, lon: 0, alt: 0 };
  // 100 m east of (0, 0) on the tangent plane is ECEF (a, 100, 0).
  const e = enuToGeodetic(o, 100, 0, 0);
  assert.ok(Math.abs(e.lon - Math.atan2(100, WGS84_A) * DEG) < 1e-12);
  assert.ok(Math.abs(e.lat) < 1e-12);
  assert.ok(Math.abs(e.alt - (Math.hypot(WGS84_A, 100) - WGS84_A)) < 1e-6);
  // 100 m north: Δφ = 100 / M with the meridian radius M = a(1 − e²) at the equator (to second order).
  const n = enuToGeodetic(o, 0, 100, 0);
  assert.ok(Math.abs(n.lat - (100 / (WGS84_A * (1 - WGS84_E2))) * DEG) < 1e-9, String(n.lat));
  assert.ok(Math.abs(n.lon) < 1e-12);
  // Straight up is altitude.
  assert.ok(Math.abs(enuToGeodetic(o, 0, 0, 25).alt - 25) < 1e-6);
});

test('W1 geodetic ↔ ECEF ↔ ENU round trips to sub-millimetre up to 10 km', () => {
  const origin = { lat: 48.137154, lon: 11.576124, alt: 519.5 };
  const [x, y, z] = geodeticToEcef(origin);
  const back = ecefToGeodetic(x, y, z);
  assert.ok(Math.abs(back.lat - origin.lat) < 1e-11 && Math.abs(back.lon - origin.lon) < 1e-11 && Math.abs(back.alt - origin.alt) < 1e-6);
  for (const [e, n, u] of [[100, 0, 0], [0, 100, -6], [-73.2, 41.9, -8], [3000, -7000, 0], [-10000, 10000, 50]] as const) {
    const g = enuToGeodetic(origin, e, n, u);
    const [e2, n2, u2] = geodeticToEnu(origin, g);
    assert.ok(Math.abs(e2 - e) < 1e-4 && Math.abs(n2 - n) < 1e-4 && Math.abs(u2 - u) < 1e-4, `${e},${n},${u} → ${e2},${n2},${u2}`);
  }
  // East is perpendicular to the meridian plane: 100 m east turns the longitude by
  // atan(100 / p), p = (N + h) cos φ the distance from the axis (0.00134° here).
  const g = enuToGeodetic(origin, 100, 0, 0);
  const nRadius = WGS84_A / Math.sqrt(1 - WGS84_E2 * Math.sin(origin.lat / DEG) ** 2);
  const p = (nRadius + origin.alt) * Math.cos(origin.lat / DEG);
  assert.ok(Math.abs(g.lon - origin.lon - Math.atan2(100, p) * DEG) < 1e-12);
});
