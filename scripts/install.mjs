// `npm install` entry: make libtensorflow available, then compile the addon with node-gyp.
//
// Why not plain `node-gyp-build`: node-gyp downloads Node's headers from nodejs.org unless told where
// they are, and many build hosts (CI sandboxes, air-gapped servers) cannot reach it. Node ships its
// headers next to the binary (<prefix>/include/node), so this script passes --nodedir when they are
// there. A build that already loads (a prebuild, or an earlier `npm install`) is kept unless
// --rebuild is given. The runtime loads the result with node-gyp-build.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensureLibtensorflow } from './install-libtensorflow.mjs';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rebuild = process.argv.includes('--rebuild') || process.env.TFSERVE_REBUILD === '1';

function existingBuildLoads() {
  try {
    require('node-gyp-build')(root);
    return true;
  } catch {
    return false;
  }
}

function nodeGypCommand() {
  if (process.env.npm_config_node_gyp && fs.existsSync(process.env.npm_config_node_gyp)) {
    return [process.execPath, process.env.npm_config_node_gyp];
  }
  try {
    return [process.execPath, require.resolve('node-gyp/bin/node-gyp.js')];
  } catch {
    const npmBundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules',
      'node-gyp', 'bin', 'node-gyp.js');
    if (fs.existsSync(npmBundled)) return [process.execPath, npmBundled];
    return ['node-gyp'];
  }
}

function localNodeDir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

function main() {
  ensureLibtensorflow();
  if (!rebuild && existingBuildLoads()) {
    process.stderr.write('tfserve: the addon is already built (npm run build:native rebuilds it)\n');
    return;
  }
  const [command, ...prefixArgs] = nodeGypCommand();
  const args = [...prefixArgs, 'rebuild', `--jobs=${availableCpus()}`];
  const nodedir = process.env.npm_config_nodedir || localNodeDir();
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  process.stderr.write(`tfserve: building the addon: node-gyp ${args.slice(prefixArgs.length).join(' ')}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write('tfserve: the addon did not build; see the compiler output above\n');
    process.exit(result.status ?? 1);
  }
}

function availableCpus() {
  return os.availableParallelism?.() ?? os.cpus().length;
}

try {
  main();
} catch (err) {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
