/**
 * ONNX Runtime's environment, set before onnxruntime-node loads (detector.ts
 * imports this module first).
 *
 * The Linux build of ONNX Runtime 1.30 carries Microsoft's 1DS telemetry SDK:
 * every process that creates a session reads /etc/machine-id and leaves an
 * empty /tmp/mat-debug-<pid>.log behind (one more at every restart of the
 * service; a user found 76). A roadside unit sends nothing its operator did
 * not configure, so the telemetry is off unless the environment sets
 * ORT_DISABLE_TELEMETRY itself (ORT_DISABLE_TELEMETRY=0 turns it back on).
 */
process.env.ORT_DISABLE_TELEMETRY ??= '1';
