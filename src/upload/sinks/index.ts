/**
 * Sinks: how a package leaves (U1/U2 decide what and when, unchanged). Every
 * sink is a PackageSender — send() answers ok / retryable / permanent as the
 * HTTP sender does, so back-off and dead letters work the same for all:
 *   http     multipart POST to a receiver (src/upload/sender.ts)
 *   s3       JPEG + JSON sidecar PUT to an S3-compatible bucket
 *   mqtt     an MQTT 5 CloudEvent per package
 *   s3+mqtt  object first, event after; sent when both are acknowledged
 */
import { HttpSender, type PackageSender, type SenderOptions } from '../sender.js';
import { MqttSink, type MqttSinkOptions } from './mqtt.js';
import { S3MqttSink } from './s3-mqtt.js';
import { S3Sink, type S3SinkOptions } from './s3.js';

export type SinkOptions =
  | ({ type: 'http' } & SenderOptions)
  | ({ type: 's3' } & S3SinkOptions)
  | ({ type: 'mqtt' } & MqttSinkOptions)
  | { type: 's3+mqtt'; s3: S3SinkOptions; mqtt: MqttSinkOptions };

export function createSink(options: SinkOptions): PackageSender {
  switch (options.type) {
    case 'http':
      return new HttpSender(options);
    case 's3':
      return new S3Sink(options);
    case 'mqtt':
      return new MqttSink(options);
    case 's3+mqtt':
      return new S3MqttSink({ s3: options.s3, mqtt: options.mqtt });
    default:
      throw new TypeError(`Expected sink type 'http', 's3', 'mqtt' or 's3+mqtt' but received ${JSON.stringify((options as { type?: unknown })?.type)}`);
  }
}

export { HttpSender };
export { MqttSink, BROKER_URL, DEFAULT_TOPIC, isBrokerUrl, topicFor, type MqttSinkOptions } from './mqtt.js';
export { S3Sink, classifyS3Error, objectKeys, s3ClientConfig, type S3SinkOptions, type StoreResult } from './s3.js';
export { S3MqttSink, type S3MqttSinkOptions } from './s3-mqtt.js';
export {
  EVENT_CONTENT_TYPE,
  EVENT_SCHEMA_FILE,
  EVENT_SCHEMA_URI,
  EVENT_TYPE,
  buildEvent,
  encodeEvent,
  localImageRef,
  rfc3339FromNs,
  validateEvent,
  type ImageRef,
  type PackageEvent,
} from './event.js';
