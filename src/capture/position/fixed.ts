/** A roadside camera's position, fixed from configuration. */
import { invalidParameterError, outOfRangeError } from '../../errors.js';
import type { CameraPosition } from '../../types.js';
import type { PositionProvider } from './types.js';

function num(name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidParameterError(`number between ${lo} and ${hi}`, name, v);
  if (v < lo || v > hi) throw outOfRangeError(`number between ${lo} and ${hi}`, name, v);
  return v;
}

/** Validate a configured WGS84 position; alt defaults to 0, heading to 0 (north). */
export function validatePosition(p: Partial<CameraPosition> & { lat: number; lon: number }, prefix = 'position'): CameraPosition {
  if (p === null || typeof p !== 'object') throw invalidParameterError('object', prefix, p);
  return {
    lat: num(`${prefix}.lat`, p.lat, -90, 90),
    lon: num(`${prefix}.lon`, p.lon, -180, 180),
    alt: num(`${prefix}.alt`, p.alt ?? 0, -1000, 100000),
    heading: num(`${prefix}.heading`, p.heading ?? 0, 0, 360) % 360,
  };
}

export class FixedPosition implements PositionProvider {
  readonly state = 'fixed' as const;
  readonly position: CameraPosition;

  constructor(position: Partial<CameraPosition> & { lat: number; lon: number }) {
    this.position = Object.freeze(validatePosition(position));
  }

  positionAt(_realtimeNs: bigint): CameraPosition {
    return { ...this.position };
  }

  close(): void {}
}
