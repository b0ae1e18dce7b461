/**
 * WGS84 geodetic ↔ ECEF ↔ local ENU (W1: "add it to the camera position,
 * local ENU → WGS84"). Exact ellipsoid conversions, no flat-earth shortcut,
 * so positions hold to millimetres at hundreds of metres.
 */

export const WGS84_A = 6378137;
export const WGS84_F = 1 / 298.257223563;
export const WGS84_E2 = WGS84_F * (2 - WGS84_F);

const RAD = Math.PI / 180;

export interface Geodetic {
  /** Degrees. */
  lat: number;
  /** Degrees. */
  lon: number;
  /** Metres above the ellipsoid. */
  alt: number;
}

export function geodeticToEcef(p: Geodetic): [number, number, number] {
  const phi = p.lat * RAD;
  const lam = p.lon * RAD;
  const s = Math.sin(phi);
  const n = WGS84_A / Math.sqrt(1 - WGS84_E2 * s * s);
  return [(n + p.alt) * Math.cos(phi) * Math.cos(lam), (n + p.alt) * Math.cos(phi) * Math.sin(lam), (n * (1 - WGS84_E2) + p.alt) * s];
}

/** ECEF → geodetic by fixed-point iteration on latitude (converges to < 1e-12 rad in a few steps). */
export function ecefToGeodetic(x: number, y: number, z: number): Geodetic {
  const lon = Math.atan2(y, x);
  const p = Math.hypot(x, y);
  let phi = Math.atan2(z, p * (1 - WGS84_E2));
  for (let k = 0; k < 10; k++) {
    const s = Math.sin(phi);
    const n = WGS84_A / Math.sqrt(1 - WGS84_E2 * s * s);
    const h = p * Math.cos(phi) + z * s - WGS84_A * Math.sqrt(1 - WGS84_E2 * s * s);
    const next = Math.atan2(z, p * (1 - (WGS84_E2 * n) / (n + h)));
    if (Math.abs(next - phi) < 1e-14) {
      phi = next;
      break;
    }
    phi = next;
  }
  const s = Math.sin(phi);
  const alt = p * Math.cos(phi) + z * s - WGS84_A * Math.sqrt(1 - WGS84_E2 * s * s);
  return { lat: phi / RAD, lon: lon / RAD, alt };
}

/** The local tangent plane at `origin`: sines and cosines of its latitude and longitude, and its ECEF position. */
function tangentFrame(origin: Geodetic): { sp: number; cp: number; sl: number; cl: number; x0: number; y0: number; z0: number } {
  const phi = origin.lat * RAD;
  const lam = origin.lon * RAD;
  const [x0, y0, z0] = geodeticToEcef(origin);
  return { sp: Math.sin(phi), cp: Math.cos(phi), sl: Math.sin(lam), cl: Math.cos(lam), x0, y0, z0 };
}

/** A point `east`, `north`, `up` metres from `origin` in origin's local tangent plane → geodetic. */
export function enuToGeodetic(origin: Geodetic, east: number, north: number, up: number): Geodetic {
  const { sp, cp, sl, cl, x0, y0, z0 } = tangentFrame(origin);
  const dx = -sl * east - sp * cl * north + cp * cl * up;
  const dy = cl * east - sp * sl * north + cp * sl * up;
  const dz = cp * north + sp * up;
  return ecefToGeodetic(x0 + dx, y0 + dy, z0 + dz);
}

/** Geodetic point → [east, north, up] metres in origin's local tangent plane. */
export function geodeticToEnu(origin: Geodetic, p: Geodetic): [number, number, number] {
  const { sp, cp, sl, cl, x0, y0, z0 } = tangentFrame(origin);
  const [x, y, z] = geodeticToEcef(p);
  const dx = x - x0;
  const dy = y - y0;
  const dz = z - z0;
  return [-sl * dx + cl * dy, -sp * cl * dx - sp * sl * dy + cp * dz, cp * cl * dx + cp * sl * dy + sp * dz];
}
