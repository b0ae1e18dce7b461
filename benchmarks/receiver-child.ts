/** The receiver process of benchmarks/receiver.ts (IPC: sends its URL, answers 'rss' with its peak RSS). */
import { startReceiver } from '../src/receiver/index.js';

const rcv = await startReceiver({ dir: process.argv[2]!, token: 'bench' });
let peak = process.memoryUsage().rss;
setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20).unref();
process.send?.({ url: rcv.url });
process.on('message', () => process.send?.({ peakRssMiB: Math.round(Math.max(peak, process.memoryUsage().rss) / 1048576) }));
process.on('disconnect', () => void rcv.close().then(() => process.exit(0)));
