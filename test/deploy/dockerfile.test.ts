/**
 * deploy/Dockerfile and .dockerignore checked without a container runtime: linted by dockerfile-utils
 * (the Docker language server's validator), parsed with dockerfile-ast into stages, then checked
 * against the rules the image must keep: a slim Node base, `npm ci`, a non-root user, libtensorflow
 * in a layer of its own that code changes do not rebuild, tfserve as PID 1 through an entrypoint that
 * execs, a HEALTHCHECK on /v2/health/ready, tensorflow/serving's MODEL_NAME / MODEL_BASE_PATH and
 * ports, and every file it copies present in the build context. The entrypoint itself is run in
 * test/deploy/entrypoint.test.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite, test } from 'node:test';

import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate, ValidationSeverity } from 'dockerfile-utils';

import { REPO_ROOT } from '../helpers.js';

const DOCKERFILE = path.join(REPO_ROOT, 'deploy', 'Dockerfile');
const TEXT = fs.readFileSync(DOCKERFILE, 'utf8');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;

interface Stage {
  name: string | null;
  /** The FROM image, ARG defaults substituted. */
  base: string;
  instructions: Instruction[];
}

const dockerfile = DockerfileParser.parse(TEXT);
const initialArgs = new Map(
  dockerfile.getInitialARGs().map((arg) => [arg.getProperty()!.getName(), arg.getProperty()!.getValue() ?? '']),
);

function expand(text: string): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    assert.ok(initialArgs.has(name), `ARG ${name} has no default before the first FROM`);
    return initialArgs.get(name)!;
  });
}

/** The stages in order, each with its instructions (FROM excluded). */
function stages(): Stage[] {
  const result: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const [image, as, name] = instruction.getArguments().map((a) => a.getValue());
      if (as !== undefined) assert.equal(as.toUpperCase(), 'AS');
      result.push({ name: name ?? null, base: expand(image!), instructions: [] });
    } else if (result.length > 0) {
      result[result.length - 1]!.instructions.push(instruction);
    }
  }
  return result;
}

const STAGES = stages();
const FINAL = STAGES[STAGES.length - 1]!;

function stage(name: string): Stage {
  const found = STAGES.find((s) => s.name === name);
  assert.ok(found, `no stage ${name}`);
  return found;
}

function of(s: Stage, keyword: string): Instruction[] {
  return s.instructions.filter((i) => i.getKeyword() === keyword);
}

/** The ENV of a stage, its parent stages' first. */
function envOf(s: Stage): Map<string, string> {
  const parent = STAGES.find((p) => p.name !== null && p.name === s.base);
  const env = parent ? envOf(parent) : new Map<string, string>();
  for (const instruction of of(s, 'ENV')) {
    for (const arg of instruction.getArguments()) {
      const [name, ...value] = arg.getValue().split('=');
      env.set(name!, value.join('='));
    }
  }
  return env;
}

interface CopyStep {
  from: string | null;
  sources: string[];
  destination: string;
}

function copies(s: Stage): CopyStep[] {
  return of(s, 'COPY').map((instruction) => {
    const flags = (instruction as unknown as { getFlags(): { getName(): string; getValue(): string | null }[] }).getFlags();
    const from = flags.find((f) => f.getName() === 'from')?.getValue() ?? null;
    const args = instruction.getArguments().map((a) => a.getValue());
    return { from, sources: args.slice(0, -1), destination: args[args.length - 1]! };
  });
}

function json(instruction: Instruction): string[] {
  return (instruction as unknown as { getJSONStrings(): { getJSONValue(): string }[] }).getJSONStrings().map((s) => s.getJSONValue());
}

/** .dockerignore's patterns as Docker reads them (filepath.Match per segment, `**` across them). */
function ignored(file: string): boolean {
  const patterns = fs
    .readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  let result = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const regex = new RegExp(
      `^${pattern
        .split('/')
        .map((segment) => (segment === '**' ? '.*' : segment.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/')}(/.*)?$`,
    );
    if (regex.test(file)) result = !negate;
  }
  return result;
}

suite('deploy/Dockerfile', () => {
  test('dockerfile-utils finds nothing to report, even at its strictest', () => {
    const strict = ValidationSeverity.ERROR;
    const diagnostics = validate(TEXT, {
      deprecatedMaintainer: strict,
      directiveCasing: strict,
      emptyContinuationLine: strict,
      instructionCasing: strict,
      instructionCmdMultiple: strict,
      instructionEntrypointMultiple: strict,
      instructionHealthcheckMultiple: strict,
      instructionJSONInSingleQuotes: strict,
      instructionWorkdirRelative: strict,
    });
    assert.deepEqual(diagnostics.map((d) => `line ${d.range.start.line + 1}: ${d.message}`), []);
  });

  test('EXPECTED FAILURE - the linter does report a broken Dockerfile', () => {
    const broken = `${TEXT}\nEXPOSE http\nHEALTHCHECK --interval=soon CMD true\n`;
    const messages = validate(broken, {}).map((d) => (typeof d.message === 'string' ? d.message : d.message.value));
    assert.ok(messages.some((m) => /Invalid containerPort: http/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /invalid duration soon/.test(m)), messages.join('\n'));
  });

  test('the image is a slim Debian Node LTS, the same base for every stage', () => {
    assert.match(FINAL.base, /^node:(\d+)-bookworm-slim$/);
    assert.ok(Number(/^node:(\d+)/.exec(FINAL.base)![1]) >= 22);
    for (const s of STAGES) {
      assert.ok(s.base === FINAL.base || STAGES.some((p) => p.name === s.base), `${s.name} builds on ${s.base}`);
    }
  });

  test('dependencies are installed with npm ci from the lock file, dev dependencies pruned', () => {
    const build = STAGES.find((s) => of(s, 'RUN').some((r) => /\bnpm ci\b/.test(r.getArgumentsContent() ?? '')));
    assert.ok(build, 'a stage runs npm ci');
    const run = of(build, 'RUN').map((r) => r.getArgumentsContent() ?? '').join('\n');
    assert.match(run, /npm prune --omit=dev/);
    const copied = copies(build).filter((c) => c.from === null).flatMap((c) => c.sources);
    for (const needed of ['package.json', 'package-lock.json', '.npmrc', 'binding.gyp', 'tsconfig.json', 'scripts/', 'native/', 'src/']) {
      assert.ok(copied.includes(needed), `npm ci needs ${needed} (the install script builds the addon, prepare the TypeScript)`);
    }
    assert.deepEqual(copies(FINAL).filter((c) => c.from === build.name).map((c) => c.sources[0]).sort(), [
      '/app/build/Release/tfserve.node',
      '/app/dist/',
      '/app/node_modules/',
      '/app/package.json',
    ]);
  });

  test('libtensorflow is a layer of its own, rebuilt only when the TensorFlow pin changes', () => {
    const lib = STAGES.find((s) => of(s, 'RUN').some((r) => /install-libtensorflow\.mjs/.test(r.getArgumentsContent() ?? '')));
    assert.ok(lib, 'a stage runs scripts/install-libtensorflow.mjs');
    const fromContext = copies(lib).filter((c) => c.from === null).flatMap((c) => c.sources);
    assert.deepEqual(fromContext.sort(), ['scripts/install-libtensorflow.mjs', 'scripts/libtensorflow.cjs']);
    const pinned = copies(lib).find((c) => c.from !== null);
    assert.ok(pinned && pinned.destination === 'package.json', 'package.json comes from the pin stage');
    // The final image takes it in one COPY of its own, before anything that changes with the code.
    const finalCopies = copies(FINAL);
    assert.deepEqual(finalCopies[0], { from: lib.name, sources: ['/opt/tfserve'], destination: '/opt/tfserve' });
    // The addon's rpath is the absolute path the installer used: the same TFSERVE_CACHE_DIR everywhere.
    assert.equal(envOf(lib).get('TFSERVE_CACHE_DIR'), '/opt/tfserve');
    assert.equal(envOf(FINAL).get('TFSERVE_CACHE_DIR'), '/opt/tfserve');
  });

  test('the pin stage\'s package.json is all the libtensorflow installer needs', () => {
    const pin = stage(copies(STAGES.find((s) => s.name === 'libtensorflow')!).find((c) => c.from !== null)!.from!);
    const script = of(pin, 'RUN').map((r) => r.getArgumentsContent() ?? '').join('\n');
    const code = /node -e "(.*)"$/s.exec(script.trim())?.[1];
    assert.ok(code, 'the pin stage runs one node -e script');
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-pin-'));
    try {
      // Run the stage's own script on this checkout's package.json, then the installer on its output alone.
      fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(work, 'package.in.json'));
      const pinDir = path.join(work, 'pin');
      const pinScript = code.replaceAll('/tmp/package.json', path.join(work, 'package.in.json')).replaceAll("'/pin'", JSON.stringify(pinDir)).replaceAll("'/pin/package.json'", JSON.stringify(path.join(pinDir, 'package.json')));
      const made = spawnSync(process.execPath, ['-e', pinScript], { encoding: 'utf8' });
      assert.equal(made.status, 0, made.stderr);
      const pinned = JSON.parse(fs.readFileSync(path.join(pinDir, 'package.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(pinned, { name: PACKAGE.name, version: PACKAGE.version, tfserve: PACKAGE.tfserve });
      fs.mkdirSync(path.join(work, 'scripts'));
      fs.copyFileSync(path.join(pinDir, 'package.json'), path.join(work, 'package.json'));
      for (const file of ['libtensorflow.cjs', 'install-libtensorflow.mjs']) {
        fs.copyFileSync(path.join(REPO_ROOT, 'scripts', file), path.join(work, 'scripts', file));
      }
      // With this machine's cache the installer finds libtensorflow instead of downloading it.
      const installed = spawnSync(process.execPath, [path.join(work, 'scripts', 'install-libtensorflow.mjs')], { encoding: 'utf8' });
      assert.equal(installed.status, 0, installed.stderr);
      assert.match(installed.stderr, /using libtensorflow from /);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  test('tfserve runs as a non-root user', () => {
    const users = of(FINAL, 'USER').map((u) => u.getArgumentsContent() ?? '');
    assert.equal(users.length, 1);
    const [uid, gid] = users[0]!.split(':');
    // Numeric, so that Kubernetes' runAsNonRoot can check it without the image's /etc/passwd.
    assert.match(uid!, /^\d+$/);
    assert.notEqual(Number(uid), 0);
    assert.notEqual(Number(gid ?? uid), 0);
  });

  test('tensorflow/serving\'s contract: MODEL_NAME, MODEL_BASE_PATH=/models, ports 8500 and 8501', () => {
    const env = envOf(FINAL);
    assert.equal(env.get('MODEL_NAME'), 'model');
    assert.equal(env.get('MODEL_BASE_PATH'), '/models');
    const exposed = of(FINAL, 'EXPOSE').flatMap((e) => e.getArguments().map((a) => a.getValue()));
    assert.deepEqual(exposed.sort(), ['8500', '8501']);
  });

  test('the entrypoint is the exec-ing script, in exec form, so tfserve is PID 1', () => {
    const entrypoints = of(FINAL, 'ENTRYPOINT');
    assert.equal(entrypoints.length, 1);
    assert.deepEqual(json(entrypoints[0]!), ['/app/deploy/tfserve_entrypoint.sh'], 'exec form: no /bin/sh -c in between');
    assert.equal(of(FINAL, 'CMD').length, 0, 'arguments come from `docker run image <args>`, as in tensorflow/serving');
    const workdir = of(FINAL, 'WORKDIR').map((w) => w.getArgumentsContent())[0];
    assert.equal(workdir, '/app');
    const script = copies(FINAL).find((c) => c.sources.includes('deploy/tfserve_entrypoint.sh'));
    assert.ok(script && path.posix.resolve(workdir!, script.destination) === '/app/deploy', 'the script is copied to /app/deploy/');
    assert.ok(fs.statSync(path.join(REPO_ROOT, 'deploy', 'tfserve_entrypoint.sh')).mode & 0o111, 'the script is executable');
    const commands = fs
      .readFileSync(path.join(REPO_ROOT, 'deploy', 'tfserve_entrypoint.sh'), 'utf8')
      .replace(/\\\n/g, ' ')
      .split('\n')
      .filter((line) => line.trim() && !line.trim().startsWith('#'));
    assert.match(commands[commands.length - 1]!, /^exec node "\$root\/bin\/tfserve\.js" /);
  });

  test('HEALTHCHECK asks /v2/health/ready on the REST port, with a program the slim image has', () => {
    const checks = of(FINAL, 'HEALTHCHECK');
    assert.equal(checks.length, 1);
    const content = checks[0]!.getArgumentsContent() ?? '';
    const cmd = /\bCMD\s+(\[.*\])\s*$/s.exec(content);
    assert.ok(cmd, `HEALTHCHECK ${content}: CMD in exec form`);
    const command = JSON.parse(cmd[1]!) as string[];
    assert.equal(command[0], 'node', 'node:*-slim has no curl or wget');
    assert.match(command.join(' '), /http:\/\/127\.0\.0\.1:8501\/v2\/health\/ready/);
  });

  test('every file copied from the context exists and is not in .dockerignore; build outputs are', () => {
    for (const s of STAGES) {
      for (const step of copies(s).filter((c) => c.from === null)) {
        for (const source of step.sources) {
          const file = source.replace(/\/$/, '');
          assert.ok(fs.existsSync(path.join(REPO_ROOT, file)), `${s.name ?? 'final'}: ${source} does not exist`);
          assert.ok(!ignored(file), `${s.name ?? 'final'}: ${source} is excluded by .dockerignore`);
        }
      }
    }
    // Local builds must not reach the image: the addon's rpath names this machine's libtensorflow.
    for (const output of ['node_modules', 'build', 'dist', 'dist-test', '.git', 'models/emotion/1']) {
      assert.ok(ignored(output), `.dockerignore should exclude ${output}`);
    }
  });
});
