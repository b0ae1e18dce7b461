/**
 * The mqtt sink: one MQTT 5 message per package (QoS 1, not retained) on a
 * topic built from a template (default `bestshot/{site}/{camera}/objects`),
 * payload the package event (schemas/event.v1.json, CloudEvents 1.0
 * structured mode, id = idempotency key, U3). A package counts as sent
 * only on a successful PUBACK (U1/U2: it leaves the queue only then).
 *
 * Failure classes, as the HTTP sender's (U2): not connected, a connection
 * lost before the PUBACK or no PUBACK within ackTimeoutMs → retryable
 * (the durable queue keeps the package; a late PUBACK of the same event
 * only makes a duplicate the consumer drops by id); PUBACK reason codes
 * ≥ 0x80 → retryable for the transient ones (quota exceeded, server busy,
 * rate too high, unspecified, implementation specific), permanent for the
 * rest (not authorized, topic name invalid, payload format invalid, packet
 * too large). With `requireSubscriber`, PUBACK 0x10 "no matching
 * subscribers" is retryable: the broker would have dropped the event.
 * The client connects in the background and reconnects by itself; a send
 * while it is down fails at once, so capture never waits for the broker.
 */
import { hostname } from 'node:os';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { invalidParameterError } from '../../errors.js';
import type { UploadPackage } from '../package.js';
import type { PackageSender, SendResult } from '../sender.js';
import { EVENT_CONTENT_TYPE, buildEvent, encodeEvent, localImageRef, type ImageRef } from './event.js';

export const DEFAULT_TOPIC = 'bestshot/{site}/{camera}/objects';

export interface MqttSinkOptions {
  /** Broker URL: mqtt://, mqtts:// (TLS), ws:// or wss://, e.g. mqtts://broker.example:8883. */
  url: string;
  /** Topic template; {site} and {camera} are replaced. Default 'bestshot/{site}/{camera}/objects'. */
  topic?: string;
  /** Site (fleet location) of this unit: in the topic, the event source and `bestshotsite`. Default 'default'. */
  site?: string;
  /** MQTT client id; must be unique per unit. Default 'bestshot-<site>-<hostname>'. */
  clientId?: string;
  username?: string;
  password?: string;
  /** PEM CA certificate(s) for mqtts/wss. */
  ca?: string | Buffer;
  /** PEM client certificate (AWS IoT Core, mTLS brokers); requires `key`. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Keep-alive interval, s. Default 30; lower notices a dead link sooner, costs a ping per interval. */
  keepaliveS?: number;
  /** Time allowed for the CONNECT, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Time allowed for a PUBACK, ms. Default 10000. Too low turns slow acks into duplicates (dropped by id). */
  ackTimeoutMs?: number;
  /** Delay between reconnect attempts, ms. Default 1000. */
  reconnectPeriodMs?: number;
  /**
   * PUBACK 0x10 "no matching subscribers" is retried instead of counted as
   * sent. Default true: nothing is lost while no consumer session exists.
   * Turn off for brokers whose consumers are not MQTT subscribers (AWS IoT
   * rules, EMQX rule engine / Kafka bridge).
   */
  requireSubscriber?: boolean;
  /**
   * mqtt sink alone (no object store): put the JPEG in the event as base64;
   * a package whose JPEG is larger is refused (a dead letter, status 0x95),
   * not published without it. Default 0 = never: events only, carrying
   * sha256/bytes/size and no image (the service warns). Keep well under the
   * broker's maximum packet size (mosquitto default 256 MiB, AWS IoT Core 128 KiB).
   */
  inlineImageMaxBytes?: number;
}

const TRANSIENT_REASONS = new Set([0x80, 0x83, 0x89, 0x96, 0x97]);
/** MQTT 5 reason code 0x95 "packet too large": the broker's own, and this sink's for an image over inlineImageMaxBytes. */
export const PACKET_TOO_LARGE = 0x95;

/** The topic of a package: the template with {site} and {camera} filled in. */
export function topicFor(template: string, site: string, cameraId: string): string {
  return template.replaceAll('{site}', site).replaceAll('{camera}', cameraId);
}

function checkTemplate(t: string): string {
  if (typeof t !== 'string' || t.length === 0 || /[+#]/.test(t) || t.includes(String.fromCharCode(0)) || t.startsWith('$') || /\{(?!site\}|camera\})/.test(t)) {
    throw invalidParameterError("MQTT topic without wildcards, '$' prefix or placeholders other than {site} and {camera}", 'topic', t);
  }
  return t;
}

/** What a broker URL must be, in the words of the messages. */
export const BROKER_URL = 'mqtt://, mqtts://, ws:// or wss:// URL';

/**
 * A URL MQTT.js can reach a broker at: one of its schemes and a host.
 * MQTT.js does not refuse another scheme (it speaks MQTT over plain TCP to
 * an http:// URL), so a mistyped URL would only ever look like a broker down.
 */
export function isBrokerUrl(url: unknown): url is string {
  if (typeof url !== 'string' || !/^(mqtts?|wss?):\/\//.test(url)) return false;
  try {
    return new URL(url).hostname !== '';
  } catch {
    return false;
  }
}

/**
 * An error of MQTT.js's packet parser: the server answered with bytes that
 * are no MQTT packet (a web server, SSH, a database on the port). Its own
 * words ('Invalid header flag bits, must be 0x0 for puback packet') would
 * send an operator looking for an MQTT fault; they carry no code, and are
 * made in mqtt-packet's parser. The reason a failed connection is said with.
 */
export function mqttConnectFailure(err: Error): string {
  const parserError = (err as Error & { code?: unknown }).code === undefined && /[\\/]mqtt-packet[\\/]/.test(err.stack ?? '');
  if (!parserError) return err.message;
  return `the server there does not speak MQTT (its answer is no MQTT packet: ${err.message}): check the host and port of the broker URL (MQTT listens on 1883, TLS on 8883)`;
}

export class MqttSink implements PackageSender {
  readonly topic: string;
  readonly site: string;
  readonly client: MqttClient;
  readonly clientId: string;
  readonly #ackTimeoutMs: number;
  readonly #requireSubscriber: boolean;
  readonly #inlineMax: number;
  /** The connection's last error (a refusal by the broker: not authorised), until it connects. */
  #lastError: string | undefined;

  constructor(options: MqttSinkOptions) {
    if (!isBrokerUrl(options?.url)) throw invalidParameterError(BROKER_URL, 'url', options?.url);
    if ((options.cert === undefined) !== (options.key === undefined)) {
      throw new TypeError('Expected both cert and key for a client certificate (mTLS) but received only one');
    }
    this.site = options.site ?? 'default';
    if (!/^[A-Za-z0-9_-]+$/.test(this.site)) throw invalidParameterError('site matching /^[A-Za-z0-9_-]+$/', 'site', this.site);
    this.topic = checkTemplate(options.topic ?? DEFAULT_TOPIC);
    this.#ackTimeoutMs = options.ackTimeoutMs ?? 10000;
    this.#requireSubscriber = options.requireSubscriber ?? true;
    this.#inlineMax = options.inlineImageMaxBytes ?? 0;
    this.clientId = options.clientId ?? `bestshot-${this.site}-${hostname()}`;
    const opts: IClientOptions = {
      protocolVersion: 5,
      clientId: this.clientId,
      clean: true,
      keepalive: options.keepaliveS ?? 30,
      connectTimeout: options.connectTimeoutMs ?? 5000,
      reconnectPeriod: options.reconnectPeriodMs ?? 1000,
      // Nothing is buffered by MQTT.js while offline: the durable queue is the buffer (U2).
      queueQoSZero: false,
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      ...(options.ca !== undefined ? { ca: options.ca } : {}),
      ...(options.cert !== undefined ? { cert: options.cert, key: options.key } : {}),
    };
    this.client = mqtt.connect(options.url, opts);
    // Connection errors are reported per send (retryable), with the broker's last reason: a refusal
    // (not authorised, a bad client id) must not read as a broker that is down. Without a listener
    // MQTT.js would throw.
    this.client.on('error', (err) => {
      this.#lastError = mqttConnectFailure(err);
    });
    this.client.on('connect', () => {
      this.#lastError = undefined;
    });
    // A DISCONNECT from the broker is no 'error': without its reason code a unit whose session
    // another client keeps taking over (the same clientId: cloned units share a hostname, and
    // the default clientId is built from it) only ever read "not connected", flapping for ever.
    this.client.on('disconnect', (packet) => {
      const rc = packet.reasonCode ?? 0;
      if (rc === 0x8e) {
        this.#lastError = `session taken over: another client connected with clientId '${this.clientId}'; each unit needs a clientId of its own (the default is built from the hostname, the same on cloned units)`;
      } else if (rc !== 0) {
        this.#lastError = `broker disconnected this unit: reason 0x${rc.toString(16)}${packet.properties?.reasonString ? ` (${packet.properties.reasonString})` : ''}`;
      }
    });
    this.client.setMaxListeners(64);
  }

  /** Publish the event of `pkg` with the given image reference; resolves on PUBACK (or a failure). */
  publish(pkg: UploadPackage, image: ImageRef, signal?: AbortSignal): Promise<SendResult> {
    const started = performance.now();
    const elapsed = (): number => performance.now() - started;
    if (!this.client.connected) {
      const why = this.#lastError !== undefined ? ` (${this.#lastError})` : '';
      return Promise.resolve({ kind: 'retryable', errorKind: 'network', reason: `MQTT broker not connected${why}`, durationMs: 0 });
    }
    if (signal?.aborted) return Promise.resolve({ kind: 'retryable', errorKind: 'network', reason: 'aborted', durationMs: 0 });
    const topic = topicFor(this.topic, this.site, pkg.metadata.cameraId);
    const payload = encodeEvent(buildEvent(pkg, this.site, image));
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const finish = (r: SendResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.client.off('close', onClose);
        resolve(r);
      };
      const onAbort = (): void => finish({ kind: 'retryable', errorKind: 'network', reason: 'aborted', durationMs: elapsed() });
      const onClose = (): void => {
        const why = this.#lastError !== undefined ? ` (${this.#lastError})` : '';
        finish({ kind: 'retryable', errorKind: 'network', reason: `MQTT connection lost before PUBACK${why}`, durationMs: elapsed() });
      };
      const timer = setTimeout(
        () => finish({ kind: 'retryable', errorKind: 'timeout', reason: `MQTT PUBACK timeout after ${this.#ackTimeoutMs} ms`, durationMs: elapsed() }),
        this.#ackTimeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      this.client.once('close', onClose);
      this.client.publish(
        topic,
        payload,
        {
          qos: 1,
          retain: false,
          properties: { contentType: EVENT_CONTENT_TYPE, payloadFormatIndicator: true, userProperties: { 'ce-id': pkg.idempotencyKey } },
        },
        (err, packet) => {
          if (err) {
            const code = (err as Error & { code?: number }).code;
            if (typeof code === 'number') {
              const reason = `MQTT PUBACK 0x${code.toString(16)}: ${err.message}`;
              if (TRANSIENT_REASONS.has(code)) return finish({ kind: 'retryable', errorKind: 'broker', status: code, reason, durationMs: elapsed() });
              return finish({ kind: 'permanent', errorKind: 'broker', status: code, reason, durationMs: elapsed() });
            }
            return finish({ kind: 'retryable', errorKind: 'network', reason: `MQTT ${err.message}`, durationMs: elapsed() });
          }
          const rc = (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
          if (rc === 0x10 && this.#requireSubscriber) {
            return finish({ kind: 'retryable', errorKind: 'broker', status: rc, reason: 'MQTT PUBACK 0x10: no matching subscribers (no consumer session would get the event)', durationMs: elapsed() });
          }
          finish({ kind: 'ok', status: 200, body: JSON.stringify({ topic, reasonCode: rc }), durationMs: elapsed() });
        },
      );
    });
  }

  send(pkg: UploadPackage, signal?: AbortSignal): Promise<SendResult> {
    const ref = localImageRef(pkg);
    if (this.#inlineMax > 0) {
      // Inline mode: the event is the only place the image goes. One larger than the cap used to go
      // out without it, acknowledged and counted delivered, the JPEG gone from the queue: a dead
      // letter keeps it (U2) until the cap is raised or the sink is s3+mqtt (`bestshot queue resend-dead`).
      if (pkg.jpeg.length > this.#inlineMax) {
        return Promise.resolve({
          kind: 'permanent',
          errorKind: 'broker',
          status: PACKET_TOO_LARGE,
          reason: `image of ${pkg.jpeg.length} bytes over upload.sink.inlineImageMaxBytes (${this.#inlineMax}): not published, the event would go without it`,
          durationMs: 0,
        });
      }
      ref.inlineBase64 = pkg.jpeg.toString('base64');
    }
    return this.publish(pkg, ref, signal);
  }

  /** Disconnect (in-flight publishes are abandoned; their packages stay queued). */
  close(): void {
    this.client.end(true);
  }
}
