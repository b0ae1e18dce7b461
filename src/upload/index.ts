/** Public face of the upload stage (U1–U3): package, sender, durable queue, uploader. */
export { buildPackage, encodeMetadata, idempotencyKey, sha256Hex } from './package.js';
export type { PackageCrop, PackageInput, PackageMetadata, PackageTrackEntry, UploadPackage, UploadRoute } from './package.js';
export { compilePackageValidator, formatViolations, loadPackageSchema, validatePackageMetadata, PACKAGE_SCHEMA_ID, PACKAGE_SCHEMA_FILE } from './schema.js';
export { compileJsonSchema, compileSchemaFile, type JsonSchema, type SchemaViolation, type Validator } from '../json-schema.js';
export { encodeMultipart, type EncodedMultipart } from './multipart.js';
export { UPLOAD_CONTENTS, cropTrackIds, packageParts, type PackagePart, type UploadContent } from './content.js';
export { HttpSender, classifyStatus, parseRetryAfter } from './sender.js';
export type { PackageSender, SendErrorKind, SendResult, SenderOptions } from './sender.js';
export { backoffCapMs, backoffDelayMs, resolveBackoff, type BackoffOptions, type ResolvedBackoff } from './backoff.js';
export { PackageQueue, QUEUE_SCHEMA_VERSION } from './queue.js';
export type { DeadLetter, EnqueueResult, QueueCounters, QueueOptions, QueueRecovery, QueuedPackage, SynchronousMode } from './queue.js';
export { Uploader } from './uploader.js';
export type { RetryEvent, SentEvent, UploaderEvents, UploaderOptions, UploaderStats } from './uploader.js';
// Sinks load the S3 SDK and MQTT.js: import them from './sinks/index.js' (the service does so lazily).
export type { SinkOptions, ImageRef, PackageEvent } from './sinks/index.js';
