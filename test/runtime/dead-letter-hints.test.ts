/** What the service says, once per kind, when the endpoint refuses packages for good (U2 dead letters). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { brokerRefusalHint, deadLetterHint, resendDeadCommand, storeHint, timeoutHint, tlsFailureHint } from '../../src/runtime/upload-hints.js';

test('dead-letter hints name the setting to fix for 3xx, 401/403, 404/405, 409 and 413; other 4xx quote what the endpoint said', () => {
  const q = '/var/lib/bestshot/queue.sqlite';
  const resend = `once fixed, 'bestshot queue resend-dead --path ${q}' puts the dead letters back for the next start`;
  assert.equal(deadLetterHint(401, q), `the endpoint refuses this unit's credentials (HTTP 401): check upload.token; ${resend}`);
  assert.equal(deadLetterHint(403, q), `the endpoint refuses this unit's credentials (HTTP 403): check upload.token; ${resend}`);
  assert.equal(deadLetterHint(404, q), `the endpoint has no package upload at that URL (HTTP 404): check upload.endpoint (bestshot receiver takes POST /packages); ${resend}`);
  assert.match(deadLetterHint(409, q)!, /^the endpoint holds other images under this camera's imageIds \(HTTP 409\): the unit's stateDir .* was lost or reset/);
  assert.match(deadLetterHint(413, q)!, /^the endpoint refuses packages this large \(HTTP 413\): raise its body limit/);
  // A redirect: where the server pointed (the sender's reason carries the Location) and the key to set.
  assert.equal(
    deadLetterHint(301, q, 'http', 'HTTP 301 to https://ingest.example:8443/v2/packages: {"moved":true}'),
    `the endpoint redirects (HTTP 301) to https://ingest.example:8443/v2/packages: set upload.endpoint to the address packages are posted to (redirects are not followed); ${resend}`,
  );
  assert.equal(deadLetterHint(302, q, 'http', 'HTTP 302'), `the endpoint redirects (HTTP 302): set upload.endpoint to the address packages are posted to (redirects are not followed); ${resend}`);
  assert.match(deadLetterHint(301, q, 's3+mqtt', 'S3 HTTP 301 PermanentRedirect')!, /^the object store redirects \(HTTP 301\): check upload\.sink\.s3\.region and endpoint/);
  assert.equal(deadLetterHint(undefined, q), undefined);
  // Any other refusal for good: what the endpoint said is the only clue, quoted (its error and first reasons).
  assert.equal(
    deadLetterHint(400, q, 'http', 'HTTP 400: {"error":"metadata does not match schema bestshot.package/v1","reasons":["/a: x","/b: y","/c: z","/d: w"]}'),
    `the endpoint refuses these packages as invalid (HTTP 400), saying: metadata does not match schema bestshot.package/v1; /a: x; /b: y; /c: z. It checks each package (the bestshot.package/v1 metadata, the image's size and sha256, the Idempotency-Key): an endpoint of another version than this unit, or a proxy that changes the body, are the usual causes; ${resend}`,
  );
  assert.equal(deadLetterHint(410, q, 'http', 'HTTP 410: gone  for\n good'), `the endpoint refuses these packages for good (HTTP 410), saying: gone for good; ${resend}`);
  assert.equal(deadLetterHint(422, q, 's3', 'S3 HTTP 422'), `the endpoint refuses these packages for good (HTTP 422); ${resend}`);
  // With an object store behind the sink, its keys are the credentials to check, not upload.token.
  assert.equal(deadLetterHint(403, q, 's3+mqtt'), `the endpoint refuses this unit's credentials (HTTP 403): check upload.sink.s3.accessKeyId and secretAccessKey (or, without them, the AWS credential chain); ${resend}`);
  assert.equal(deadLetterHint(403, q, 's3'), `the endpoint refuses this unit's credentials (HTTP 403): check upload.sink.accessKeyId and secretAccessKey (or, without them, the AWS credential chain); ${resend}`);
});

test('TLS failures (retried, the packages stay queued) get a hint naming the setting of the sink that failed', () => {
  const untrusted = "the endpoint's TLS certificate is not signed by a CA this unit trusts";
  assert.equal(tlsFailureHint('UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate'), `${untrusted}: set upload.ca to the CA bundle (PEM) that signed it`);
  assert.equal(tlsFailureHint('DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate'), `${untrusted}: set upload.ca to the CA bundle (PEM) that signed it`);
  // MQTT.js's last error is the message alone.
  assert.equal(tlsFailureHint('MQTT broker not connected (self-signed certificate in certificate chain)', 's3+mqtt'), `${untrusted}: set upload.sink.mqtt.ca to the CA bundle (PEM) that signed it`);
  assert.equal(tlsFailureHint('MQTT broker not connected (unable to get local issuer certificate)', 'mqtt'), `${untrusted}: set upload.sink.ca to the CA bundle (PEM) that signed it`);
  assert.equal(tlsFailureHint('S3 UNABLE_TO_GET_ISSUER_CERT_LOCALLY: unable to get local issuer certificate', 's3+mqtt'), `${untrusted}: add that CA to the system store (or NODE_EXTRA_CA_CERTS) for the object store`);
  assert.match(tlsFailureHint("ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: ")!, /not issued for the host in the URL/);
  assert.match(tlsFailureHint('CERT_NOT_YET_VALID: certificate is not yet valid')!, /or this unit's clock is wrong: check the date \(NTP\)/);
  assert.match(tlsFailureHint('CERT_HAS_EXPIRED: certificate has expired')!, /outside its validity period/);
  assert.equal(
    tlsFailureHint('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: …:tlsv13 alert certificate required:…'),
    "the endpoint refused this unit's client certificate (mTLS): set upload.cert and upload.key to a certificate its CA signed",
  );
  assert.match(tlsFailureHint('EPROTO: write EPROTO …:SSL routines:ssl3_get_record:wrong version number:…')!, /does not speak TLS at that port/);
  for (const r of ['ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9', 'HTTP 503: busy', 'response timeout after 3000 ms']) assert.equal(tlsFailureHint(r), undefined, r);
});

test('timeouts get a hint naming the setting that bounds the wait (it includes the upload of the package)', () => {
  assert.match(timeoutHint('response timeout after 15000 ms')!, /^no answer within upload\.responseTimeoutMs, the upload of the package included/);
  assert.equal(timeoutHint('MQTT PUBACK timeout after 10000 ms', 's3+mqtt'), "no PUBACK within the broker's ackTimeoutMs (upload.sink.mqtt.ackTimeoutMs), the upload of the event included: raise it on a slow uplink");
  assert.match(timeoutHint('MQTT PUBACK timeout after 10000 ms', 'mqtt')!, /\(upload\.sink\.ackTimeoutMs\)/);
  for (const r of ['connect timeout after 5000 ms', 'ECONNRESET: socket hang up', 'HTTP 408: slow']) assert.equal(timeoutHint(r), undefined, r);
});

test('an MQTT broker refusing the CONNECT gets a hint naming the broker keys of the sink', () => {
  assert.equal(
    brokerRefusalHint('MQTT broker not connected (Connection refused: Not authorized)', 's3+mqtt'),
    "the broker refuses this unit's credentials: check upload.sink.mqtt.username and password (or its client certificate)",
  );
  assert.equal(brokerRefusalHint('MQTT broker not connected (Connection refused: Bad User Name or Password)', 'mqtt'), "the broker refuses this unit's credentials: check upload.sink.username and password (or its client certificate)");
  assert.equal(brokerRefusalHint('MQTT broker not connected (Connection refused: Client Identifier not valid)', 'mqtt'), "the broker refuses this unit's client id: check upload.sink.clientId");
  assert.equal(brokerRefusalHint('MQTT broker not connected (connect ECONNREFUSED 127.0.0.1:1883)', 'mqtt'), undefined);
  assert.equal(brokerRefusalHint('HTTP 401: no', 'http'), undefined);
});

test('the object store: a missing bucket and a skewed clock (both retried) get a hint naming what to fix', () => {
  assert.equal(storeHint('S3 HTTP 404 NoSuchBucket: The specified bucket does not exist', 's3'), 'the bucket does not exist: create it (the edge never does) or correct upload.sink.bucket');
  assert.match(storeHint('S3 HTTP 403 RequestTimeTooSkewed: The difference between the request time and the current time is too large.', 's3+mqtt')!, /clock differs from the store's .*check the date \(NTP\)/);
  assert.equal(storeHint('S3 HTTP 404 NoSuchBucket', 'http'), undefined);
  assert.equal(storeHint('S3 ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9000', 's3'), undefined);
});

test('U2: MQTT 0x95 (packet too large): the mqtt sink alone names its inline cap, s3+mqtt the broker\'s limit', () => {
  const q = '/var/lib/bestshot/queue.sqlite';
  assert.match(deadLetterHint(0x95, q, 'mqtt')!, /^the event is too large \(MQTT 0x95 packet too large: the image over upload\.sink\.inlineImageMaxBytes, or the broker's message limit\): raise inlineImageMaxBytes within the broker's limit, or use sink type s3\+mqtt/);
  assert.match(deadLetterHint(0x95, q, 's3+mqtt')!, /^the event is larger than the broker takes \(MQTT 0x95 packet too large\): raise the broker's message size limit; once fixed/);
  assert.equal(deadLetterHint(0x95, q, 'http'), undefined, 'no HTTP status 149');
});

test('U2: the resend-dead command carries the queue\'s capacity where it is not the tool\'s default (1000 packages, 512 MiB)', () => {
  const path = '/var/lib/bestshot/queue.sqlite';
  assert.equal(resendDeadCommand({ path }), `bestshot queue resend-dead --path ${path}`);
  assert.equal(resendDeadCommand({ path, maxPackages: 1000, maxBytes: 512 * 1024 * 1024 }), `bestshot queue resend-dead --path ${path}`);
  assert.equal(resendDeadCommand({ path, maxPackages: 10, maxBytes: 512 * 1024 * 1024 }), `bestshot queue resend-dead --path ${path} --max-packages 10`);
  assert.equal(resendDeadCommand({ path, maxPackages: 1000, maxBytes: 1048576 }), `bestshot queue resend-dead --path ${path} --max-bytes 1048576`);
  assert.equal(
    deadLetterHint(401, { path, maxPackages: 50 }),
    `the endpoint refuses this unit's credentials (HTTP 401): check upload.token; once fixed, 'bestshot queue resend-dead --path ${path} --max-packages 50' puts the dead letters back for the next start`,
  );
});
