/** bestshot run --config file.yaml: the service (systemd runs this). */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/index.js';
import { loggerFromConfig } from '../../log.js';
import { BestshotService } from '../../runtime/service.js';
import { observe } from '../../runtime/observability.js';
import { SystemdNotifier } from '../../runtime/sd-notify.js';
import type { Command } from '../commands.js';

const usage = `Usage: bestshot run --config /etc/bestshot/config.yaml [--stop-timeout-ms 10000]

Runs every configured camera: capture at captureHz, detection, tracking,
best-shot selection and upload, with /metrics and /healthz on the metrics
port. SIGTERM or SIGINT stops capture, finishes the frames in flight, closes
the queue and exits 0 (exit 1 if that takes longer than --stop-timeout-ms).
Under systemd (Type=notify) it reports READY=1 once running and pings the
watchdog (WATCHDOG=1) every half WatchdogSec.`;

export const command: Command = {
  summary: 'run the pipeline from a config file',
  usage,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, 'stop-timeout-ms': { type: 'string', default: '10000' } } });
    if (!values.config) {
      console.error(usage);
      return 2;
    }
    const stopTimeoutMs = Number(values['stop-timeout-ms']);
    const { config, warnings } = await loadConfig(values.config);
    const log = loggerFromConfig(config.log);
    for (const w of warnings) log.warn('config', { warning: w });
    const svc = await BestshotService.start({ config, mode: 'live', logger: log });
    const obs = await observe(svc, { port: config.metrics.port, host: config.metrics.host, enabled: config.metrics.enabled });
    if (obs.server) log.info('metrics listening', { url: obs.server.url });
    log.info('running', { cameras: config.cameras.map((c) => c.id), provider: svc.provider });
    const systemd = new SystemdNotifier(process.env, (m) => log.warn(m));
    systemd.ready(`running ${config.cameras.length} camera(s), inference on ${svc.provider}`);
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
      void svc.done().then(() => resolve('sources ended'));
    });
    log.info('stopping', { reason: signal });
    systemd.stopping();
    const timer = setTimeout(() => {
      log.error('stop took too long, exiting', { stopTimeoutMs });
      process.exit(1);
    }, stopTimeoutMs);
    await svc.stop();
    await obs.close();
    clearTimeout(timer);
    const s = svc.uploader?.stats();
    log.info('stopped', { queueDepth: s?.queueDepth, delivered: s?.delivered });
    return 0;
  },
};
