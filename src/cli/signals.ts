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
