/** Public face of the fleet consumer (`bestshot ingest`): shared-subscription consumer and its idempotent index. */
export { IngestConsumer, type IngestEvents, type IngestOptions, type IngestStats, type VerifyMode } from './consumer.js';
export { SqliteIngestIndex, type IndexRow, type IngestIndex } from './index-store.js';
