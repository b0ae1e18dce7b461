/** The config's public face: one YAML file configures every stage (docs/config.md, STYLE 5). */
export {
  parseConfig,
  loadConfig,
  loadDemoConfig,
  defaultConfig,
  defaultCamera,
  defaultModelPath,
  missingRecordings,
  refuseMissingRecording,
  unsupportedRecordings,
  parseYaml,
  readConfigText,
  MAX_CONFIG_BYTES,
  interpolateEnv,
  deepMerge,
  inheritDefaults,
  ConfigValidationError,
  DEMO_CONFIG_PATH,
  type ParseOptions,
  type LoadedConfig,
} from './load.js';
export { redact, REDACTED } from './redact.js';
export { migrate, MIGRATIONS, type Migration } from './migrations.js';
export {
  verifyConfig,
  verifyCamera,
  verifyUniqueCameraIds,
  verifyExposure,
  verifyScoreOrder,
  verifyEdgeOrder,
  verifyTrackerThresholds,
  verifyCalibration,
  verifyPerClassScore,
  verifyUploadEndpoint,
  verifyContentForSink,
  verifyMqttImages,
  verifyTlsPair,
  verifyToken,
  verifyTokenTransport,
  verifyPorts,
  verifyQueueCapacity,
  verifyQueueHoldsInFlight,
  verifyPolicyOptions,
  type Finding,
} from './verify.js';
export { CONFIG_SCHEMA, CURRENT_VERSION, CAMERA_ID_PATTERN } from './sections.js';
export { parseBytes, schemaRows, describeField, describeDefault, type Field, type ConfigIssue } from './schema.js';
export { renderSchemaMarkdown } from './docs.js';
export type * from './types.js';
export { detectorOptions, trackerOptions, policyOptions, senderOptions, sinkOptions, queueOptions, uploaderOptions, tlsFileProblems } from './adapters.js';
