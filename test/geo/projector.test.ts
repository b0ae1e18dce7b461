/**
 * W1 against a synthetic camera with known geometry: world points on the
 * ground are projected into the image by an independent forward model
 * (Rodrigues rotations, OpenCV's distortion polynomial written out here), and
 * the projector must bring them back.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Calibration,
  type Intrinsics,
  applyHomography,
  createProjector,
  fitGroundHomography,
  geodeticToEnu,
  groundContactPoint,
  distortPoint,
  undistortPoint,
} from '../../src/geo/index.js';
import type { Box, CameraPosition, FrameDetections } from '../../src/types.js';

type V3 = [number, number, number];
const RAD = Math.PI / 180;

/** Rodrigues: rotate v about the unit axis k by angle (right-handed). */
function rotate(v: V3, k: V3, angle: number): V3 {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const dot = v[0] * k[0] + v[1] * k[1] + v[2] * k[2];
  const cross: V3 = [k[1] * v[2] - k[2] * v[1], k[2] * v[0] - k[0] * v[2], k[0] * v[1] - k[1] * v[0]];
  return [0, 1, 2].map((i) => v[i]! * c + cross[i]! * s + k[i]! * dot * (1 - c)) as V3;
}

const E: V3 = [1, 0, 0];
const N: V3 = [0, 1, 0];
const U: V3 = [0, 0, 1];

interface Synthetic {
  k: Intrinsics;
  dist: number[];
  height: number;
  pitch: number;
  roll: number;
  yaw: number;
  heading: number;
}

/** Camera axes (x right, y down, z forward) in ENU: roll about N, pitch about E, then yaw about U (fixed axes). */
function axes(c: Synthetic): [V3, V3, V3] {
  let ax: [V3, V3, V3] = [E, [0, 0, -1], N];
  ax = ax.map((v) => rotate(v, N, c.roll * RAD)) as [V3, V3, V3];
  ax = ax.map((v) => rotate(v, E, -c.pitch * RAD)) as [V3, V3, V3];
  ax = ax.map((v) => rotate(v, U, -(c.heading + c.yaw) * RAD)) as [V3, V3, V3];
  return ax;
}

/** Ground point (e, n, 0) → distorted pixel, or null when behind the camera. */
function project(c: Synthetic, e: number, n: number): [number, number] | null {
  const [x, y, z] = axes(c);
  const d: V3 = [e, n, -c.height];
  const xc = d[0] * x[0] + d[1] * x[1] + d[2] * x[2];
  const yc = d[0] * y[0] + d[1] * y[1] + d[2] * y[2];
  const zc = d[0] * z[0] + d[1] * z[1] + d[2] * z[2];
  if (zc <= 0) return null;
  const xn = xc / zc;
  const yn = yc / zc;
  const [k1, k2, p1, p2, k3] = [...c.dist, 0, 0, 0, 0, 0];
  const r2 = xn * xn + yn * yn;
  const radial = 1 + k1! * r2 + k2! * r2 * r2 + k3! * r2 * r2 * r2;
  const xd = xn * radial + 2 * p1! * xn * yn + p2! * (r2 + 2 * xn * xn);
  const yd = yn * radial + p1! * (r2 + 2 * yn * yn) + 2 * p2! * xn * yn;
  return [c.k.fx * xd + c.k.cx, c.k.fy * yd + c.k.cy];
}

const position: CameraPosition = { lat: 52.52, lon: 13.405, alt: 40, heading: 75 };
function frameAt(p: CameraPosition | null): FrameDetections {
  return { cameraId: 'c', imageId: 1, timestampNs: 1n, exposureMode: 'manual', cameraPosition: p, width: 1920, height: 1080, boxes: [] };
}
function boxStandingOn(u: number, v: number): Box {
  return { cx: u, cy: v - 40, w: 30, h: 80, angle: 0, classId: 0, label: 'person', score: 0.9 };
}

const cam: Synthetic = {
  k: { fx: 1400, fy: 1390, cx: 955, cy: 545 },
  dist: [-0.28, 0.09, 0.0008, -0.0006, -0.01],
  height: 8,
  pitch: 15,
  roll: 3,
  yaw: -10,
  heading: position.heading,
};
const calibration: Calibration = { intrinsics: cam.k, distortion: cam.dist, mount: { height: cam.height, pitch: cam.pitch, roll: cam.roll, yaw: cam.yaw } };

describe('W1 camera model', () => {
  test('the synthetic camera follows the documented conventions', () => {
    const [x, , z] = axes(cam);
    assert.ok(z[2] < 0, 'positive pitch looks down');
    assert.ok(Math.abs(Math.asin(-z[2]) / RAD - cam.pitch) < 1e-9);
    assert.ok(x[2] < 0, 'positive roll lowers the right side');
    const az = Math.atan2(z[0], z[1]) / RAD;
    assert.ok(Math.abs(az - (cam.heading + cam.yaw)) < 1e-9, `azimuth ${az}`);
  });

  test('W1 ground points back from pixels within 1 cm out to 30 m (distorted lens, pitch, roll, yaw, heading)', () => {
    const projector = createProjector(calibration);
    const [, , z] = axes(cam);
    const fwd: [number, number] = [z[0] / Math.hypot(z[0], z[1]), z[1] / Math.hypot(z[0], z[1])];
    const right: [number, number] = [fwd[1], -fwd[0]];
    let checked = 0;
    let worst = 0;
    for (let along = 10; along <= 30; along += 2.5) {
      for (let across = -10; across <= 10; across += 2.5) {
        const e = along * fwd[0] + across * right[0];
        const n = along * fwd[1] + across * right[1];
        const px = project(cam, e, n);
        if (!px || px[0] < 0 || px[0] > 1920 || px[1] < 0 || px[1] > 1080) continue;
        const w = projector(boxStandingOn(px[0], px[1]), frameAt(position));
        assert.ok(w, `point ${e.toFixed(1)},${n.toFixed(1)}`);
        const err = Math.hypot(w.east - e, w.north - n);
        worst = Math.max(worst, err);
        // Through WGS84 and back: the same point, at ground level below the camera.
        const [e2, n2, u2] = geodeticToEnu(position, w);
        assert.ok(Math.hypot(e2 - e, n2 - n) < 0.01 && Math.abs(u2 + cam.height) < 0.01, `enu ${e2},${n2},${u2}`);
        checked++;
      }
    }
    assert.ok(checked >= 30, `${checked} points in view`);
    assert.ok(worst < 0.01, `worst error ${worst} m`);
    // The farthest points really are ~30 m away.
    const far = project(cam, 30 * fwd[0], 30 * fwd[1])!;
    const wf = projector(boxStandingOn(far[0], far[1]), frameAt(position))!;
    assert.ok(Math.abs(Math.hypot(wf.east, wf.north) - 30) < 0.01);
  });

  test('W1 known geometry: the principal point lies height / tan(pitch) ahead', () => {
    const projector = createProjector({ intrinsics: { fx: 1000, fy: 1000, cx: 640, cy: 360 }, mount: { height: 6, pitch: 30, roll: 0, yaw: 0 } });
    const w = projector(boxStandingOn(640, 360), frameAt({ lat: 0, lon: 0, alt: 10, heading: 90 }))!;
    assert.ok(Math.abs(w.east - 6 / Math.tan(30 * RAD)) < 1e-9 && Math.abs(w.north) < 1e-9, `${w.east}, ${w.north}`);
    assert.ok(Math.abs(w.alt - 4) < 0.01, 'ground is mount height below the camera');
    // One focal length right of centre: 45° to the side of the optical axis in the camera frame.
    const r = projector(boxStandingOn(1640, 360), frameAt({ lat: 0, lon: 0, alt: 10, heading: 90 }))!;
    const slant = 6 / Math.sin(30 * RAD); // distance along the optical axis to the ground
    assert.ok(Math.abs(r.east - 6 / Math.tan(30 * RAD)) < 1e-9 && Math.abs(r.north + slant) < 1e-9, `${r.east}, ${r.north}`);
  });

  test('undistortPoint inverts the distortion polynomial; distortPoint is that polynomial', () => {
    for (const [u, v] of [[10, 10], [1900, 1070], [955, 545], [300, 900]] as const) {
      const [x, y] = undistortPoint(u, v, cam.k, cam.dist);
      const r2 = x * x + y * y;
      const [k1, k2, p1, p2, k3] = cam.dist as [number, number, number, number, number];
      const radial = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2 ** 3;
      const ud = cam.k.fx * (x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)) + cam.k.cx;
      const vd = cam.k.fy * (y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y) + cam.k.cy;
      assert.ok(Math.abs(ud - u) < 1e-6 && Math.abs(vd - v) < 1e-6, `${u},${v} → ${ud},${vd}`);
      const [du, dv] = distortPoint(x, y, cam.k, cam.dist);
      assert.ok(Math.abs(du - ud) < 1e-9 && Math.abs(dv - vd) < 1e-9, `distortPoint ${du},${dv} vs ${ud},${vd}`);
    }
  });

  test('W1 ground contact point: bottom centre, lowest edge midpoint for oriented boxes', () => {
    assert.deepEqual(groundContactPoint({ cx: 100, cy: 50, w: 20, h: 40, angle: 0 }), [100, 70]);
    const p = groundContactPoint({ cx: 100, cy: 50, w: 60, h: 20, angle: Math.PI / 2 });
    assert.ok(Math.abs(p[0] - 100) < 1e-9 && Math.abs(p[1] - 80) < 1e-9, String(p));
    // 30°: the lowest side midpoint is the bottom one rotated, h/2 cos30 below and h/2 sin30 aside.
    const q = groundContactPoint({ cx: 0, cy: 0, w: 10, h: 40, angle: Math.PI / 6 });
    assert.ok(Math.abs(q[0] - 20 * Math.sin(Math.PI / 6)) < 1e-9 && Math.abs(q[1] - 20 * Math.cos(Math.PI / 6)) < 1e-9, String(q));
  });

  test('W1 null where no ground point exists, fallback camera position, validation messages', () => {
    const projector = createProjector({ ...calibration, mount: { ...calibration.mount!, pitch: 2, roll: 0 } });
    assert.equal(projector(boxStandingOn(960, 200), frameAt(position)), null, 'above the horizon');
    assert.equal(projector(boxStandingOn(960, 900), frameAt(null)), null, 'no camera position');
    const fixed = createProjector({ ...calibration, cameraPosition: position });
    assert.ok(fixed(boxStandingOn(960, 900), frameAt(null)));
    const near = createProjector({ ...calibration, maxDistance: 12 });
    assert.equal(near(boxStandingOn(960, 560), frameAt(position)), null, 'beyond maxDistance');
    assert.throws(() => createProjector({ intrinsics: cam.k }), { name: 'TypeError', message: 'Expected calibration.intrinsics and calibration.mount, or calibration.homography' });
    assert.throws(() => createProjector({ ...calibration, intrinsics: { ...cam.k, fx: -1 } }), { name: 'RangeError', message: 'Expected positive number for calibration.intrinsics.fx but received -1 of type number' });
    assert.throws(() => createProjector({ ...calibration, mount: { ...calibration.mount!, height: 0 } }), { name: 'RangeError', message: 'Expected positive number for calibration.mount.height but received 0 of type number' });
    assert.throws(() => createProjector({ ...calibration, distortion: [1, 2, 3, 4, 5, 6] }), { name: 'TypeError', message: 'Expected array of up to 5 finite numbers [k1, k2, p1, p2, k3] for calibration.distortion but received an array' });
  });
});

describe('W1 ground homography helper', () => {
  const pinhole: Synthetic = { ...cam, dist: [] };
  const pairsFor = (points: Array<[number, number]>, noise = 0): Array<{ pixel: [number, number]; ground: [number, number] }> => {
    let s = 3;
    const r = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 2 * noise;
    return points.map(([e, n]) => {
      const px = project(pinhole, e, n)!;
      return { pixel: [px[0] + r(), px[1] + r()], ground: [e, n] };
    });
  };
  // Ground points in view of the pinhole camera (ahead, heading 75° − 10°).
  const ahead = (along: number, across: number): [number, number] => {
    const az = (pinhole.heading + pinhole.yaw) * RAD;
    return [along * Math.sin(az) + across * Math.cos(az), along * Math.cos(az) - across * Math.sin(az)];
  };

  test('W1 four exact pairs give the exact homography; it maps other ground points within 1 cm at 30 m', () => {
    const h = fitGroundHomography(pairsFor([ahead(10, -4), ahead(10, 4), ahead(30, -8), ahead(30, 8)]));
    for (const [along, across] of [[12, 0], [20, 3], [30, 0], [28, -6]] as const) {
      const [e, n] = ahead(along, across);
      const px = project(pinhole, e, n)!;
      const g = applyHomography(h, px[0], px[1])!;
      assert.ok(Math.hypot(g[0] - e, g[1] - n) < 0.01, `${along},${across}: ${g} vs ${e},${n}`);
    }
    // Used through createProjector, it agrees with the camera model.
    const viaH = createProjector({ homography: Array.from(h), mount: { height: pinhole.height, pitch: 0, roll: 0, yaw: 0 } });
    const viaCam = createProjector({ intrinsics: pinhole.k, mount: { height: pinhole.height, pitch: pinhole.pitch, roll: pinhole.roll, yaw: pinhole.yaw } });
    const px = project(pinhole, ...ahead(25, 2))!;
    const a = viaH(boxStandingOn(px[0], px[1]), frameAt(position))!;
    const b = viaCam(boxStandingOn(px[0], px[1]), frameAt(position))!;
    assert.ok(Math.hypot(a.east - b.east, a.north - b.north) < 0.01);
    assert.ok(Math.abs(a.lat - b.lat) < 1e-7 && Math.abs(a.lon - b.lon) < 1e-7);
  });

  test('W1 more than four noisy pairs: least squares beats the four-pair fit', () => {
    const grid: Array<[number, number]> = [];
    for (const along of [10, 15, 20, 25, 30]) for (const across of [-6, 0, 6]) grid.push(ahead(along, across));
    const noisy = pairsFor(grid, 1.0);
    const all = fitGroundHomography(noisy);
    const four = fitGroundHomography([noisy[0]!, noisy[2]!, noisy[12]!, noisy[14]!]);
    const err = (h: Float64Array): number => {
      let sum = 0;
      for (const [along, across] of [[12, 3], [18, -4], [27, 2], [29, 5]] as const) {
        const [e, n] = ahead(along, across);
        const px = project(pinhole, e, n)!;
        const g = applyHomography(h, px[0], px[1])!;
        sum += Math.hypot(g[0] - e, g[1] - n);
      }
      return sum / 4;
    };
    assert.ok(err(all) < err(four), `${err(all)} vs ${err(four)}`);
    assert.ok(err(all) < 0.25, `mean error ${err(all)} m with 1 px noise`);
  });

  test('degenerate and bad pairs are rejected with exact messages', () => {
    const line = pairsFor([ahead(10, 0), ahead(15, 0), ahead(20, 0), ahead(20, 5)]);
    line[1]!.pixel = [(line[0]!.pixel[0] + line[2]!.pixel[0]) / 2, (line[0]!.pixel[1] + line[2]!.pixel[1]) / 2];
    line[1]!.ground = [(line[0]!.ground[0] + line[2]!.ground[0]) / 2, (line[0]!.ground[1] + line[2]!.ground[1]) / 2];
    assert.throws(() => fitGroundHomography(line), { name: 'RangeError', message: 'Expected at least 4 point pairs in general position (no 3 on a line) for pairs' });
    assert.throws(() => fitGroundHomography(line.slice(0, 3)), { name: 'TypeError', message: 'Expected array of at least 4 point pairs for pairs but received 3 of type number' });
    assert.throws(() => fitGroundHomography([...line.slice(0, 3), { pixel: [1, NaN], ground: [0, 0] }]), {
      name: 'TypeError',
      message: 'Expected { pixel: [u, v], ground: [east, north] } of finite numbers for pairs[3] but received a value of type object',
    });
  });
});
