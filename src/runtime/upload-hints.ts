/**
 * What an operator reads beside an upload failure: the setting to change,
 * named, where the sender's reason names only an HTTP status, an OpenSSL
 * code or the broker's or store's words. Each is said once (dead letters:
 * per kind; retries: in the first 'endpoint not taking packages' warning and
 * each minute's repeat).
 */

/** The upload sink a hint names the keys of (config upload.sink.type; 'http' without a sink). */
export type SinkType = 'http' | 's3' | 'mqtt' | 's3+mqtt';

/** The queue a hint names: its file and its capacity (config queue.maxPackages, queue.maxBytes). */
export interface QueueRef {
  path: string;
  maxPackages?: number;
  maxBytes?: number;
}

/** `bestshot queue resend-dead`'s own defaults for the queue's capacity (src/cli/commands/queue.ts, src/upload/queue.ts). */
const RESEND_DEFAULT_PACKAGES = 1000;
const RESEND_DEFAULT_BYTES = 512 * 1024 * 1024;

/**
 * The resend-dead command for a queue, with its capacity where the config's
 * differs from the tool's defaults: re-queued beyond the service's own
 * capacity, the dead letters would make the next start drop its oldest
 * packages (queue.maxPackages 10 and a hint without --max-packages: 19 of
 * 32 dropped while the endpoint took everything).
 */
export function resendDeadCommand(queue: QueueRef): string {
  let cmd = `bestshot queue resend-dead --path ${queue.path}`;
  if (queue.maxPackages !== undefined && queue.maxPackages !== RESEND_DEFAULT_PACKAGES) cmd += ` --max-packages ${queue.maxPackages}`;
  if (queue.maxBytes !== undefined && queue.maxBytes !== RESEND_DEFAULT_BYTES) cmd += ` --max-bytes ${queue.maxBytes}`;
  return cmd;
}

/**
 * What to do about packages the endpoint refuses for good, said once per kind
 * (the dead letters stay in the queue; `bestshot queue resend-dead` puts them back).
 */
export function deadLetterHint(status: number | undefined, queue: string | QueueRef, sink: SinkType = 'http', reason = '', replay = false): string | undefined {
  const ref = typeof queue === 'string' ? { path: queue } : queue;
  // A replay's queue lives in its --out and the next replay there starts a fresh one: resend-dead
  // would put the dead letters back for a start that never sends them.
  const resend = replay
    ? `the dead letters stay in ${ref.path} ('bestshot queue inspect' lists them) until the next replay on this --out, which starts a fresh queue: replay again once fixed`
    : `once fixed, '${resendDeadCommand(ref)}' puts the dead letters back for the next start`;
  if (status !== undefined && status >= 300 && status < 400) {
    // A redirect is not followed (it would take the package and its token to another address): the
    // usual cause is an http:// endpoint whose server wants https://, or a moved ingest URL.
    if (sink === 's3' || sink === 's3+mqtt') {
      return `the object store redirects (HTTP ${status}): check upload.sink.${sink === 's3' ? '' : 's3.'}region and endpoint (a bucket in another region answers 301 PermanentRedirect); ${resend}`;
    }
    const to = /^HTTP \d+ to (\S+?)(?::\s|$)/.exec(reason)?.[1];
    return `the endpoint redirects (HTTP ${status})${to ? ` to ${to}` : ''}: set upload.endpoint to the address packages are posted to (redirects are not followed); ${resend}`;
  }
  if (status === 401 || status === 403) {
    // With another sink the refusal is the store's or the broker's: their keys are the credentials to check.
    const keys =
      sink === 'http'
        ? 'upload.token'
        : sink === 'mqtt'
          ? 'upload.sink.username and password (or its client certificate)'
          : `upload.sink.${sink === 's3' ? '' : 's3.'}accessKeyId and secretAccessKey (or, without them, the AWS credential chain)`;
    return `the endpoint refuses this unit's credentials (HTTP ${status}): check ${keys}; ${resend}`;
  }
  if (status === 0x95 && (sink === 'mqtt' || sink === 's3+mqtt')) {
    // The broker's "packet too large", or the mqtt sink's own inline cap (its reason says which).
    return sink === 'mqtt'
      ? `the event is too large (MQTT 0x95 packet too large: the image over upload.sink.inlineImageMaxBytes, or the broker's message limit): raise inlineImageMaxBytes within the broker's limit, or use sink type s3+mqtt for the images; ${resend}`
      : `the event is larger than the broker takes (MQTT 0x95 packet too large): raise the broker's message size limit; ${resend}`;
  }
  if (status === 404 || status === 405) return `the endpoint has no package upload at that URL (HTTP ${status}): check upload.endpoint (bestshot receiver takes POST /packages); ${resend}`;
  if (status === 409) return "the endpoint holds other images under this camera's imageIds (HTTP 409): the unit's stateDir (its imageId state) was lost or reset; keep stateDir on storage that survives restarts and updates";
  if (status === 413) return `the endpoint refuses packages this large (HTTP 413): raise its body limit, or lower cameras[].jpegQuality or use upload.content: crops; ${resend}`;
  if (status !== undefined && status >= 400 && status < 500) {
    // Any other refusal for good: what the endpoint said is the only clue, so it is said with the hint
    // (bestshot receiver answers {"error": …, "reasons": […]}).
    const said = refusalDetail(reason);
    const saying = said === undefined ? '' : `, saying: ${said}`;
    if ((status === 400 || status === 422) && sink === 'http') {
      return `the endpoint refuses these packages as invalid (HTTP ${status})${saying}. It checks each package (the bestshot.package/v1 metadata, the image's size and sha256, the Idempotency-Key): an endpoint of another version than this unit, or a proxy that changes the body, are the usual causes; ${resend}`;
    }
    return `the endpoint refuses these packages for good (HTTP ${status})${saying}; ${resend}`;
  }
  return undefined;
}

/** Longest part of an endpoint's answer quoted in a hint. */
const DETAIL_CHARS = 300;

/**
 * What the endpoint said in a refusal, from the sender's reason ('HTTP 400: <body>', 'S3 HTTP 400 …: <body>'):
 * a JSON body's error (or message) and its first reasons, else the text on one line; undefined when it said nothing.
 */
export function refusalDetail(reason: string): string | undefined {
  const body = /^(?:S3 )?HTTP \d+[^:]*: ([\s\S]*)$/.exec(reason)?.[1]?.trim();
  if (!body) return undefined;
  const clip = (text: string): string => (text.length > DETAIL_CHARS ? `${text.slice(0, DETAIL_CHARS)}…` : text);
  try {
    const json = JSON.parse(body) as { error?: unknown; message?: unknown; reasons?: unknown };
    if (json !== null && typeof json === 'object') {
      const said = [json.error, json.message, ...(Array.isArray(json.reasons) ? json.reasons.slice(0, 3) : [])].filter((x): x is string => typeof x === 'string' && x !== '');
      if (said.length > 0) return clip(said.join('; '));
    }
  } catch {
    // not JSON (or cut short by the sender's 500 characters): the text itself
  }
  return clip(body.replace(/\s+/g, ' '));
}

/**
 * What to change when the endpoint's TLS handshake fails (retried for ever, the packages stay
 * queued, U2): Node's reason names an OpenSSL code, not the setting. Undefined for other failures.
 */
export function tlsFailureHint(reason: string, sink: SinkType = 'http'): string | undefined {
  // Node's reasons carry the OpenSSL code (the HTTP sender) or only its message (MQTT.js's last error).
  // The object store's client has no CA key of its own (an s3 reason starts 'S3 '): it trusts the system store.
  const store = sink === 's3' || reason.startsWith('S3 ');
  const keys = store ? undefined : sink === 'http' ? 'upload' : sink === 'mqtt' ? 'upload.sink' : 'upload.sink.mqtt';
  if (/UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT|unable to verify the first certificate|self[- ]signed certificate|unable to get (local )?issuer certificate/.test(reason)) {
    return `the endpoint's TLS certificate is not signed by a CA this unit trusts: ${keys ? `set ${keys}.ca to the CA bundle (PEM) that signed it` : 'add that CA to the system store (or NODE_EXTRA_CA_CERTS) for the object store'}`;
  }
  if (/ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/.test(reason)) return "the endpoint's TLS certificate is not issued for the host in the URL: use the host name the certificate names";
  if (/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|certificate has expired|certificate is not yet valid/.test(reason)) {
    // An edge unit without a battery-backed clock boots in the past until NTP has run.
    return "the endpoint's TLS certificate is outside its validity period, or this unit's clock is wrong: check the date (NTP) before renewing the certificate";
  }
  if (/CERTIFICATE_REQUIRED|certificate required|ALERT_UNKNOWN_CA|ALERT_BAD_CERTIFICATE/i.test(reason)) {
    return `the endpoint refused this unit's client certificate (mTLS)${keys ? `: set ${keys}.cert and ${keys}.key to a certificate its CA signed` : ''}`;
  }
  if (/wrong version number/.test(reason)) return 'the endpoint does not speak TLS at that port: use http:// for a plain HTTP server, or the port of its TLS listener';
  return undefined;
}

/**
 * What to change when the MQTT broker refuses the CONNECT (retried, the packages stay queued): the
 * reason is the broker's ("Connection refused: Not authorized"), naming no setting.
 */
export function brokerRefusalHint(reason: string, sink: SinkType = 'http'): string | undefined {
  if (sink !== 'mqtt' && sink !== 's3+mqtt') return undefined;
  const at = sink === 'mqtt' ? 'upload.sink' : 'upload.sink.mqtt';
  if (/Connection refused: (Not authorized|Bad User Name or Password|Bad username or password)/i.test(reason)) {
    return `the broker refuses this unit's credentials: check ${at}.username and password (or its client certificate)`;
  }
  if (/Connection refused: (Identifier rejected|Client Identifier not valid)/i.test(reason)) return `the broker refuses this unit's client id: check ${at}.clientId`;
  return undefined;
}

/**
 * What to change when the object store refuses for a reason that heals only by a change
 * (retryable, the packages stay queued): a missing bucket, a clock too far off to sign requests.
 */
export function storeHint(reason: string, sink: SinkType = 'http'): string | undefined {
  if (sink !== 's3' && sink !== 's3+mqtt') return undefined;
  const at = sink === 's3' ? 'upload.sink' : 'upload.sink.s3';
  if (/\bNoSuchBucket\b/.test(reason)) return `the bucket does not exist: create it (the edge never does) or correct ${at}.bucket`;
  // An edge unit without a battery-backed clock boots in the past until NTP has run.
  if (/\bRequestTimeTooSkewed\b/.test(reason)) return "this unit's clock differs from the store's by more than S3 allows (15 min): check the date (NTP)";
  return undefined;
}

/**
 * What to change when sends time out (retried, the packages stay queued): the timeout includes the
 * upload of the package, so on an uplink too slow for the packages' size every try times out and
 * the same package is sent again for ever, delivering nothing. Undefined for other failures.
 */
export function timeoutHint(reason: string, sink: SinkType = 'http'): string | undefined {
  if (/^response timeout after \d+ ms/.test(reason)) {
    return 'no answer within upload.responseTimeoutMs, the upload of the package included: an endpoint that hangs, or an uplink too slow for packages this large (raise upload.responseTimeoutMs: a package gets up to 4× it at its next tries, and one that needs more is sent again for ever)';
  }
  if (/^MQTT PUBACK timeout after \d+ ms/.test(reason)) {
    return `no PUBACK within the broker's ackTimeoutMs (upload.sink${sink === 's3+mqtt' ? '.mqtt' : ''}.ackTimeoutMs), the upload of the event included: raise it on a slow uplink`;
  }
  return undefined;
}

/** The hint for a retried failure (the packages stay queued), or undefined when the reason names its own fix. */
export function retryHint(reason: string, sink: SinkType): string | undefined {
  return tlsFailureHint(reason, sink) ?? timeoutHint(reason, sink) ?? brokerRefusalHint(reason, sink) ?? storeHint(reason, sink);
}

/**
 * 'budget' gives up on an object it cannot afford (budgetMaxWaitS, end of stream): counted there and
 * said in every summary, or a budget too small for the scene sent a few images and looked complete.
 * Counted per track segment, as the policy values them: a track seen again after a gap counts again.
 */
export function unsentObjectsText(n: number): string {
  return `${n} objects (track segments) never sent: the budget policy gave up on them (its budget could not pay for them within budgetMaxWaitS of their end, or by the end of the stream)`;
}

/** U2: a full queue drops its oldest packages to take new ones; every summary says how many. */
export function queueDroppedText(n: number): string {
  return `${n} dropped: the queue was full (queue.maxPackages / queue.maxBytes; the oldest go first)`;
}
