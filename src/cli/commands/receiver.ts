/** `bestshot receiver`: the reference cloud receiver (U1–U3) as a process. */
import { join, resolve } from 'node:path';
import type { Command } from '../commands.js';
import { BestshotError, UsageError } from '../../errors.js';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_CONCURRENT_UPLOADS, DEFAULT_STOP_DRAIN_MS, startReceiver, type ReceiverTestFaults } from '../../receiver/index.js';
import { readTlsFiles } from '../../tls-files.js';
import { numberArg, parseArgs, writableFolder } from '../args.js';
import { stopRequested } from '../signals.js';

const usage = `Usage: bestshot receiver --dir <dir> [options]

Reference cloud receiver: accepts upload packages (POST /packages, multipart
"metadata" + "image"), checks the bearer token and the metadata schema,
stores image.jpg + metadata.json under <dir>/packages/<key>/ with an SQLite
index, answers a known Idempotency-Key with 200 {"duplicate":true}.
Serves GET /packages[?camera=<id>], /packages/<key>/image.jpg,
/packages/<key>/metadata.json, /browse, /stats and /healthz.

Options:
  --dir <dir>            storage directory (required)
  --port <n>             TCP port, 0 = any free port (default 8080)
  --host <addr>          listen address (default 127.0.0.1)
  --token <t>            bearer token required on requests (default: none;
                         env BESTSHOT_RECEIVER_TOKEN is used when set, and
                         is the better place: a command line is visible to
                         every local user in ps until the receiver hides it)
  --tls-cert <pem>       serve HTTPS with this certificate ...
  --tls-key <pem>        ... and key
  --tls-ca <pem>         CA for client certificates (mTLS)
  --require-client-cert  reject clients without a certificate signed by --tls-ca
                         (each refused handshake is logged with its reason)
  --max-body-bytes <n>   largest upload accepted, bytes (default ${DEFAULT_MAX_BODY_BYTES},
                         32 MiB); larger is answered 413 as soon as it crosses it
  --max-concurrent-uploads <n>
                         uploads read at once (default ${DEFAULT_MAX_CONCURRENT_UPLOADS}); more are
                         answered 503 with Retry-After and the edge retries.
                         An upload is written to disk as it arrives: memory
                         does not grow with the body size
  --max-packages <n>     keep the newest n packages: storing one more
                         removes the oldest (default: no limit; the store
                         grows until its disk is full, then answers 507 and
                         the edge keeps its packages queued)
  --stop-drain-s <s>     on a stop, how long the uploads in flight get to
                         finish and be answered before their connections
                         are cut (default ${DEFAULT_STOP_DRAIN_MS / 1000}; 0 cuts them at once)
  --quiet                no per-request log lines (they go to stdout, one
                         line each, control characters escaped; warnings
                         and errors go to stderr)

Test fault knobs (for fault tests only; POSTs numbered from 1):
  --test-cut-first <n>     cut the connection mid-upload for the first n POSTs
  --test-fail-first <n>    then answer n POSTs with --test-fail-status (503)
  --test-fail-status <s>   status of the failed answers
  --test-retry-after <v>   Retry-After header on the failed answers
  --test-delay-first <n>   answer the first n stored POSTs late ...
  --test-delay-ms <ms>     ... by this many ms
  --test-slow-store-first <n>  hold the first n stores between writing their
                               files and publishing them ...
  --test-slow-store-ms <ms>    ... this many ms (a slow disk's fsync)

GET /healthz (GET or HEAD, no token) answers 200 {"ok":true}, or 503
{"ok":false,"reason":…} while the store cannot take uploads (its packages
folder removed or not writable). Package folders without an index row (a
kill -9, an index moved aside) are indexed at start from their
metadata.json; an index file removed while running is made again.

Prints "receiver listening on <url>" once ready; stops on SIGINT/SIGTERM,
and on SIGHUP (the terminal closed, or kill -HUP) as on SIGTERM, saying so:
there is nothing to reload. On the stop it takes no new connections or
requests (503 on a kept-alive connection) and lets the uploads being
received or stored finish and be answered, for up to --stop-drain-s; then it cuts
their connections, rolls back the stores not yet published, and exits 0.
A second signal while it stops exits at once (exit 1), saying so. A package
being stored then is never left half-written in --dir: its files are
written to a temporary folder (removed at the next start) and renamed into
place whole; the edge, unanswered, sends it again.`;

export const command: Command = {
  summary: 'reference cloud receiver (stores packages, dedupes by idempotency key)',
  usage,
  async run(argv: string[]): Promise<number> {
    const { values } = parseArgs({
      args: argv,
      options: {
        dir: { type: 'string' },
        port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '127.0.0.1' },
        token: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' },
        'require-client-cert': { type: 'boolean', default: false },
        'max-body-bytes': { type: 'string' },
        'max-concurrent-uploads': { type: 'string' },
        'max-packages': { type: 'string' },
        'stop-drain-s': { type: 'string' },
        quiet: { type: 'boolean', default: false },
        'test-cut-first': { type: 'string' },
        'test-fail-first': { type: 'string' },
        'test-fail-status': { type: 'string' },
        'test-retry-after': { type: 'string' },
        'test-delay-first': { type: 'string' },
        'test-delay-ms': { type: 'string' },
        'test-slow-store-first': { type: 'string' },
        'test-slow-store-ms': { type: 'string' },
      },
      strict: true,
    });
    if (!values.dir) {
      console.error(`bestshot receiver: --dir is required\n\n${usage}`);
      return 2;
    }
    if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
      console.error('bestshot receiver: --tls-cert and --tls-key go together');
      return 2;
    }
    if (values['tls-cert'] === undefined && (values['tls-ca'] !== undefined || values['require-client-cert'])) {
      console.error('bestshot receiver: --tls-ca and --require-client-cert need --tls-cert and --tls-key (client certificates are asked for in a TLS handshake)');
      return 2;
    }
    if (values['require-client-cert'] && values['tls-ca'] === undefined) {
      console.error("bestshot receiver: --require-client-cert needs --tls-ca, the CA that signed the clients' certificates (without it every client is refused)");
      return 2;
    }
    const testFaults: ReceiverTestFaults = {
      cutFirst: numberArg('non-negative integer', 'test-cut-first', values['test-cut-first']),
      failFirst: numberArg('non-negative integer', 'test-fail-first', values['test-fail-first']),
      failStatus: numberArg('non-negative integer', 'test-fail-status', values['test-fail-status']),
      retryAfter: values['test-retry-after'],
      delayFirst: numberArg('non-negative integer', 'test-delay-first', values['test-delay-first']),
      delayMs: numberArg('non-negative integer', 'test-delay-ms', values['test-delay-ms']),
      slowStoreFirst: numberArg('non-negative integer', 'test-slow-store-first', values['test-slow-store-first']),
      slowStoreMs: numberArg('non-negative integer', 'test-slow-store-ms', values['test-slow-store-ms']),
    };
    // A token on the command line is readable by every local account (ps, /proc/<pid>/cmdline):
    // main() has rewritten the process title without it (hideSecretsInTitle); the operator is told where it belongs.
    if (values.token !== undefined) {
      console.error('bestshot receiver: warning: --token on the command line is visible to other local users (ps) and kept in shell history; set BESTSHOT_RECEIVER_TOKEN instead');
    }
    // An empty token (an EnvironmentFile line 'BESTSHOT_RECEIVER_TOKEN=') was taken as the token '':
    // every upload refused 401, each unit dead-lettering its packages.
    const token = values.token ?? process.env.BESTSHOT_RECEIVER_TOKEN;
    if (token === '') {
      console.error(`bestshot receiver: ${values.token === undefined ? 'BESTSHOT_RECEIVER_TOKEN is set but empty' : '--token is empty'}: set a token, or unset it for none (loopback only)`);
      return 2;
    }
    const port = numberArg('non-negative integer', 'port', values.port);
    // Checked here, named as typed: startReceiver's own check said 'port' and exited 1.
    if (port !== undefined && port > 65535) throw new UsageError(`Expected integer between 0 and 65535 for --port but received '${values.port}'`);
    const maxBodyBytes = numberArg('positive integer', 'max-body-bytes', values['max-body-bytes'], DEFAULT_MAX_BODY_BYTES);
    const maxConcurrentUploads = numberArg('positive integer', 'max-concurrent-uploads', values['max-concurrent-uploads'], DEFAULT_MAX_CONCURRENT_UPLOADS);
    const maxPackages = numberArg('positive integer', 'max-packages', values['max-packages']);
    const stopDrainMs = Math.round(numberArg('non-negative number', 'stop-drain-s', values['stop-drain-s'], DEFAULT_STOP_DRAIN_MS / 1000) * 1000);
    // Read and checked before the start: a key that was a certificate said '[ERR_OSSL_UNSUPPORTED]
    // error:1E08010C:DECODER routines::unsupported', a missing file a bare ENOENT, and a --tls-ca
    // with no certificate in it started a receiver that refused every client.
    const tlsFiles = values['tls-cert']
      ? readTlsFiles({ cert: values['tls-cert'], key: values['tls-key'], ca: values['tls-ca'] }, ({ which, message }) => {
          throw new UsageError(`--tls-${which}: ${message}`);
        })
      : undefined;
    writableFolder(join(resolve(values.dir), 'packages'), '--dir');
    const receiver = await startReceiver({
      dir: resolve(values.dir),
      port,
      host: values.host,
      token,
      tls: tlsFiles
        ? {
            cert: tlsFiles.cert!,
            key: tlsFiles.key!,
            ca: tlsFiles.ca,
            requireClientCert: values['require-client-cert'],
          }
        : undefined,
      maxBodyBytes,
      maxConcurrentUploads,
      maxPackages,
      stopDrainMs,
      testFaults,
      log: values.quiet ? undefined : (line) => console.log(line),
    }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE' || /EADDRINUSE/.test(err.message)) {
        throw new BestshotError('ERR_PORT_IN_USE', `port ${port ?? ''} is already in use: stop the other process or pass --port 0 for any free port`);
      }
      // The listen's bare errno named neither the option nor the fix.
      if (err.code === 'EADDRNOTAVAIL') {
        throw new UsageError(`--host ${values.host} is not an address of this machine (EADDRNOTAVAIL): give one of its addresses (ip -brief address), 0.0.0.0 for all of them, or 127.0.0.1`);
      }
      if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
        throw new UsageError(`--host ${values.host} cannot be resolved (${err.code}): give an IP address of this machine, 0.0.0.0 for all of them, or 127.0.0.1`);
      }
      if (err.code === 'EACCES' && port !== undefined && port < 1024) {
        throw new UsageError(`--port ${port} needs privileges this user lacks (EACCES): choose a port above 1023, or give the service CAP_NET_BIND_SERVICE`);
      }
      throw err;
    });
    const stopped = stopRequested((line) => console.error(`receiver: ${line}`)); // before the line a supervisor waits for
    console.log(`receiver listening on ${receiver.url}`);
    await stopped;
    await receiver.close();
    return 0;
  },
};
