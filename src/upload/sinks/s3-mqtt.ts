/**
 * The s3+mqtt sink, the usual fleet shape (claim check): the object first,
 * the event after the object is stored. A package is sent — and leaves the
 * queue (U2) — only when both are acknowledged: the PUTs' 200 and the PUBACK.
 * So no event ever names an object that is not there, and a crash between
 * the two re-sends both; the re-PUT writes the same key with the same bytes
 * and the event has the same id (U3).
 *
 * Objects already stored by this process are remembered (bounded), so a
 * retry after an MQTT failure does not PUT the bytes again; it HEADs the
 * object first (size, stored sha256) and PUTs again at once when the key no
 * longer holds those bytes, since the event promises them (U3). The first
 * attempt needs no such check: S3Sink.store reads each object back after
 * its PUTs.
 */
import type { UploadPackage } from '../package.js';
import type { PackageSender, SendResult } from '../sender.js';
import type { ImageRef } from './event.js';
import { MqttSink, type MqttSinkOptions } from './mqtt.js';
import { classifyS3Error, S3Sink, type S3SinkOptions } from './s3.js';

export interface S3MqttSinkOptions {
  s3: S3SinkOptions | S3Sink;
  mqtt: MqttSinkOptions | MqttSink;
  /** How many stored-but-not-yet-announced objects to remember. Default 256. */
  rememberStored?: number;
}

export class S3MqttSink implements PackageSender {
  readonly s3: S3Sink;
  readonly mqtt: MqttSink;
  readonly #owns: { s3: boolean; mqtt: boolean };
  readonly #stored = new Map<string, ImageRef>();
  readonly #remember: number;

  constructor(options: S3MqttSinkOptions) {
    this.#owns = { s3: !(options.s3 instanceof S3Sink), mqtt: !(options.mqtt instanceof MqttSink) };
    this.s3 = options.s3 instanceof S3Sink ? options.s3 : new S3Sink(options.s3);
    try {
      this.mqtt = options.mqtt instanceof MqttSink ? options.mqtt : new MqttSink(options.mqtt);
    } catch (err) {
      if (this.#owns.s3) this.s3.close();
      throw err;
    }
    this.#remember = options.rememberStored ?? 256;
  }

  async send(pkg: UploadPackage, signal?: AbortSignal): Promise<SendResult> {
    const started = performance.now();
    let ref = this.#stored.get(pkg.idempotencyKey);
    if (ref !== undefined) {
      let problem: string | undefined;
      try {
        problem = await this.s3.checkStored(ref, signal);
      } catch (err) {
        return classifyS3Error(err, performance.now() - started);
      }
      if (problem !== undefined) {
        this.#stored.delete(pkg.idempotencyKey);
        ref = undefined;
      }
    }
    if (ref === undefined) {
      const stored = await this.s3.store(pkg, signal);
      if (stored.kind !== 'ok') return stored; // no event before its object
      ref = stored.ref;
      this.#stored.set(pkg.idempotencyKey, ref);
      if (this.#stored.size > this.#remember) this.#stored.delete(this.#stored.keys().next().value as string);
    }
    const r = await this.mqtt.publish(pkg, ref, signal);
    if (r.kind === 'ok') {
      this.#stored.delete(pkg.idempotencyKey);
      return { ...r, body: JSON.stringify({ bucket: ref.bucket, key: ref.key, ...(JSON.parse(r.body) as object) }), durationMs: performance.now() - started };
    }
    return r;
  }

  close(): void {
    if (this.#owns.mqtt) this.mqtt.close();
    if (this.#owns.s3) this.s3.close();
  }
}
