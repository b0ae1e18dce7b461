/**
 * Child of `npm run bench -- fleet`: simulates a slice of the fleet's units
 * in one process. Each unit has its own MQTT connection (client id
 * bench-<unit>) and its own s3+mqtt sink (the S3 client is shared by the
 * process, as one HTTP agent per box would be); it produces packages of real
 * roadside JPEGs at `rate` per second (random phase) and delivers them one
 * at a time like the uploader's drain, retrying with back-off until
 * acknowledged (U2: nothing dropped). Writes, per package, its key and the
 * times it was created and acknowledged.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { buildPackage, type UploadPackage } from '../../src/upload/index.js';
import { MqttSink, S3MqttSink, S3Sink, s3ClientConfig } from '../../src/upload/sinks/index.js';

interface Args {
  broker: string;
  s3: string;
  bucket: string;
  units: string[];
  rate: number;
  durationS: number;
  out: string;
  images: string[];
}

const a = JSON.parse(process.argv[2]!) as Args;
const jpegs = a.images.map((p) => readFileSync(p));
const s3 = new S3Client({ ...s3ClientConfig({ endpoint: a.s3, forcePathStyle: true, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', requestTimeoutMs: 20000 }) });
const now = (): number => performance.timeOrigin + performance.now();

function pkgFor(unit: string, imageId: number): UploadPackage {
  const jpeg = jpegs[imageId % jpegs.length]!;
  const ts = BigInt(Math.round(now())) * 1_000_000n;
  return buildPackage({
    cameraId: unit,
    imageId,
    timestampNs: ts,
    width: 1280,
    height: 720,
    exposure: { mode: 'manual', exposureTimeUs: 1000, gain: 4 },
    cameraPosition: { lat: 48.1371, lon: 11.5754, alt: 519.5, heading: 92.5 },
    jpeg,
    tracks: [
      {
        trackId: imageId % 97,
        entry: {
          timestampNs: ts,
          imageId,
          exposureMode: 'manual',
          cameraPosition: { lat: 48.1371, lon: 11.5754, alt: 519.5, heading: 92.5 },
          box: { cx: 640, cy: 360, w: 200, h: 120, angle: 0, classId: 2, label: 'car', score: 0.9 },
          worldPosition: { lat: 48.13712, lon: 11.57551, alt: 519.5, east: 3.5, north: 12.25 },
        },
      },
    ],
    selection: { route: 'immediate', trackIds: [imageId % 97], policy: 'baseline' },
  });
}

const records: Array<[string, number, number, number, number]> = []; // key, created, acked, attempts, first send started
let failures = 0;
const reasons: Record<string, number> = {};
const sinks: S3MqttSink[] = [];

async function unit(name: string): Promise<void> {
  const sink = new S3MqttSink({
    s3: new S3Sink({ bucket: a.bucket, prefix: 'bench', client: s3 }),
    mqtt: new MqttSink({ url: a.broker, site: 'bench', clientId: `bench-${name}`, ackTimeoutMs: 20000, reconnectPeriodMs: 500 }),
  });
  sinks.push(sink);
  await new Promise<void>((r) => (sink.mqtt.client.connected ? r() : sink.mqtt.client.once('connect', () => r())));
  const period = 1000 / a.rate;
  const start = now() + Math.random() * period;
  const end = start + a.durationS * 1000;
  const backlog: Array<{ pkg: UploadPackage; created: number }> = [];
  let imageId = 0;
  let next = start;
  // Until every package of the run was produced (catch-up after a slow send) and acknowledged.
  while (next < end || backlog.length > 0) {
    while (next <= now() && next < end) {
      backlog.push({ pkg: pkgFor(name, imageId++), created: next });
      next += period;
    }
    const head = backlog[0];
    if (!head) {
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(next, end) - now())));
      continue;
    }
    let attempts = 0;
    let delay = 100;
    const sendStart = now();
    for (;;) {
      attempts++;
      const r = await sink.send(head.pkg);
      if (r.kind === 'ok') break;
      failures++;
      const why = r.reason.replace(/[0-9]+/g, 'N').slice(0, 80);
      reasons[why] = (reasons[why] ?? 0) + 1;
      if (r.kind === 'permanent') throw new Error(r.reason);
      await new Promise((res) => setTimeout(res, delay));
      delay = Math.min(delay * 2, 2000);
    }
    records.push([head.pkg.idempotencyKey, head.created, now(), attempts, sendStart]);
    backlog.shift();
  }
}

await Promise.all(a.units.map((u) => unit(u)));
for (const s of sinks) s.mqtt.close();
s3.destroy();
writeFileSync(a.out, JSON.stringify({ records, failures, reasons }));
process.exit(0);
