/**
 * `bestshot run` with the mqtt sink alone against a real mosquitto: the event
 * is the only place an image can go (U1). With inlineImageMaxBytes 0 (the
 * default) every package left the queue as an event without its image,
 * counted "delivered", with no word; with a cap, an image over it was
 * published without the image all the same. Now the first is warned at start
 * and said in the summary, and the second is a dead letter (kept, with a
 * hint), never an event without its image.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import mqtt from 'mqtt';
import { SHARED_DIR } from '../../src/paths.js';
import { hasMosquitto, startMosquitto, type ServerProcess } from '../upload/fleet-servers.js';
import { writeRunConfig } from '../helpers/run-config.js';
import { builtCount, runToEnd } from '../helpers/run-to-end.js';

const CLIP = join(SHARED_DIR, 'data', 'traffic-clips', 'motorway-cctv.avi');
const dir = mkdtempSync(join(tmpdir(), 'bestshot-run-mqtt-images-'));
const servers: ServerProcess[] = [];
/** Among the clip's package JPEGs' sizes (17.1–19.4 KB): some fit, some do not. */
const INLINE_MAX = 18_200;

after(async () => {
  for (const s of servers) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

function writeConfig(name: string, brokerUrl: string, inline: number): string {
  return writeRunConfig(dir, {
    name: `${name}.yaml`,
    source: `{ type: file, path: ${CLIP} }`,
    upload: `drainTimeoutS: 10, sink: { type: mqtt, url: "${brokerUrl}", site: lab, clientId: run-${name}, inlineImageMaxBytes: ${inline} }`,
  });
}

interface ImageEvent {
  data: { image: { bytes: number; inlineBase64?: string } };
}

test('mqtt sink alone: inlineImageMaxBytes 0 is warned and said; an image over the cap is a dead letter, never an event without it', { skip: !hasMosquitto, timeout: 180_000 }, async () => {
  const broker = await startMosquitto(join(dir, 'mq'));
  servers.push(broker);
  // A consumer of the events (the sink waits for a subscriber: requireSubscriber).
  const events: ImageEvent[] = [];
  const consumer = mqtt.connect(broker.url, { protocolVersion: 5, clientId: 'run-mqtt-images-consumer' });
  consumer.on('message', (_topic, payload) => events.push(JSON.parse(payload.toString()) as ImageEvent));
  await new Promise<void>((resolve, reject) => consumer.once('connect', () => consumer.subscribe('bestshot/lab/+/objects', { qos: 1 }, (err) => (err ? reject(err) : resolve()))));
  try {
    // Events only: said at start (config warning) and in the summary.
    const eventsOnly = await runToEnd(writeConfig('no-inline', broker.url, 0));
    assert.equal(eventsOnly.code, 0, eventsOnly.stderr);
    const built = builtCount(eventsOnly.stdout);
    assert.match(eventsOnly.stderr, /upload\.sink\.inlineImageMaxBytes: 0: the mqtt sink alone sends events without their images/);
    assert.match(eventsOnly.stdout, new RegExp(`; ${built} delivered as events without their images \\(upload\\.sink\\.inlineImageMaxBytes 0\\)\\n`));
    assert.equal(events.length, built);
    assert.ok(events.every((e) => e.data.image.inlineBase64 === undefined));

    // Inline with a cap some frames exceed: those are dead letters, every published event carries its image.
    events.length = 0;
    const capped = await runToEnd(writeConfig('capped', broker.url, INLINE_MAX));
    assert.equal(capped.code, 0, capped.stderr);
    assert.doesNotMatch(capped.stderr, /events without their images/);
    const cappedBuilt = builtCount(capped.stdout);
    const dead = Number(/(\d+) dead-lettered/.exec(capped.stdout)?.[1]);
    const delivered = Number(/(\d+) delivered/.exec(capped.stdout)?.[1]);
    assert.ok(dead > 0 && delivered > 0, `the cap splits the clip's images: ${capped.stdout}`);
    assert.equal(dead + delivered, cappedBuilt, capped.stdout);
    assert.equal(events.length, delivered);
    for (const e of events) {
      assert.ok(e.data.image.inlineBase64 !== undefined && e.data.image.bytes <= INLINE_MAX, 'every event carries its image');
      assert.equal(Buffer.from(e.data.image.inlineBase64, 'base64').length, e.data.image.bytes);
    }
    assert.match(capped.stderr, /the event is too large \(MQTT 0x95 packet too large: the image over upload\.sink\.inlineImageMaxBytes, or the broker's message limit\): raise inlineImageMaxBytes/);
    assert.match(capped.stderr, /image of \d+ bytes over upload\.sink\.inlineImageMaxBytes \(18200\): not published/);
  } finally {
    consumer.end(true);
  }
});
