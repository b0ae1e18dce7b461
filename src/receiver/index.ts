/** Public face of the reference receiver (U1–U3). */
export { startReceiver } from './server.js';
export type { Receiver, ReceiverOptions, ReceiverStats, ReceiverTestFaults, ReceiverTlsOptions, StoredPackage } from './server.js';
