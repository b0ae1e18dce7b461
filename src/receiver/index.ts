/** Public face of the reference receiver (U1–U3). */
export { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONCURRENT_UPLOADS, DEFAULT_STOP_DRAIN_MS, startReceiver } from './server.js';
export type { Receiver, ReceiverOptions, ReceiverStats, ReceiverTestFaults, ReceiverTlsOptions, StoredPackage } from './server.js';
