/**
 * Camera position of a vehicle from gpsd (A5 "camera position"), the
 * standard Linux GNSS daemon: JSON over TCP (default 127.0.0.1:2947).
 *
 * The client sends ?WATCH={"enable":true,"json":true} and reads TPV reports
 * (time, mode, lat, lon, altHAE, track). Each frame gets the position at its
 * capture time by linear interpolation between the fixes that bracket it
 * (heading interpolated on the circle). GNSS time is UTC and the frame's
 * timestamp is wall-clock ns, so the system clock must be synchronised (NTP or
 * gpsd's own PPS/SHM time): an offset shifts positions along the track.
 *
 * Loss of fix is a state, not an error: a TPV with mode < 2, no TPV for
 * `staleAfterMs`, or a lost connection → state 'no-fix' and positionAt()
 * returns null for times after the last good fix. gpsd is reconnected to
 * every `reconnectMs` until close().
 */
import { Socket } from 'node:net';
import { GnssError, invalidParameterError, outOfRangeError, requireNumber } from '../../errors.js';
import { TypedEmitter } from '../../events.js';
import type { CameraPosition } from '../../types.js';
import type { PositionProvider, PositionState } from './types.js';

export interface GpsdOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 2947 (gpsd's port). */
  port?: number;
  /** No TPV for this long → 'no-fix'. Default 3000 ms: receivers report at 1–10 Hz; shorter flags loss sooner but may flap. */
  staleAfterMs?: number;
  /** Fix history kept for interpolation. Default 30000 ms; must exceed the pipeline's latency from capture to positionAt(). */
  historyMs?: number;
  /** A frame newer than the newest fix by at most this gets an extrapolated position (last velocity). Default 1500 ms; 0 disables. */
  maxExtrapolationMs?: number;
  /** Delay before reconnecting to gpsd. Default 1000 ms. */
  reconnectMs?: number;
  /** Monotonic ms clock for staleness. Default performance.now. */
  clock?: () => number;
}

/** One GNSS fix from a TPV report. */
export interface GnssFix {
  /** GNSS time, UTC ns. */
  timeNs: bigint;
  mode: 2 | 3;
  lat: number;
  lon: number;
  /** Height above the WGS84 ellipsoid (altHAE; else alt/altMSL; NaN for 2D fixes without one). */
  alt: number;
  /** Course over ground, degrees from north; the last known course when the report has none. */
  heading: number;
  /** m/s; NaN when not reported. */
  speed: number;
}

export type NoFixReason = 'mode' | 'stale' | 'disconnected';

export type GpsdEvents = {
  state: [PositionState, NoFixReason | null];
  fix: [GnssFix];
  error: [GnssError];
};

export interface GpsdStats {
  state: PositionState;
  tpvReports: number;
  fixes: number;
  noFixReports: number;
  connects: number;
  /** ms since the newest fix arrived; NaN before the first. */
  lastFixAgeMs: number;
}

/** Parse gpsd's ISO-8601 UTC time with up to ns precision. */
export function parseGpsdTime(s: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(s);
  if (!m) throw new GnssError(`Unparseable gpsd time '${s}'`);
  const sec = Date.parse(`${m[1]}Z`);
  if (Number.isNaN(sec)) throw new GnssError(`Unparseable gpsd time '${s}'`);
  return BigInt(sec) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** Heading interpolation on the circle: the short way round, result in [0, 360). */
export function interpolateHeading(a: number, b: number, f: number): number {
  const d = ((((b - a) % 360) + 540) % 360) - 180;
  return (((a + d * f) % 360) + 360) % 360;
}

/** Position between two fixes at time t (linear; heading on the circle). */
export function interpolateFix(a: GnssFix, b: GnssFix, tNs: bigint): CameraPosition {
  const span = Number(b.timeNs - a.timeNs);
  const f = span === 0 ? 0 : Number(tNs - a.timeNs) / span;
  const alt = Number.isFinite(a.alt) && Number.isFinite(b.alt) ? a.alt + (b.alt - a.alt) * f : Number.isFinite(a.alt) ? a.alt : b.alt;
  return {
    lat: a.lat + (b.lat - a.lat) * f,
    lon: a.lon + (b.lon - a.lon) * f,
    alt,
    heading: interpolateHeading(a.heading, b.heading, f),
  };
}

interface HistoryItem {
  fix: GnssFix | null;
  /** For a loss marker: its time (GNSS time of the no-fix report, or newest fix time). */
  timeNs: bigint;
}

export class GpsdPosition extends TypedEmitter<GpsdEvents> implements PositionProvider {
  readonly host: string;
  readonly port: number;
  #o: Required<Omit<GpsdOptions, 'host' | 'port' | 'clock'>>;
  #clock: () => number;
  #state: PositionState = 'connecting';
  #history: HistoryItem[] = [];
  #socket: Socket | undefined;
  #buffer = '';
  #closed = false;
  #lastTpvMs = NaN;
  #lastFixMs = NaN;
  #lastHeading = 0;
  #staleTimer: NodeJS.Timeout | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #stats = { tpvReports: 0, fixes: 0, noFixReports: 0, connects: 0 };

  constructor(options: GpsdOptions = {}) {
    super();
    this.host = options.host ?? '127.0.0.1';
    if (typeof this.host !== 'string' || this.host.length === 0) throw invalidParameterError('non-empty string', 'host', this.host);
    this.port = requireNumber('positive integer', 'port', options.port ?? 2947);
    if (this.port > 65535) throw outOfRangeError('integer between 1 and 65535', 'port', this.port);
    this.#o = {
      staleAfterMs: requireNumber('positive integer', 'staleAfterMs', options.staleAfterMs ?? 3000),
      historyMs: requireNumber('positive integer', 'historyMs', options.historyMs ?? 30_000),
      maxExtrapolationMs: requireNumber('non-negative integer', 'maxExtrapolationMs', options.maxExtrapolationMs ?? 1500),
      reconnectMs: requireNumber('positive integer', 'reconnectMs', options.reconnectMs ?? 1000),
    };
    this.#clock = options.clock ?? (() => performance.now());
    this.#connect();
    this.#staleTimer = setInterval(() => this.#checkStale(), Math.max(50, Math.min(1000, this.#o.staleAfterMs / 4)));
    this.#staleTimer.unref();
  }

  get state(): PositionState {
    return this.#state;
  }

  /** Fixes currently held for interpolation, oldest first. */
  fixes(): GnssFix[] {
    return this.#history.flatMap((h) => (h.fix ? [h.fix] : []));
  }

  stats(): GpsdStats {
    return { state: this.#state, ...this.#stats, lastFixAgeMs: this.#clock() - this.#lastFixMs };
  }

  positionAt(realtimeNs: bigint): CameraPosition | null {
    const h = this.#history;
    // Newest item at or before t, and the one after it.
    let i = h.length - 1;
    while (i >= 0 && h[i]!.timeNs > realtimeNs) i--;
    if (i < 0) return null;
    const a = h[i]!;
    if (a.fix === null) return null;
    const b = h[i + 1];
    if (b !== undefined) return b.fix === null ? (a.timeNs === realtimeNs ? interpolateFix(a.fix, a.fix, realtimeNs) : null) : interpolateFix(a.fix, b.fix, realtimeNs);
    // After the newest fix: extrapolate a little while the fix is current.
    if (this.#state !== 'fix') return a.timeNs === realtimeNs ? interpolateFix(a.fix, a.fix, realtimeNs) : null;
    if (realtimeNs - a.timeNs > BigInt(this.#o.maxExtrapolationMs) * 1_000_000n) return null;
    const prev = h[i - 1];
    if (prev?.fix && a.timeNs - prev.timeNs <= 2_000_000_000n && a.timeNs > prev.timeNs) {
      const p = interpolateFix(prev.fix, a.fix, realtimeNs);
      return { ...p, heading: a.fix.heading };
    }
    return interpolateFix(a.fix, a.fix, realtimeNs);
  }

  /** Stop reading and release the socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#staleTimer);
    clearTimeout(this.#reconnectTimer);
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #connect(): void {
    if (this.#closed) return;
    const socket = new Socket();
    this.#socket = socket;
    this.#buffer = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      this.#stats.connects++;
      socket.write('?WATCH={"enable":true,"json":true}\n');
    });
    socket.on('data', (chunk: string) => this.#onData(chunk));
    socket.on('error', () => {
      /* reported through 'close' */
    });
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      if (this.#closed) return;
      if (this.#state === 'fix') this.#lose('disconnected', null);
      this.#reconnectTimer = setTimeout(() => this.#connect(), this.#o.reconnectMs);
    });
    socket.connect(this.port, this.host);
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, nl).trim();
      this.#buffer = this.#buffer.slice(nl + 1);
      if (line.length === 0) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        this.emit('error', new GnssError(`gpsd sent a line that is not JSON: ${line.slice(0, 80)}`));
        continue;
      }
      if (msg.class === 'TPV') this.#onTpv(msg);
      else if (msg.class === 'ERROR') this.emit('error', new GnssError(`gpsd error: ${String(msg.message)}`));
    }
    if (this.#buffer.length > 1 << 20) this.#buffer = '';
  }

  #onTpv(tpv: Record<string, unknown>): void {
    this.#stats.tpvReports++;
    this.#lastTpvMs = this.#clock();
    const mode = typeof tpv.mode === 'number' ? tpv.mode : 0;
    let timeNs: bigint | undefined;
    if (typeof tpv.time === 'string') {
      try {
        timeNs = parseGpsdTime(tpv.time);
      } catch (err) {
        this.emit('error', err as GnssError);
      }
    }
    const lat = tpv.lat;
    const lon = tpv.lon;
    if (mode < 2 || timeNs === undefined || typeof lat !== 'number' || typeof lon !== 'number') {
      this.#stats.noFixReports++;
      if (mode < 2) this.#lose('mode', timeNs ?? null);
      return;
    }
    const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);
    const track = num(tpv.track);
    if (Number.isFinite(track)) this.#lastHeading = track;
    const altHAE = num(tpv.altHAE);
    const fix: GnssFix = {
      timeNs,
      mode: mode >= 3 ? 3 : 2,
      lat,
      lon,
      alt: Number.isFinite(altHAE) ? altHAE : num(tpv.alt),
      heading: this.#lastHeading,
      speed: num(tpv.speed),
    };
    this.#addFix(fix);
  }

  #addFix(fix: GnssFix): void {
    const h = this.#history;
    const last = h[h.length - 1];
    if (last && last.timeNs > fix.timeNs) return; // out of order: ignore
    if (last && last.timeNs === fix.timeNs && last.fix) {
      // gpsd reports a cycle more than once (2D from RMC, then 3D with GGA): keep the better one.
      if (fix.mode >= last.fix.mode) {
        if (!Number.isFinite(fix.alt)) fix.alt = last.fix.alt;
        last.fix = fix;
      }
    } else {
      h.push({ fix, timeNs: fix.timeNs });
    }
    const cutoff = fix.timeNs - BigInt(this.#o.historyMs) * 1_000_000n;
    while (h.length > 2 && h[0]!.timeNs < cutoff) h.shift();
    this.#stats.fixes++;
    this.#lastFixMs = this.#clock();
    this.emit('fix', fix);
    this.#setState('fix', null);
  }

  #lose(reason: NoFixReason, timeNs: bigint | null): void {
    const h = this.#history;
    const last = h[h.length - 1];
    if (last && last.fix !== null) {
      // The marker sits at the no-fix report's time, else just after the newest fix.
      const t = timeNs !== null && timeNs > last.timeNs ? timeNs : last.timeNs + 1n;
      h.push({ fix: null, timeNs: t });
    }
    this.#setState('no-fix', reason);
  }

  #checkStale(): void {
    if (this.#closed || this.#state !== 'fix') return;
    const since = this.#clock() - Math.max(this.#lastTpvMs, this.#lastFixMs);
    if (since > this.#o.staleAfterMs) this.#lose('stale', null);
  }

  #setState(state: PositionState, reason: NoFixReason | null): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state, reason);
  }
}
