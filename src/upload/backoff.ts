/**
 * U2: exponential back-off with jitter for retryable failures ("equal
 * jitter": half the step fixed, half random, so retries of many edge boxes
 * spread out yet never retry at once). A Retry-After from the server is a
 * floor on the delay.
 */
import { invalidParameterError, outOfRangeError } from '../errors.js';

export interface BackoffOptions {
  /** Delay step of the first retry, ms. Default 500. Lower retries a brief blip sooner; higher spares a struggling cloud. */
  baseMs?: number;
  /** Ceiling of the step, ms. Default 60000: a long outage is probed once a minute or so. */
  maxMs?: number;
  /** Growth per failed attempt. Default 2. */
  factor?: number;
  /**
   * Ceiling on a server's Retry-After, ms. Default 3600000 (1 h): a
   * misconfigured cloud cannot stall the queue for days; lower it to probe
   * sooner than the server asks.
   */
  maxRetryAfterMs?: number;
}

export interface ResolvedBackoff {
  baseMs: number;
  maxMs: number;
  factor: number;
  maxRetryAfterMs: number;
}

export function resolveBackoff(options: BackoffOptions = {}): ResolvedBackoff {
  const check = (name: string, v: number | undefined, dflt: number, min: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidParameterError(`number >= ${min}`, name, v);
    if (v < min) throw outOfRangeError(`number >= ${min}`, name, v);
    return v;
  };
  const baseMs = check('backoff.baseMs', options.baseMs, 500, 1);
  const maxMs = check('backoff.maxMs', options.maxMs, 60000, baseMs);
  const factor = check('backoff.factor', options.factor, 2, 1);
  const maxRetryAfterMs = check('backoff.maxRetryAfterMs', options.maxRetryAfterMs, 3_600_000, 0);
  return { baseMs, maxMs, factor, maxRetryAfterMs };
}

/** The step (upper bound) for the n-th consecutive failure (n ≥ 1): min(maxMs, baseMs·factor^(n−1)). */
export function backoffCapMs(attempt: number, b: ResolvedBackoff): number {
  return Math.min(b.maxMs, b.baseMs * b.factor ** Math.max(0, attempt - 1));
}

/**
 * Delay before the next try after the n-th consecutive failure: uniformly in
 * [cap/2, cap], and at least `retryAfterMs` (clamped to maxRetryAfterMs)
 * when the server sent Retry-After.
 */
export function backoffDelayMs(attempt: number, b: ResolvedBackoff, retryAfterMs?: number, random: () => number = Math.random): number {
  const cap = backoffCapMs(attempt, b);
  const delay = cap / 2 + random() * (cap / 2);
  return Math.max(delay, Math.min(retryAfterMs ?? 0, b.maxRetryAfterMs));
}
