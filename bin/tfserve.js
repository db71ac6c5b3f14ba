#!/usr/bin/env node
'use strict';
// TensorFlow runs on libuv's worker threads, which also serve fs, dns and zlib: give the pool room
// for concurrent runs unless the user sized it. It must be set before the pool first starts.
const os = require('node:os');

process.env.UV_THREADPOOL_SIZE ??= String(Math.max(8, 2 * (os.availableParallelism?.() ?? os.cpus().length)));

require('../dist/cli/main.js')
  .run(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((err) => {
    process.stderr.write(`tfserve: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  });
