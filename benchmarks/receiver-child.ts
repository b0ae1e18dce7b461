/** The receiver process of benchmarks/receiver*.ts (IPC: sends its URL, answers 'rss' with its current and peak RSS). */
import { startReceiver } from '../src/receiver/index.js';

const rcv = await startReceiver({ dir: process.argv[2]!, token: 'bench' });
let peak = process.memoryUsage().rss;
setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20).unref();
process.send?.({ url: rcv.url });
const mib = (b: number): number => Math.round(b / 1048576);
process.on('message', () => {
  const now = process.memoryUsage().rss;
  process.send?.({ rssMiB: mib(now), peakRssMiB: mib(Math.max(peak, now)) });
});
process.on('disconnect', () => void rcv.close().then(() => process.exit(0)));
