import { closeSync } from 'node:fs';
import { isatty } from 'node:tty';

/**
 * The first SIGINT, SIGTERM or SIGHUP, for the long-running commands (receiver,
 * ingest): take it before saying the command is ready, so a supervisor (or a
 * test) that stops it on that line gets a clean stop, not the default kill.
 * SIGHUP (the terminal it was started from closed; `kill -HUP` by an operator)
 * stops it as SIGTERM does, as it stops `bestshot run`: its default action
 * ended the process at once (exit 129), ingest's final stats unsaid and the
 * receiver's store not closed. There is nothing to reload: `say` says so,
 * in one line, before the stop.
 *
 * A second signal while it stops exits at once with exit 1 (saying so through
 * `say`), as `bestshot run` does. The handlers stay until the
 * process exits (bin/bestshot.js ends these commands with process.exit): they
 * were removed at the first signal, and a second one during the close or
 * Node's teardown (GNU timeout sends two; systemd's stop after a kill) had its
 * default action, the process killed by the signal (143, 129) instead of
 * ending with a code, in 10 of 10 tries 2–25 ms after the first.
 */
export function stopRequested(say?: (line: string) => void): Promise<NodeJS.Signals> {
  const signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  // Asked now: once the terminal hung up, asking fails.
  const ttys = [0, 1, 2].filter((fd) => isatty(fd));
  let first: NodeJS.Signals | undefined;
  let leftTerminal = false;
  return new Promise((done) => {
    const stop = (signal: NodeJS.Signals): void => {
      if (signal === 'SIGHUP' && !leftTerminal) {
        leftTerminal = true;
        leaveHungUpTerminal(ttys);
      }
      if (first !== undefined) {
        say?.(secondSignalExit(signal, first));
        process.exit(SECOND_SIGNAL_EXIT_CODE);
      }
      first = signal;
      if (signal === 'SIGHUP') say?.(HANGUP_STOP);
      done(signal);
    };
    for (const sig of signals) process.on(sig, stop);
  });
}

/** The exit code of a long-running command a second signal ended while it stopped (as `bestshot run`'s). */
const SECOND_SIGNAL_EXIT_CODE = 1;

/** What a long-running command says when a second signal ends it while it stops. */
function secondSignalExit(signal: NodeJS.Signals, first: NodeJS.Signals): string {
  return `${signal} while stopping (on ${first}): exiting now, exit ${SECOND_SIGNAL_EXIT_CODE}`;
}

/** What a long-running command says when SIGHUP stops it (there is no configuration it could reload). */
export const HANGUP_STOP = 'SIGHUP (the terminal closed, or kill -HUP): stopping as on SIGTERM; there is nothing to reload (restart it to apply a change)';

/**
 * After SIGHUP from a closed terminal, Node's own exit restores the terminal
 * settings its stdio started with and aborts (SIGABRT, a core file) when the
 * terminal is gone (tcsetattr: EIO; nodejs/node#51519, fixed after Node 20).
 * It skips a descriptor that is closed, so the terminal ones (`ttys`, asked
 * before the hang-up) are closed last thing, after the stop has run and said
 * what it did.
 */
export function leaveHungUpTerminal(ttys: number[]): void {
  process.once('exit', () => {
    for (const fd of ttys) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  });
}

/**
 * Make `to` the listener of `signals` in place of `from`, adding before
 * removing. Removing the last listener of a signal first stops Node's
 * watcher of it, and a signal that had arrived but was not yet dispatched
 * (the event loop busy in the synchronous end of a start) went with the
 * watcher: `bestshot run` sent SIGTERM as it finished starting ran on, deaf
 * to it, until a second signal.
 */
export function handOverSignals(signals: readonly NodeJS.Signals[], from: (signal: NodeJS.Signals) => void, to: (signal: NodeJS.Signals) => void): void {
  for (const sig of signals) process.on(sig, to);
  for (const sig of signals) process.off(sig, from);
}

/** The detector's inferences in flight (DetectorPool.idle), what a process waits for before exiting. */
export interface InFlightInferences {
  idle(timeoutMs: number): Promise<boolean>;
}

/** The longest wait for the inferences in flight before a forced exit: one frame's inference, with room. */
export const INFERENCE_WAIT_MS = 2000;

let exitRequested = false;

/**
 * End the process by `signal`'s own default action (a shell sees 128 + its number), for a stop
 * asked while the detector starts: its workers are then inside session creation or the warm-up
 * inference, which DetectorPool.idle does not see, and process.exit() there aborted the process
 * (SIGABRT, exit 134). The default action runs no exit code, so nothing native is torn down.
 */
export function endBySignal(signal: NodeJS.Signals): void {
  for (const listener of process.listeners(signal)) process.off(signal, listener);
  process.kill(process.pid, signal);
}

/**
 * Exit with `code` once the inferences in flight end (at most INFERENCE_WAIT_MS): a detector worker
 * inside session.run() when the process exits aborts it (onnxruntime-node: 'terminate called after
 * throwing an instance of Napi::Error', SIGABRT, exit 134 instead of `code`; DetectorPool.idle).
 * A second call (a third signal while the inferences finish) exits at once, whatever it costs.
 * `lastWords` (the run's counts) is said right before the exit.
 */
export function exitAfterInferences(detect: InFlightInferences, code: number, lastWords?: () => void): void {
  if (exitRequested) {
    lastWords?.();
    process.exit(code);
  }
  exitRequested = true;
  // `lastWords` runs right before the exit, in the same turn: counts it prints are those the
  // process ends with (the stop goes on queueing held images while the inferences finish).
  void detect.idle(INFERENCE_WAIT_MS).finally(() => {
    lastWords?.();
    process.exit(code);
  });
}
