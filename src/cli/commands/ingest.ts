/** `bestshot ingest`: the fleet consumer (MQTT 5 shared subscription → verify object → idempotent index). */
import { dirname, resolve } from 'node:path';
import type { Command } from '../commands.js';
import { UsageError } from '../../errors.js';
import { IngestConsumer, SqliteIngestIndex, type VerifyMode } from '../../ingest/index.js';
import { maskUrlCredentials, routeProcessWarnings } from '../../log.js';
import { BROKER_URL, isBrokerUrl } from '../../upload/sinks/index.js';
import { numberArg, parseArgs, writableFolder } from '../args.js';
import { stopRequested } from '../signals.js';
import { readTlsFiles, secretFileReadableByAll } from '../../tls-files.js';

/**
 * The index, its folder created as `receiver --dir`'s is; one SQLite cannot open is a usage error
 * naming the file (better-sqlite3 says "Cannot open database because the directory does not exist").
 */
function openIndex(path: string): SqliteIngestIndex {
  writableFolder(dirname(path), '--index');
  try {
    return new SqliteIngestIndex(path);
  } catch (err) {
    throw new UsageError(`cannot open the index ${path} (${(err as Error).message}): choose another --index`);
  }
}

const usage = `Usage: bestshot ingest --broker <url> --index <file.sqlite> [options]

Fleet consumer: subscribes to package events (CloudEvents, schemas/event.v1.json)
on the MQTT 5 shared subscription $share/<group>/<topic>, validates each
event, verifies the object it names in the S3-compatible store (GET and
sha256 by default), and writes one row per idempotency key to an SQLite
index (INSERT OR IGNORE). Run several processes with the same --group and
different --client-id to share the load; an event is acknowledged only after
it is indexed, so a killed consumer loses nothing (its session is persistent).

Options:
  --broker <url>          mqtt://, mqtts://, ws:// or wss:// broker URL (required)
  --index <file>          SQLite index file, shared by the processes of a node (required;
                          its folder is created when missing)
  --group <name>          shared-subscription group (default bestshot-ingest)
  --topic <filter>        topic filter (default bestshot/+/+/objects)
  --client-id <id>        client id prefix, unique per process, stable across
                          restarts (default bestshot-ingest-<hostname>)
  --connections <n>       MQTT sessions of this process, events processed one
                          at a time per session (default 4)
  --session-expiry-s <s>  how long the broker keeps a stopped consumer's queue (default 3600)
  --username <u>          MQTT username; password from env BESTSHOT_MQTT_PASSWORD
  --ca <pem>              CA for mqtts/wss
  --cert <pem>            client certificate (mTLS) ...
  --key <pem>             ... and its key
  --s3-endpoint <url>     S3-compatible endpoint (default: AWS S3); credentials
                          as the AWS SDK resolves them (AWS_ACCESS_KEY_ID, profile, instance role);
                          while the store refuses them, events wait on the broker, none rejected
  --s3-region <r>         region (default us-east-1)
  --s3-path-style         path-style addressing (MinIO, Ceph RGW, s3rver)
  --verify <mode>         get (fetch + sha256, default), head (size + stored sha256) or none
  --verify-timeout-ms <n> how long a missing/unreachable object is retried before the
                          event is rejected (default 30000)
  --max-event-bytes <n>   events larger than this are rejected unread (default 1048576;
                          raise it for inline images over ~700 KB)
  --reconcile-bucket <b>  also index every package stored in bucket b (its JSON sidecar)
                          that no event brought: at start, then every --reconcile-interval-s
  --reconcile-prefix <p>  only keys under this prefix
  --reconcile-interval-s <s>  (default 300; 0 = at start only)
  --stats-interval-s <s>  print a stats line every s seconds (default 0 = never)

Prints "ingest subscribed to <filter>" once ready; while the broker cannot be
reached, "ingest: waiting for the broker at <url>: <reason>" on stderr at once
and every minute, and "ingest: connected to the broker …" when it is back;
the same for a store that refuses the consumer's credentials ("ingest: the
object store refuses this consumer: …", with what to fix).
On SIGINT/SIGTERM closes and prints the final stats as one JSON line; SIGHUP
(the terminal closed, or kill -HUP) does the same, saying so: there is
nothing to reload. A second signal while it stops exits at once (exit 1),
saying so, without the stats line; events not yet acknowledged are delivered
again.`;

export const command: Command = {
  summary: 'fleet consumer: MQTT shared subscription → verify S3 object → idempotent SQLite index',
  usage,
  async run(argv: string[]): Promise<number> {
    const { values } = parseArgs({
      args: argv,
      options: {
        broker: { type: 'string' },
        index: { type: 'string' },
        group: { type: 'string', default: 'bestshot-ingest' },
        topic: { type: 'string', default: 'bestshot/+/+/objects' },
        'client-id': { type: 'string' },
        connections: { type: 'string' },
        'session-expiry-s': { type: 'string' },
        username: { type: 'string' },
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        's3-endpoint': { type: 'string' },
        's3-region': { type: 'string' },
        's3-path-style': { type: 'boolean', default: false },
        verify: { type: 'string', default: 'get' },
        'verify-timeout-ms': { type: 'string' },
        'max-event-bytes': { type: 'string' },
        'stats-interval-s': { type: 'string' },
        'reconcile-bucket': { type: 'string' },
        'reconcile-prefix': { type: 'string' },
        'reconcile-interval-s': { type: 'string' },
      },
      strict: true,
    });
    if (!values.broker || !values.index) {
      console.error(`bestshot ingest: --broker and --index are required\n\n${usage}`);
      return 2;
    }
    // Checked before connecting: MQTT.js would take an http:// URL and wait on it for ever.
    if (!isBrokerUrl(values.broker)) throw new UsageError(`Expected ${BROKER_URL} for --broker but received '${values.broker}'`);
    if (!['get', 'head', 'none'].includes(values.verify!)) throw new UsageError(`Expected one of 'get', 'head', 'none' for --verify but received '${values.verify}'`);
    if ((values.cert === undefined) !== (values.key === undefined)) {
      console.error('bestshot ingest: --cert and --key go together');
      return 2;
    }
    // Checked before connecting: a CA file with no certificate would make every handshake fail for
    // ever ("unable to verify the first certificate"), a key not the certificate's at each connection.
    const tls = readTlsFiles({ ca: values.ca, cert: values.cert, key: values.key }, ({ which, message }) => {
      throw new UsageError(`--${which}: ${message}`);
    });
    // The client key at the umask's 0644 is read by every local account: said as `bestshot run` says it of its key and token files.
    const readable = values.key === undefined ? undefined : secretFileReadableByAll(values.key);
    if (readable !== undefined) console.error(`ingest: warning: --key: ${readable}`);
    // A library's process warning (the AWS SDK's multi-line Node-version notice) as one line, like ingest's own.
    routeProcessWarnings({ warn: (message, fields) => console.error(`ingest: warning: ${message}${fields?.detail ? ` ${String(fields.detail)}` : ''}`) });
    // Every number checked before the index is opened: a usage error creates no file or folder.
    const connections = numberArg('positive integer', 'connections', values.connections, 4);
    const sessionExpiryS = numberArg('non-negative integer', 'session-expiry-s', values['session-expiry-s'], 3600);
    const verifyTimeoutMs = numberArg('positive integer', 'verify-timeout-ms', values['verify-timeout-ms'], 30000);
    const maxEventBytes = numberArg('positive integer', 'max-event-bytes', values['max-event-bytes'], 1024 * 1024);
    const reconcileEveryS = numberArg('non-negative integer', 'reconcile-interval-s', values['reconcile-interval-s'], 300);
    const statsEveryS = numberArg('non-negative integer', 'stats-interval-s', values['stats-interval-s'], 0);
    const index = openIndex(resolve(values.index));
    const broker = maskUrlCredentials(values.broker);
    const listen = (consumer: IngestConsumer): void => {
      // Said once per distinct message: a protocol error repeating on every reconnect would flood the log.
      let lastError = '';
      consumer.on('error', (err) => {
        if (err.message !== lastError) console.error(`ingest: ${err.message}`);
        lastError = err.message;
      });
      // A broker down or mistyped is said at once and every minute (the consumer paces it), never a silent wait.
      consumer.on('waiting', ({ reason, forMs }) => {
        if (forMs === 0) console.error(`ingest: waiting for the broker at ${broker}: ${reason}`);
        else console.error(`ingest: still waiting for the broker at ${broker} after ${Math.round(forMs / 1000)} s: ${reason}`);
      });
      consumer.on('connected', ({ afterMs }) => console.error(`ingest: connected to the broker at ${broker} after ${Math.round(afterMs / 1000)} s of waiting`));
      // Credentials the store refuses are this consumer's fault, not the events': said once (then every
      // minute) with what to fix; the events wait unacknowledged on the broker, none is rejected for it.
      consumer.on('denied', ({ reason, forMs }) => {
        if (forMs === 0) console.error(`ingest: the object store refuses this consumer: ${reason}; events wait unacknowledged on the broker, retried (none is rejected for it)`);
        else console.error(`ingest: the object store still refuses this consumer after ${Math.round(forMs / 1000)} s: ${reason}`);
      });
      consumer.on('allowed', ({ afterMs }) => console.error(`ingest: the object store accepts this consumer again after ${Math.round(afterMs / 1000)} s`));
      consumer.on('rejected', (r) => console.error(`ingest: rejected ${r.id ?? '(no id)'}: ${r.reason}`));
    };
    // Handled from before the broker is reached: a stop while it waits for a broker that is down, or
    // sent on the 'subscribed' line, was the default kill (no stats line, no clean close).
    const stopped = stopRequested((line) => console.error(`ingest: ${line}`));
    let starting: IngestConsumer | undefined;
    const started = IngestConsumer.start({
      url: values.broker,
      group: values.group,
      topic: values.topic,
      ...(values['client-id'] !== undefined ? { clientId: values['client-id'] } : {}),
      connections,
      sessionExpiryS,
      ...(values.username !== undefined ? { username: values.username } : {}),
      ...(process.env.BESTSHOT_MQTT_PASSWORD ? { password: process.env.BESTSHOT_MQTT_PASSWORD } : {}),
      ...tls,
      s3: {
        ...(values['s3-endpoint'] !== undefined ? { endpoint: values['s3-endpoint'] } : {}),
        ...(values['s3-region'] !== undefined ? { region: values['s3-region'] } : {}),
        forcePathStyle: values['s3-path-style'],
      },
      verify: values.verify as VerifyMode,
      verifyTimeoutMs,
      maxEventBytes,
      index,
    }, (c) => {
      starting = c;
      listen(c);
    });
    const consumer = await Promise.race([started, stopped.then(() => undefined)]);
    if (consumer === undefined) {
      // Stopped before the broker was reached: nothing was received; the stats line as promised.
      const stats = starting?.stats();
      await starting?.close();
      console.error('ingest: stopped before the broker was reached');
      if (stats) console.log(JSON.stringify(stats));
      return 0;
    }
    console.log(`ingest subscribed to ${consumer.filter}`);
    const bucket = values['reconcile-bucket'];
    let reconciler: NodeJS.Timeout | undefined;
    if (bucket !== undefined) {
      const once = (): void => {
        consumer
          .reconcile(bucket, values['reconcile-prefix'])
          .then((r) => console.log(`ingest: reconcile ${JSON.stringify(r)}`))
          .catch((err: Error) => console.error(`ingest: reconcile failed: ${err.message}`));
      };
      once();
      if (reconcileEveryS > 0) reconciler = setInterval(once, reconcileEveryS * 1000);
    }
    const timer = statsEveryS > 0 ? setInterval(() => console.log(JSON.stringify(consumer.stats())), statsEveryS * 1000) : undefined;
    await stopped;
    if (timer) clearInterval(timer);
    if (reconciler) clearInterval(reconciler);
    const stats = consumer.stats();
    await consumer.close();
    console.log(JSON.stringify(stats));
    return 0;
  },
};
