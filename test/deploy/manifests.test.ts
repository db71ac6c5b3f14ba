/**
 * deploy/kubernetes/ and deploy/kserve/ checked without a cluster. Every YAML document is validated
 * against its API's schema: Kubernetes' own kinds and the Prometheus Operator's ServiceMonitor through
 * kubernetes-models (the Kubernetes OpenAPI schemas, compiled by ajv), KServe's kinds against the
 * openAPIV3Schema of KServe's own CRDs (scripts/fetch-kserve-crds.mjs caches them; skipped, with the
 * reason printed, where they cannot be fetched), made strict as the API server is: unknown fields
 * are errors. Then the manifests are checked against each other and against tfserve: every argument
 * is a tfserve flag, probes and scrapes hit the ports and paths that serve them, selectors select.
 *
 * Not checked here: the kubernetes-models schemas leave unknown fields open (the API server's strict
 * field validation would refuse them), so the fields the kit relies on are also read back by name
 * below; KServe's CEL rules (x-kubernetes-validations) and admission webhooks are not run. Every
 * probe's path is asked of tfserve's real REST app, as the CLI builds it: it must succeed (200-399, as
 * the kubelet counts it) once the models are loaded, and readiness must fail while a configured model
 * has no version yet, while liveness still succeeds.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite, test, type TestContext } from 'node:test';

import Ajv, { type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';

import { parseFlags } from '../../src/cli/flags.js';
import { parseTextProto, type MessageSchema } from '../../src/proto/text-format.js';
import { buildApp } from '../../src/server/app.js';
import { Inference } from '../../src/serving/inference.js';
import { singleModelConfig } from '../../src/serving/model-config.js';
import { OpenInference } from '../../src/serving/open-inference.js';
import { ServerCore } from '../../src/serving/server-core.js';
import { loadServable, REPO_ROOT } from '../helpers.js';

const DEPLOY = path.join(REPO_ROOT, 'deploy');
const METRICS_PATH = '/monitoring/prometheus/metrics';

// Manifests are plain YAML data, read field by field.
type Json = Record<string, any>;

interface Manifest {
  file: string;
  doc: Json;
}

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(entry.name) ? [full] : [];
  });
}

/** Every document of every YAML file; YAML errors and warnings fail here. */
function readManifests(dir: string): Manifest[] {
  return yamlFiles(dir).flatMap((file) => {
    const docs = parseAllDocuments(fs.readFileSync(file, 'utf8'), { prettyErrors: true, uniqueKeys: true });
    return docs.map((doc) => {
      const problems = [...doc.errors, ...doc.warnings];
      assert.equal(problems.length, 0, `${file}: ${problems.map((p) => p.message).join('\n')}`);
      return { file: path.relative(REPO_ROOT, file), doc: doc.toJS() as Json };
    });
  });
}

const KUBERNETES = readManifests(path.join(DEPLOY, 'kubernetes'));
const KSERVE = readManifests(path.join(DEPLOY, 'kserve'));

function only(manifests: Manifest[], kind: string): Json {
  const found = manifests.filter((m) => m.doc.kind === kind);
  assert.equal(found.length, 1, `expected one ${kind}, found ${found.length}`);
  return found[0]!.doc;
}

// ---- Kubernetes' own kinds and the ServiceMonitor: kubernetes-models --------------------------------

interface KubernetesModel {
  validate(): void;
}
type ModelClass = new (data: Json) => KubernetesModel;

// Dynamic imports: the packages are ES modules and this file compiles to CommonJS.
const MODELS: Record<string, () => Promise<ModelClass>> = {
  'v1/ConfigMap': async () => (await import('kubernetes-models/v1/ConfigMap')).ConfigMap as unknown as ModelClass,
  'v1/Service': async () => (await import('kubernetes-models/v1/Service')).Service as unknown as ModelClass,
  'apps/v1/Deployment': async () => (await import('kubernetes-models/apps/v1/Deployment')).Deployment as unknown as ModelClass,
  'autoscaling/v2/HorizontalPodAutoscaler': async () =>
    (await import('kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler')).HorizontalPodAutoscaler as unknown as ModelClass,
  'monitoring.coreos.com/v1/ServiceMonitor': async () =>
    (await import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor'))
      .ServiceMonitor as unknown as ModelClass,
};

async function kubernetesErrors(doc: Json): Promise<string | null> {
  const load = MODELS[`${doc.apiVersion}/${doc.kind}`];
  assert.ok(load, `no schema for ${doc.apiVersion} ${doc.kind}`);
  try {
    new (await load())(doc).validate();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

// ---- KServe's kinds: the CRDs' openAPIV3Schema, strict ------------------------------------------------

const KSERVE_CRDS: Record<string, string> = {
  ServingRuntime: 'serving.kserve.io_servingruntimes.yaml',
  InferenceService: 'serving.kserve.io_inferenceservices.yaml',
};

/** The cached CRD folder, or the reason it cannot be had here. */
function fetchKserve(): { dir: string } | { skip: string } {
  const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'fetch-kserve-crds.mjs')], { encoding: 'utf8' });
  if (result.status === 3) return { skip: `KServe CRDs unavailable: ${result.stderr.trim()}` };
  assert.equal(result.status, 0, `scripts/fetch-kserve-crds.mjs failed: ${result.stderr}`);
  return { dir: result.stdout.trim() };
}
const kserve = fetchKserve();
const kserveSkip = 'skip' in kserve ? kserve.skip : false;
if (kserveSkip) process.stdout.write(`# skipping the KServe schema checks: ${kserveSkip}\n`);

/**
 * A structural schema as the API server applies it, in JSON Schema: objects with declared properties
 * take no others (the server refuses unknown fields) unless x-kubernetes-preserve-unknown-fields says
 * so; the x-kubernetes-* markers go (int-or-string already comes with its anyOf; CEL rules are not run).
 */
function strictSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strictSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema as Json)) {
    if (key.startsWith('x-kubernetes-')) continue;
    // `properties`, `default` and `example` hold data or names, not schemas to rewrite as a whole.
    if (key === 'properties') {
      out[key] = Object.fromEntries(Object.entries(value as Json).map(([name, sub]) => [name, strictSchema(sub)]));
    } else if (key === 'default' || key === 'example' || key === 'enum') {
      out[key] = value;
    } else {
      out[key] = strictSchema(value);
    }
  }
  const source = schema as Json;
  if (source.properties && source.additionalProperties === undefined && source['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false });
  // The OpenAPI formats the API server checks on numbers; string formats are not checked here.
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  for (const format of ['double', 'float', 'byte', 'date-time', 'quantity', 'duration', 'uri', 'binary']) ajv.addFormat(format, true);
  return ajv;
}

const kserveValidators = new Map<string, ValidateFunction>();
function kserveValidator(kind: string, apiVersion: string): ValidateFunction {
  const key = `${apiVersion}/${kind}`;
  const cached = kserveValidators.get(key);
  if (cached) return cached;
  assert.ok(!('skip' in kserve));
  const file = KSERVE_CRDS[kind];
  assert.ok(file, `no KServe CRD for ${kind}`);
  const crd = parseAllDocuments(fs.readFileSync(path.join(kserve.dir, file), 'utf8'))[0]!.toJS() as Json;
  const [group, version] = apiVersion.split('/');
  assert.equal(crd.spec.group, group, `${kind} is in ${crd.spec.group}, not ${group}`);
  const served = (crd.spec.versions as Json[]).find((v) => v.name === version && v.served);
  assert.ok(served, `${kind} ${apiVersion} is not a served version of the CRD`);
  const validate = newAjv().compile(strictSchema(served.schema.openAPIV3Schema) as object);
  kserveValidators.set(key, validate);
  return validate;
}

function kserveErrors(doc: Json): string | null {
  const validate = kserveValidator(doc.kind, doc.apiVersion);
  if (validate(doc)) return null;
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`).join('; ');
}

/** KServe's protocol names, from its Go constants (ProtocolV1 InferenceServiceProtocol = "v1" ...). */
function kserveProtocols(): Set<string> {
  assert.ok(!('skip' in kserve));
  const source = fs.readFileSync(path.join(kserve.dir, 'constants.go'), 'utf8');
  return new Set([...source.matchAll(/^\s*Protocol\w+\s+InferenceServiceProtocol\s*=\s*"([^"]+)"/gm)].map((m) => m[1]!));
}

// ---- helpers over the manifests -----------------------------------------------------------------------

const MONITORING_CONFIG: MessageSchema = {
  name: 'tensorflow.serving.MonitoringConfig',
  fields: {
    prometheus_config: {
      type: { name: 'tensorflow.serving.PrometheusConfig', fields: { enable: { type: 'bool' }, path: { type: 'string' } } },
    },
  },
};

function monitoringConfig(text: string): { enable: boolean; path: string } {
  const parsed = parseTextProto(text, MONITORING_CONFIG);
  return parsed.prometheus_config as unknown as { enable: boolean; path: string };
}

/** The flags tfserve gets in the image: the entrypoint's (deploy/tfserve_entrypoint.sh), then `args`. */
function imageFlags(args: string[], env: Record<string, string> = {}): ReturnType<typeof parseFlags>['flags'] {
  const name = env.MODEL_NAME ?? 'model';
  const base = env.MODEL_BASE_PATH ?? '/models';
  return parseFlags(['--port=8500', '--rest_api_port=8501', `--model_name=${name}`, `--model_base_path=${base}/${name}`, ...args]).flags;
}

function containerPort(container: Json, port: number | string): number {
  if (typeof port === 'number') return port;
  const named = (container.ports as Json[]).find((p) => p.name === port);
  assert.ok(named, `container ${container.name} has no port named ${port}`);
  return named.containerPort as number;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);
}

// ---- tests ----------------------------------------------------------------------------------------------

suite('deploy/kubernetes against the Kubernetes API schemas', () => {
  test('every document has a kind this suite validates', () => {
    assert.deepEqual(
      KUBERNETES.map((m) => `${m.doc.apiVersion}/${m.doc.kind}`).sort(),
      Object.keys(MODELS).sort(),
      'one manifest per kind: a new kind needs its schema in MODELS',
    );
  });

  for (const { file, doc } of KUBERNETES) {
    test(`${file}: ${doc.kind} ${doc.metadata?.name} is valid`, async () => {
      assert.match(doc.metadata?.name ?? '', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'metadata.name must be a DNS-1123 label');
      assert.equal(await kubernetesErrors(doc), null);
    });
  }

  test('EXPECTED FAILURE - a Deployment whose containerPort is a string is refused', async () => {
    const deployment = structuredClone(only(KUBERNETES, 'Deployment'));
    deployment.spec.template.spec.containers[0].ports[0].containerPort = 'grpc';
    assert.match((await kubernetesErrors(deployment)) ?? '', /containerPort must be integer/);
  });

  test('EXPECTED FAILURE - an HPA without scaleTargetRef is refused', async () => {
    const hpa = structuredClone(only(KUBERNETES, 'HorizontalPodAutoscaler'));
    delete hpa.spec.scaleTargetRef;
    assert.match((await kubernetesErrors(hpa)) ?? '', /scaleTargetRef/);
  });
});

suite('deploy/kubernetes: the pieces fit tfserve and each other', () => {
  const deployment = only(KUBERNETES, 'Deployment');
  const service = only(KUBERNETES, 'Service');
  const hpa = only(KUBERNETES, 'HorizontalPodAutoscaler');
  const configMap = only(KUBERNETES, 'ConfigMap');
  const serviceMonitor = only(KUBERNETES, 'ServiceMonitor');
  const pod = deployment.spec.template;
  const containers = pod.spec.containers as Json[];
  const container = containers.find((c) => c.name === 'tfserve')!;
  const env = Object.fromEntries((container.env as Json[]).map((e) => [e.name, e.value as string]));

  test('the container serves gRPC on 8500 and REST on 8501, and its arguments are tfserve flags', () => {
    assert.ok(container, 'a container named tfserve');
    assert.equal(containerPort(container, 'grpc'), 8500);
    assert.equal(containerPort(container, 'http'), 8501);
    const flags = imageFlags(container.args as string[], env);
    assert.equal(flags.port, 8500);
    assert.equal(flags.rest_api_port, 8501);
    assert.equal(flags.model_base_path, `${env.MODEL_BASE_PATH}/${env.MODEL_NAME}`);
  });

  test('probes use the v2 health endpoints on the REST port', () => {
    const probe = (name: string): Json => container[name].httpGet;
    assert.equal(probe('readinessProbe').path, '/v2/health/ready');
    assert.equal(probe('livenessProbe').path, '/v2/health/live');
    assert.equal(probe('startupProbe').path, '/v2/health/live');
    for (const name of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      assert.equal(containerPort(container, probe(name).port), imageFlags(container.args, env).rest_api_port, name);
    }
  });

  test('the grace period outlasts the preStop sleep plus the 30 s drain', () => {
    const drainSeconds = imageFlags(container.args, env).drain_timeout_seconds; // 30 unless the manifest sets it
    const sleep = container.lifecycle.preStop.exec.command as string[];
    assert.equal(sleep[0], 'sleep');
    const grace = pod.spec.terminationGracePeriodSeconds as number;
    assert.ok(grace > Number(sleep[1]) + drainSeconds, `terminationGracePeriodSeconds ${grace} <= ${sleep[1]} + ${drainSeconds}`);
  });

  test('the pod runs as the image\'s non-root user with a read-only root', () => {
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
    assert.equal(pod.spec.securityContext.runAsUser, 1000);
    for (const c of [...containers, ...(pod.spec.initContainers as Json[])]) {
      assert.equal(c.securityContext.allowPrivilegeEscalation, false, c.name);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true, c.name);
    }
  });

  test('the models volume holds MODEL_NAME under MODEL_BASE_PATH', () => {
    const mount = (container.volumeMounts as Json[]).find((m) => m.mountPath === env.MODEL_BASE_PATH);
    assert.ok(mount, `a volume mounted at ${env.MODEL_BASE_PATH}`);
    const init = (pod.spec.initContainers as Json[])[0]!;
    assert.ok((init.volumeMounts as Json[]).some((m) => m.name === mount.name && m.mountPath === env.MODEL_BASE_PATH));
    assert.deepEqual(init.command, ['cp', '-R', `/app/models/${env.MODEL_NAME}`, `${env.MODEL_BASE_PATH}/`]);
    assert.ok(fs.existsSync(path.join(REPO_ROOT, 'models', env.MODEL_NAME!, '1', 'saved_model.pb')), 'the image bundles the model');
  });

  test('--monitoring_config_file is the ConfigMap, a MonitoringConfig with Prometheus on the scraped path', () => {
    const file = imageFlags(container.args, env).monitoring_config_file;
    const mount = (container.volumeMounts as Json[]).find((m) => path.dirname(file) === m.mountPath);
    assert.ok(mount, `${file} is on a volume`);
    const volume = (pod.spec.volumes as Json[]).find((v) => v.name === mount.name);
    assert.equal(volume?.configMap?.name, configMap.metadata.name);
    const text = configMap.data[path.basename(file)] as string;
    assert.ok(text, `the ConfigMap has the key ${path.basename(file)}`);
    assert.deepEqual(monitoringConfig(text), { enable: true, path: METRICS_PATH });
    // The image's copy (deploy/monitoring_config.txt, used by the KServe runtime) says the same.
    assert.deepEqual(monitoringConfig(fs.readFileSync(path.join(DEPLOY, 'monitoring_config.txt'), 'utf8')), { enable: true, path: METRICS_PATH });
  });

  test('Prometheus scrape annotations point at the metrics path on the REST port', () => {
    const annotations = pod.metadata.annotations as Record<string, string>;
    assert.equal(annotations['prometheus.io/scrape'], 'true');
    assert.equal(Number(annotations['prometheus.io/port']), imageFlags(container.args, env).rest_api_port);
    assert.equal(annotations['prometheus.io/path'], METRICS_PATH);
  });

  test('the Deployment selects its own pods; the Service selects them, on the named ports', () => {
    assert.ok(selects(deployment.spec.selector.matchLabels, pod.metadata.labels));
    assert.ok(selects(service.spec.selector, pod.metadata.labels));
    const ports = Object.fromEntries((service.spec.ports as Json[]).map((p) => [p.name, p]));
    assert.equal(ports.grpc.port, 8500);
    assert.equal(containerPort(container, ports.grpc.targetPort), 8500);
    assert.equal(ports.grpc.appProtocol, 'grpc');
    assert.equal(ports.http.port, 8501);
    assert.equal(containerPort(container, ports.http.targetPort), 8501);
  });

  test('the HPA scales this Deployment on CPU, which the container requests', () => {
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: deployment.apiVersion, kind: deployment.kind, name: deployment.metadata.name });
    assert.equal(hpa.spec.metrics[0].resource.name, 'cpu');
    assert.ok(container.resources.requests.cpu, 'Utilization targets need a CPU request');
    assert.ok(hpa.spec.minReplicas <= hpa.spec.maxReplicas);
  });

  test('the ServiceMonitor scrapes the Service\'s http port at the metrics path', () => {
    assert.ok(selects(serviceMonitor.spec.selector.matchLabels, service.metadata.labels));
    const endpoint = serviceMonitor.spec.endpoints[0];
    assert.ok((service.spec.ports as Json[]).some((p) => p.name === endpoint.port));
    assert.equal(endpoint.path, METRICS_PATH);
  });
});

suite('deploy/kserve against KServe\'s CRDs', { skip: kserveSkip }, () => {
  test('every document is a KServe kind', () => {
    assert.deepEqual(KSERVE.map((m) => m.doc.kind).sort(), Object.keys(KSERVE_CRDS).sort());
  });

  for (const { file, doc } of KSERVE) {
    test(`${file}: ${doc.kind} ${doc.metadata?.name} is valid`, () => {
      assert.match(doc.metadata?.name ?? '', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      assert.equal(kserveErrors(doc), null);
    });
  }

  test('EXPECTED FAILURE - a misspelt field is refused, as the API server refuses it', () => {
    const runtime = structuredClone(only(KSERVE, 'ServingRuntime'));
    runtime.spec.suportedModelFormats = runtime.spec.supportedModelFormats;
    assert.match(kserveErrors(runtime) ?? '', /must NOT have additional properties.*suportedModelFormats/);
  });

  test('EXPECTED FAILURE - a misspelt container field inside the runtime is refused', () => {
    const runtime = structuredClone(only(KSERVE, 'ServingRuntime'));
    runtime.spec.containers[0].readinesProbe = runtime.spec.containers[0].readinessProbe;
    assert.match(kserveErrors(runtime) ?? '', /\/spec\/containers\/0 must NOT have additional properties.*readinesProbe/);
  });

  test('EXPECTED FAILURE - a priority below 1 is refused', () => {
    const runtime = structuredClone(only(KSERVE, 'ServingRuntime'));
    runtime.spec.supportedModelFormats[0].priority = 0;
    assert.match(kserveErrors(runtime) ?? '', /supportedModelFormats\/0\/priority must be >= 1/);
  });
});

suite('deploy/kserve: the runtime is tfserve and the InferenceService uses it', { skip: kserveSkip }, () => {
  const runtime = only(KSERVE, 'ServingRuntime');
  const isvc = only(KSERVE, 'InferenceService');
  const container = runtime.spec.containers[0] as Json;

  test('the runtime serves TensorFlow over every protocol KServe names', () => {
    assert.ok((runtime.spec.supportedModelFormats as Json[]).some((f) => f.name === 'tensorflow' && f.autoSelect));
    const protocols = kserveProtocols();
    assert.ok(protocols.has('grpc-v2'), `KServe's protocol constants: ${[...protocols].join(', ')}`);
    assert.deepEqual([...runtime.spec.protocolVersions].sort(), [...protocols].filter(Boolean).sort());
  });

  test('its arguments are tfserve flags: KServe\'s model folder and ports', () => {
    const flags = imageFlags((container.args as string[]).map((arg) => arg.replace('{{.Name}}', isvc.metadata.name)));
    assert.equal(flags.model_name, isvc.metadata.name);
    assert.equal(flags.model_base_path, '/mnt/models');
    assert.equal(flags.rest_api_port, 8080);
    assert.equal(flags.port, 9000);
    assert.equal(container.ports[0].containerPort, flags.rest_api_port);
    assert.equal(container.readinessProbe.httpGet.path, '/v2/health/ready');
    assert.equal(container.readinessProbe.httpGet.port, flags.rest_api_port);
    // The file is baked into the image (deploy/Dockerfile copies deploy/ there).
    assert.equal(flags.monitoring_config_file, '/app/deploy/monitoring_config.txt');
    assert.equal(runtime.spec.annotations['prometheus.kserve.io/port'], String(flags.rest_api_port));
    assert.equal(runtime.spec.annotations['prometheus.kserve.io/path'], METRICS_PATH);
  });

  test('the InferenceService names the runtime, a format it supports and one of its protocols', () => {
    const model = isvc.spec.predictor.model;
    assert.equal(model.runtime, runtime.metadata.name);
    assert.ok((runtime.spec.supportedModelFormats as Json[]).some((f) => f.name === model.modelFormat.name && f.version === model.modelFormat.version));
    assert.ok(runtime.spec.protocolVersions.includes(model.protocolVersion));
  });
});

suite('every probe asks an endpoint tfserve serves, and it tells the truth', () => {
  const deployment = only(KUBERNETES, 'Deployment').spec.template.spec.containers.find((c: Json) => c.name === 'tfserve') as Json;
  const runtime = only(KSERVE, 'ServingRuntime').spec.containers[0] as Json;
  const probes: { what: string; path: string; readiness: boolean }[] = [
    ...['readinessProbe', 'livenessProbe', 'startupProbe'].map((name) => ({ what: `Deployment ${name}`, path: deployment[name].httpGet.path as string, readiness: name === 'readinessProbe' })),
    { what: 'ServingRuntime readinessProbe', path: runtime.readinessProbe.httpGet.path as string, readiness: true },
  ];
  const succeeds = (status: number) => status >= 200 && status < 400; // the kubelet's httpGet rule

  /** tfserve's REST app over a real ServerCore, as the CLI wires it, serving `configs`. */
  async function server(t: TestContext, configs: ReturnType<typeof singleModelConfig>[]) {
    const core = new ServerCore(configs, { load: loadServable, pollWaitSeconds: -1, maxLoadRetries: 0, log: { info() {}, warn() {}, error() {} } });
    await core.start();
    const inference = new Inference({ manager: core.manager });
    const app = await buildApp({ inference, openInference: new OpenInference({ inference, readiness: core }) });
    t.after(async () => {
      await app.close();
      await core.close();
    });
    return async (url: string) => (await app.inject({ method: 'GET', url })).statusCode;
  }

  test('with the model loaded every probe succeeds', async (t) => {
    const get = await server(t, [singleModelConfig('half_plus_two', path.join(REPO_ROOT, 'models', 'half_plus_two'))]);
    for (const probe of probes) assert.ok(succeeds(await get(probe.path)), `${probe.what}: ${probe.path}`);
  });

  test('EXPECTED FAILURE - a configured model without a version fails readiness, and only readiness', async (t) => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-probe-'));
    t.after(() => fs.rmSync(empty, { recursive: true, force: true }));
    const get = await server(t, [singleModelConfig('half_plus_two', path.join(REPO_ROOT, 'models', 'half_plus_two')), singleModelConfig('later', empty)]);
    for (const probe of probes) assert.equal(succeeds(await get(probe.path)), !probe.readiness, `${probe.what}: ${probe.path}`);
  });
});
