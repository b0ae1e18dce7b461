/**
 * The first SIGINT or SIGTERM, for the long-running commands (receiver,
 * ingest): take it before saying the command is ready, so a supervisor (or a
 * test) that stops it on that line gets a clean stop, not the default kill.
 */
export function stopRequested(): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      done(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
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
