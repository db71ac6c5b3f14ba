// Preloaded into the server by scripts/soak.mjs (node --require): on SIGUSR2 it writes one line to
// stderr, `SOAK {...}`, with the event loop's longest stretch since the last report and the memory
// figures, then resets. On Node >= 23.9 the stretch is the main thread's CPU time between two 5 ms
// ticks (what the loop spent running code, not the time a busy machine took the thread away); before
// that, monitorEventLoopDelay's wall-clock maximum. Measurement only: tfserve never loads this.
'use strict';
const { monitorEventLoopDelay } = require('node:perf_hooks');
const v8 = require('node:v8');

const threadCpu = typeof process.threadCpuUsage === 'function';
const histogram = monitorEventLoopDelay({ resolution: 5 });
histogram.enable();
let busyMax = 0;
let last = threadCpu ? process.threadCpuUsage() : null;
if (threadCpu) {
  setInterval(() => {
    const now = process.threadCpuUsage();
    busyMax = Math.max(busyMax, (now.user + now.system - last.user - last.system) / 1000);
    last = now;
  }, 5).unref();
}

process.on('SIGUSR2', () => {
  const memory = process.memoryUsage();
  const line = {
    loopMs: threadCpu ? busyMax : histogram.max / 1e6,
    loopKind: threadCpu ? 'cpu' : 'wall',
    wallMaxMs: histogram.max / 1e6,
    rss: memory.rss,
    heapTotal: v8.getHeapStatistics().total_heap_size,
    external: memory.external,
  };
  process.stderr.write(`SOAK ${JSON.stringify(line)}\n`);
  histogram.reset();
  busyMax = 0;
});
