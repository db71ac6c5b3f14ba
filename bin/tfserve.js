#!/usr/bin/env node
'use strict';
// TensorFlow runs on libuv's worker threads, which also serve fs, dns and zlib: give the pool room
// for concurrent runs unless the user sized it. It must be set before the pool first starts.
const os = require('node:os');

process.env.UV_THREADPOOL_SIZE ??= String(Math.max(8, 2 * (os.availableParallelism?.() ?? os.cpus().length)));

// `npx tfserve` and `npm run` scripts start tfserve through `sh -c`, and npm hands SIGTERM/SIGINT to
// that shell only, which dies of it without passing it on: tfserve went on running, orphaned, holding
// its port. So when npm started us (it sets npm_lifecycle_event), our parent's exit stops the server
// as the first signal would. Only then: elsewhere a new parent is normal (nohup, a shell logging out).
function parentExit() {
  if (process.env.npm_lifecycle_event === undefined) return undefined;
  const parent = process.ppid;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(timer);
      resolve(`The process that started tfserve (pid ${parent}, under npm) exited`);
    }, 250);
    timer.unref();
  });
}

require('../dist/cli/main.js')
  .run(process.argv.slice(2), { stopWhen: parentExit() })
  .then((code) => process.exit(code))
  .catch((err) => {
    process.stderr.write(`tfserve: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });
