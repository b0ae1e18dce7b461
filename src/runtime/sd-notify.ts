/**
 * systemd service notification (sd_notify) for `bestshot run` under
 * Type=notify: while starting, EXTEND_TIMEOUT_USEC every START_EXTEND_MS
 * (the first start on a Jetson builds TensorRT engines for minutes, past the
 * unit's TimeoutStartSec, and was killed and started again until the start
 * limit); READY=1 once the model is loaded and the cameras started,
 * WATCHDOG=1 every half WatchdogSec from the event loop (a hung loop stops
 * the pings and systemd restarts the unit), STOPPING=1 on shutdown.
 *
 * Node cannot send unix datagrams, so messages go through systemd's own
 * `systemd-notify` (the unit sets NotifyAccess=all so a child may send).
 * Nothing happens when NOTIFY_SOCKET is not set (not started by systemd).
 */
import { execFile } from 'node:child_process';

/** While starting, the start timeout is extended this often … */
export const START_EXTEND_MS = 20_000;
/** … each time to this long from then: a start whose event loop hangs stops the messages and is killed after it. */
export const START_EXTEND_BY_MS = 60_000;

export class SystemdNotifier {
  readonly enabled: boolean;
  /** Half the watchdog period, ms; undefined when the unit has no WatchdogSec. */
  readonly watchdogIntervalMs: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #startTimer: NodeJS.Timeout | undefined;
  #socket: string | undefined;
  #onError: (message: string) => void;

  constructor(env: NodeJS.ProcessEnv = process.env, onError: (message: string) => void = () => undefined) {
    this.enabled = typeof env.NOTIFY_SOCKET === 'string' && env.NOTIFY_SOCKET.length > 0;
    this.#socket = env.NOTIFY_SOCKET;
    const usec = Number(env.WATCHDOG_USEC);
    this.watchdogIntervalMs = this.enabled && Number.isFinite(usec) && usec > 0 ? Math.max(100, usec / 2000) : undefined;
    this.#onError = onError;
  }

  notify(...assignments: string[]): void {
    if (!this.enabled) return;
    execFile('systemd-notify', assignments, { env: { ...process.env, NOTIFY_SOCKET: this.#socket } }, (err) => {
      if (err) this.#onError(`systemd-notify ${assignments.join(' ')} failed: ${err.message}`);
    });
  }

  /**
   * Starting: the status, and the start timeout extended now and every
   * `everyMs` by `byMs` until ready() or stopping(). The model loads in
   * worker threads, so the event loop sends these while a TensorRT engine
   * builds; systemd never shortens TimeoutStartSec with them.
   */
  starting(status: string, everyMs = START_EXTEND_MS, byMs = START_EXTEND_BY_MS): void {
    if (!this.enabled || this.#startTimer !== undefined) return;
    const extend = (): void => this.notify(`EXTEND_TIMEOUT_USEC=${Math.round(byMs * 1000)}`, `STATUS=${status}`);
    extend();
    this.#startTimer = setInterval(extend, everyMs);
    this.#startTimer.unref();
  }

  #started(): void {
    if (this.#startTimer !== undefined) clearInterval(this.#startTimer);
    this.#startTimer = undefined;
  }

  /** READY=1 and, when the unit has a watchdog, pings from now on. */
  ready(status: string): void {
    this.#started();
    this.notify('READY=1', `STATUS=${status}`);
    if (this.watchdogIntervalMs !== undefined && this.#timer === undefined) {
      this.#timer = setInterval(() => this.notify('WATCHDOG=1'), this.watchdogIntervalMs);
      this.#timer.unref();
    }
  }

  stopping(): void {
    this.#started();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.notify('STOPPING=1');
  }
}
