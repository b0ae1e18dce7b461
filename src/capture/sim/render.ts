/**
 * Sensor model of the simulated camera (A6). Images respond to exposure like
 * a linear sensor:
 *
 * - brightness: DN = 255 × reflectance × (timeUs × gain) / fullScaleExposure,
 *   saturating at 255;
 * - motion blur: every object is integrated along its motion over the
 *   exposure window [t − T/2, t + T/2] (samples ≤ 0.5 px apart, each placed
 *   with sub-pixel linear weights), so the blur length is speed × T;
 * - noise: zero-mean Gaussian read noise of σ = readNoise × gain DN, from a
 *   PRNG seeded by (scene seed, frame time): the same frame renders the same
 *   pixels every time.
 *
 * All buffers are preallocated typed arrays; a 640×360 frame renders in a few
 * milliseconds (see docs/acquisition.md for the measured figure).
 */
import {
  defaultSize,
  inFrameFraction,
  LAYOUT,
  mulberry32,
  objectPosition,
  type GroundTruthObject,
  type SimObjectClass,
  type SimObjectSpec,
} from './scene.js';

export interface SensorModel {
  /** Exposure product (µs × gain) at which reflectance 1.0 reaches 255 DN. */
  fullScaleExposure: number;
  /** Read noise in DN at gain 1; σ grows linearly with gain. */
  readNoise: number;
}

export interface RenderedImage {
  /** Packed BGR rows, width × height × 3. Owned by the caller (a fresh copy). */
  pixels: Uint8Array;
  /** Mean luma ((B + 2G + R) / 4) of the frame, 0..255. */
  meanLuma: number;
  objects: GroundTruthObject[];
}

interface Sprite {
  w: number;
  h: number;
  /** Per pixel: alpha, B, G, R (reflectance, not premultiplied). */
  data: Float32Array;
}

type Rgb = readonly [number, number, number];

function spriteFor(cls: SimObjectClass, w: number, h: number, color: Rgb, facingLeft: boolean): Sprite {
  const sw = Math.max(2, Math.round(w));
  const sh = Math.max(2, Math.round(h));
  const data = new Float32Array(sw * sh * 4);
  const put = (x: number, y: number, c: Rgb): void => {
    if (x < 0 || y < 0 || x >= sw || y >= sh) return;
    const xx = facingLeft ? sw - 1 - x : x;
    const i = (y * sw + xx) * 4;
    data[i] = 1;
    data[i + 1] = c[0];
    data[i + 2] = c[1];
    data[i + 3] = c[2];
  };
  const rect = (x0: number, y0: number, x1: number, y1: number, c: Rgb): void => {
    for (let y = Math.round(y0 * sh); y < Math.round(y1 * sh); y++) for (let x = Math.round(x0 * sw); x < Math.round(x1 * sw); x++) put(x, y, c);
  };
  const disc = (fx: number, fy: number, r: number, c: Rgb, inner = 0): void => {
    const cx = fx * sw;
    const cy = fy * sh;
    for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++) {
      for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) {
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        if (d <= r && d >= inner) put(x, y, c);
      }
    }
  };
  const dark: Rgb = [0.05, 0.05, 0.05];
  const glass: Rgb = [0.22, 0.18, 0.15];
  const light: Rgb = [0.8, 0.85, 0.9];
  switch (cls) {
    case 'car': {
      rect(0.2, 0.02, 0.78, 0.45, color);
      rect(0.26, 0.08, 0.47, 0.4, glass);
      rect(0.51, 0.08, 0.72, 0.4, glass);
      rect(0, 0.4, 1, 0.82, color);
      rect(0.93, 0.5, 1, 0.6, light);
      disc(0.2, 0.82, 0.18 * sh, dark);
      disc(0.8, 0.82, 0.18 * sh, dark);
      break;
    }
    case 'truck': {
      rect(0, 0, 0.72, 0.8, color);
      rect(0.74, 0.25, 1, 0.8, [color[0] * 0.6, color[1] * 0.6, color[2] * 0.6]);
      rect(0.8, 0.3, 0.95, 0.5, glass);
      rect(0.96, 0.6, 1, 0.68, light);
      disc(0.12, 0.87, 0.13 * sh, dark);
      disc(0.3, 0.87, 0.13 * sh, dark);
      disc(0.85, 0.87, 0.13 * sh, dark);
      break;
    }
    case 'bicycle': {
      const r = 0.2 * sh;
      disc(0.22, 0.78, r, dark, r - 2.5);
      disc(0.78, 0.78, r, dark, r - 2.5);
      rect(0.22, 0.6, 0.78, 0.66, [0.1, 0.1, 0.6]);
      rect(0.38, 0.15, 0.6, 0.6, color);
      disc(0.5, 0.09, 0.08 * sh, [0.45, 0.55, 0.7]);
      break;
    }
    case 'pedestrian': {
      disc(0.5, 0.08, 0.08 * sh, [0.45, 0.55, 0.7]);
      rect(0.15, 0.16, 0.85, 0.58, color);
      rect(0.2, 0.58, 0.45, 1, dark);
      rect(0.55, 0.58, 0.8, 1, dark);
      break;
    }
  }
  return { w: sw, h: sh, data };
}

/** The static background's reflectance, B, G, R planes interleaved, float. */
function renderBackground(width: number, height: number, seed: number): Float32Array {
  const bg = new Float32Array(width * height * 3);
  const rnd = mulberry32(seed ^ 0x5eed);
  const set = (x: number, y: number, b: number, g: number, r: number): void => {
    const i = (y * width + x) * 3;
    bg[i] = b;
    bg[i + 1] = g;
    bg[i + 2] = r;
  };
  const skyEnd = Math.round(LAYOUT.skyEnd * height);
  const verge = Math.round(LAYOUT.verge * height);
  const roadTop = Math.round(LAYOUT.roadTop * height);
  const roadBottom = Math.round(LAYOUT.roadBottom * height);
  // Value-noise texture for the verge and pavements: smooth blobs plus grain.
  const grain = new Float32Array(width * height);
  for (let i = 0; i < grain.length; i++) grain[i] = rnd() - 0.5;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const g = grain[y * width + x]!;
      if (y < skyEnd) {
        const f = y / Math.max(1, skyEnd);
        set(x, y, 0.75 - 0.1 * f, 0.62 - 0.05 * f, 0.48);
      } else if (y < verge) {
        const blob = 0.5 + 0.5 * Math.sin(x * 0.11 + Math.sin(y * 0.23) * 2) * Math.cos(y * 0.17 - x * 0.03);
        set(x, y, 0.12 + 0.06 * blob + 0.05 * g, 0.3 + 0.12 * blob + 0.08 * g, 0.16 + 0.05 * blob + 0.05 * g);
      } else if (y < roadTop || y >= roadBottom) {
        const tile = (x % 24 === 0 || y % 12 === 0) ? 0.32 : 0.5;
        set(x, y, tile + 0.04 * g, tile + 0.04 * g, tile + 0.05 * g);
      } else {
        set(x, y, 0.3, 0.3, 0.3);
      }
    }
  }
  // Buildings on the horizon: blocks with a grid of windows (sharp static edges).
  let x = 0;
  while (x < width) {
    const bw = Math.round((0.08 + 0.1 * rnd()) * width);
    const top = Math.round(skyEnd * (0.25 + 0.55 * rnd()));
    const shade = 0.35 + 0.3 * rnd();
    for (let y = top; y < skyEnd; y++) {
      for (let xx = x; xx < Math.min(width, x + bw - 3); xx++) {
        const win = (xx - x) % 10 >= 3 && (xx - x) % 10 < 8 && (y - top) % 12 >= 4 && (y - top) % 12 < 9;
        const v = win ? 0.15 : shade;
        set(xx, y, v * 0.95, v, v * 1.05);
      }
    }
    x += bw;
  }
  // Lane marks: solid edges, dashed separators.
  const laneH = (roadBottom - roadTop) / 4;
  for (let k = 0; k <= 4; k++) {
    const yc = Math.round(roadTop + k * laneH);
    const dashed = k > 0 && k < 4;
    for (let y = yc - 1; y <= yc + 1; y++) {
      if (y < roadTop || y >= roadBottom) continue;
      for (let xx = 0; xx < width; xx++) {
        if (dashed && xx % 48 >= 26) continue;
        set(xx, y, 0.85, 0.85, 0.85);
      }
    }
  }
  return bg;
}

/** Gaussian samples for the noise table (Box–Muller). */
function gaussianTable(n: number, seed: number): Float32Array {
  const rnd = mulberry32(seed);
  const t = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(1e-12, rnd());
    const v = rnd();
    const r = Math.sqrt(-2 * Math.log(u));
    t[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) t[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return t;
}

const NOISE_TABLE_BITS = 16;

interface PreparedObject {
  spec: SimObjectSpec;
  w: number;
  h: number;
  sprite: Sprite;
}

/**
 * Renders frames of a scenario at a given exposure. Stateless between calls
 * apart from its scratch buffers: render(t, exposure) is a pure function of
 * its arguments and the scenario.
 */
export class SceneRenderer {
  readonly width: number;
  readonly height: number;
  readonly seed: number;
  readonly sensor: SensorModel;
  #bg: Float32Array;
  #rad: Float32Array;
  #acc: Float32Array = new Float32Array(0);
  #objects: PreparedObject[];
  #noise: Float32Array;

  constructor(width: number, height: number, seed: number, objects: SimObjectSpec[], sensor: SensorModel) {
    this.width = width;
    this.height = height;
    this.seed = seed;
    this.sensor = sensor;
    this.#bg = renderBackground(width, height, seed);
    this.#rad = new Float32Array(width * height * 3);
    this.#noise = gaussianTable(1 << NOISE_TABLE_BITS, seed ^ 0x9e3779b9);
    const rnd = mulberry32(seed ^ 0xc0105);
    this.#objects = objects.map((spec) => {
      const size = defaultSize(spec.cls, width, height);
      const w = spec.w ?? size.w;
      const h = spec.h ?? size.h;
      const color: Rgb = spec.color ?? [0.15 + 0.6 * rnd(), 0.15 + 0.6 * rnd(), 0.15 + 0.6 * rnd()];
      return { spec, w, h, sprite: spriteFor(spec.cls, w, h, color, spec.vx < 0) };
    });
  }

  /** Ground truth at scene time tS (seconds), boxes at that instant, without pixels. */
  groundTruth(tS: number): GroundTruthObject[] {
    const placed = this.#objects.map((o) => ({ o, ...objectPosition(o.spec, o.w, o.h, this.width, this.height, tS) }));
    // Draw order: far (higher bottom edge on screen) first.
    placed.sort((a, b) => a.cy + a.o.h / 2 - (b.cy + b.o.h / 2));
    return placed.map((p, i) => {
      let covered = 0;
      const G = 8;
      for (let gy = 0; gy < G; gy++) {
        for (let gx = 0; gx < G; gx++) {
          const px = p.cx - p.o.w / 2 + ((gx + 0.5) / G) * p.o.w;
          const py = p.cy - p.o.h / 2 + ((gy + 0.5) / G) * p.o.h;
          for (let j = i + 1; j < placed.length; j++) {
            const q = placed[j]!;
            if (Math.abs(px - q.cx) <= q.o.w / 2 && Math.abs(py - q.cy) <= q.o.h / 2) {
              covered++;
              break;
            }
          }
        }
      }
      const { spec } = p.o;
      return {
        id: spec.id,
        pass: p.pass,
        cls: spec.cls,
        cx: p.cx,
        cy: p.cy,
        w: p.o.w,
        h: p.o.h,
        inFrame: inFrameFraction(p.cx, p.cy, p.o.w, p.o.h, this.width, this.height),
        occluded: covered / (G * G),
        speedPxPerS: Math.hypot(spec.vx, spec.vy),
        vx: spec.vx,
        vy: spec.vy,
      };
    });
  }

  /**
   * Render the frame whose exposure is centred on scene time tS (seconds),
   * exposed for exposureTimeUs at gain. `noiseKey` seeds the frame's noise.
   */
  render(tS: number, exposureTimeUs: number, gain: number, noiseKey: number): RenderedImage {
    const W = this.width;
    const H = this.height;
    const rad = this.#rad;
    rad.set(this.#bg);
    const truth = this.groundTruth(tS);
    const byId = new Map(this.#objects.map((o) => [o.spec.id, o]));
    const T = exposureTimeUs / 1e6;
    for (const g of truth) {
      const o = byId.get(g.id)!;
      this.#drawBlurred(o, g.cx, g.cy, T);
    }
    // Sensor: linear response, read noise ∝ gain, quantisation, saturation.
    const k = (255 * exposureTimeUs * gain) / this.sensor.fullScaleExposure;
    const sigma = this.sensor.readNoise * gain;
    const out = new Uint8Array(W * H * 3);
    // Uint8ClampedArray stores round-and-clamp to 0..255 (saturation) without branches.
    const clamped = new Uint8ClampedArray(out.buffer);
    const noise = this.#noise;
    const mask = (1 << NOISE_TABLE_BITS) - 1;
    let s1 = (Math.imul(this.seed ^ 0x85ebca6b, 0x27d4eb2d) ^ Math.imul(noiseKey | 0, 0x165667b1) ^ ((noiseKey / 4294967296) | 0)) | 1;
    let s2 = Math.imul(s1, 0x2c1b3c6d) | 1;
    let lumaSum = 0;
    const n = W * H * 3;
    if (sigma > 0) {
      for (let i = 0; i < n; i += 3) {
        s1 ^= s1 << 13;
        s1 ^= s1 >>> 17;
        s1 ^= s1 << 5;
        s2 ^= s2 << 13;
        s2 ^= s2 >>> 17;
        s2 ^= s2 << 5;
        clamped[i] = rad[i]! * k + sigma * noise[s1 & mask]!;
        clamped[i + 1] = rad[i + 1]! * k + sigma * noise[(s1 >>> 16) & mask]!;
        clamped[i + 2] = rad[i + 2]! * k + sigma * noise[s2 & mask]!;
        lumaSum += out[i]! + 2 * out[i + 1]! + out[i + 2]!;
      }
    } else {
      for (let i = 0; i < n; i += 3) {
        clamped[i] = rad[i]! * k;
        clamped[i + 1] = rad[i + 1]! * k;
        clamped[i + 2] = rad[i + 2]! * k;
        lumaSum += out[i]! + 2 * out[i + 1]! + out[i + 2]!;
      }
    }
    return { pixels: out, meanLuma: lumaSum / 4 / (W * H), objects: truth };
  }

  /** Integrate one object along its motion over the exposure into #rad. */
  #drawBlurred(o: PreparedObject, cx: number, cy: number, T: number): void {
    const { sprite, spec } = o;
    const W = this.width;
    const H = this.height;
    const dx = spec.vx * T;
    const dy = spec.vy * T;
    const len = Math.hypot(dx, dy);
    const N = len > 0 ? Math.ceil(2 * len) + 1 : 1;
    // Swept bounds (px), one pixel of slack for the sub-pixel taps.
    const x0 = Math.floor(cx - sprite.w / 2 - Math.abs(dx) / 2) - 1;
    const y0 = Math.floor(cy - sprite.h / 2 - Math.abs(dy) / 2) - 1;
    const bw = sprite.w + Math.ceil(Math.abs(dx)) + 3;
    const bh = sprite.h + Math.ceil(Math.abs(dy)) + 3;
    if (x0 >= W || y0 >= H || x0 + bw <= 0 || y0 + bh <= 0) return;
    const need = bw * bh * 4;
    if (this.#acc.length < need) this.#acc = new Float32Array(need * 2);
    const acc = this.#acc;
    acc.fill(0, 0, need);
    const sd = sprite.data;
    const inv = 1 / N;
    for (let s = 0; s < N; s++) {
      const f = N === 1 ? 0 : (s + 0.5) / N - 0.5;
      const px = cx + f * dx - sprite.w / 2 - x0;
      const py = cy + f * dy - sprite.h / 2 - y0;
      const ix = Math.floor(px);
      const iy = Math.floor(py);
      const fx = px - ix;
      const fy = py - iy;
      const taps: [number, number, number][] = [
        [0, 0, (1 - fx) * (1 - fy) * inv],
        [1, 0, fx * (1 - fy) * inv],
        [0, 1, (1 - fx) * fy * inv],
        [1, 1, fx * fy * inv],
      ];
      for (const [tx, ty, wgt] of taps) {
        if (wgt <= 1e-6) continue;
        for (let sy = 0; sy < sprite.h; sy++) {
          const ay = iy + ty + sy;
          const rowA = ay * bw;
          const rowS = sy * sprite.w;
          for (let sx = 0; sx < sprite.w; sx++) {
            const si = (rowS + sx) * 4;
            const a = sd[si]!;
            if (a === 0) continue;
            const ai = (rowA + ix + tx + sx) * 4;
            const wa = a * wgt;
            acc[ai]! += wa;
            acc[ai + 1]! += wa * sd[si + 1]!;
            acc[ai + 2]! += wa * sd[si + 2]!;
            acc[ai + 3]! += wa * sd[si + 3]!;
          }
        }
      }
    }
    const rad = this.#rad;
    for (let by = 0; by < bh; by++) {
      const y = y0 + by;
      if (y < 0 || y >= H) continue;
      for (let bx = 0; bx < bw; bx++) {
        const x = x0 + bx;
        if (x < 0 || x >= W) continue;
        const ai = (by * bw + bx) * 4;
        const a = acc[ai]!;
        if (a === 0) continue;
        const ri = (y * W + x) * 3;
        const keep = 1 - a;
        rad[ri] = rad[ri]! * keep + acc[ai + 1]!;
        rad[ri + 1] = rad[ri + 1]! * keep + acc[ai + 2]!;
        rad[ri + 2] = rad[ri + 2]! * keep + acc[ai + 3]!;
      }
    }
  }
}

