/**
 * `tfserve warmup`: writes a version's warmup file (`assets.extra/tf_serving_warmup_requests`, the
 * TFRecord of PredictionLogs that TF Serving and tfserve replay at load time) from request bodies in
 * TF Serving's REST JSON, the requests one would send with curl. Beyond TF Serving, which leaves
 * users to write the file with Python and its protos.
 *
 *     tfserve warmup --model_dir=models/celsius/1 request.json more.jsonl
 *
 * Each file holds one body, or, for a `.jsonl` file (or `-` for stdin), one body per line. A body with
 * `instances` or `inputs` becomes a predict_log; one with `examples` a classify_log or regress_log,
 * after its signature's method. Bodies are decoded against the model's own signatures exactly as the
 * REST API decodes them, and each record is then replayed on the model the way the server's warmup
 * replays it (`--check=false` skips the replays), so a file that is written loads. Writes nothing on
 * any error.
 *
 * Exit codes: 0 written; 1 a body, the model or the file failed (`tfserve warmup: <error>` on stderr);
 * 2 a usage error.
 */
import fs from 'node:fs';
import path from 'node:path';

import { TfServeError } from '../model/errors.js';
import { loadSavedModel } from '../model/saved-model.js';
import { parseExamplesBody } from '../json/examples-codec.js';
import { decodePredictInputs, parsePredictBody } from '../json/predict-codec.js';
import { serializeExample } from '../proto/example.js';
import { encodeExamplesRequestMessage, encodePredictionLog, encodePredictRequestMessage } from '../proto/prediction-log.js';
import { encodeTfRecords } from '../proto/tfrecord.js';
import { CLASSIFY_METHOD, DEFAULT_SIGNATURE, Inference, REGRESS_METHOD } from '../serving/inference.js';
import { ModelManager, type ServableHandle } from '../serving/manager.js';
import { SavedModelServable } from '../serving/servable.js';
import { MAX_WARMUP_RECORDS, replayWarmupRecord, warmupFilePath } from '../serving/warmup.js';
import { asTensorMap } from '../serving/request-logging.js';

const USAGE = `usage: tfserve warmup --model_dir=<version dir> [--output=<file>] [--model_name=<name>]
                      [--saved_model_tags=serve] [--check=true|false] <body.json|bodies.jsonl|-> ...

Writes <model_dir>/assets.extra/tf_serving_warmup_requests (or --output) from TF Serving REST bodies:
  {"instances": ...} / {"inputs": ...}  -> predict_log       ("signature_name" picks the signature)
  {"examples": [...], "context": {...}} -> classify_log or regress_log, by the signature's method
  --model_name   the model name in the records (default: the base path's name; TF Serving ignores it)
  --check        replay each record on the model before writing, as the server's warmup will (default true)`;

class UsageError extends Error {}

interface WarmupArgs {
  modelDir: string;
  output: string;
  modelName: string;
  tags: string[];
  check: boolean;
  inputs: string[];
}

function parseArgs(argv: readonly string[]): WarmupArgs | 'help' {
  const values: Record<string, string> = {};
  const inputs: string[] = [];
  for (const arg of argv) {
    if (arg === '-h' || arg === '--help') return 'help';
    const match = /^--([a-z_]+)=(.*)$/s.exec(arg);
    if (match === null) {
      if (arg.startsWith('--')) throw new UsageError(`flag ${arg} needs a value (--flag=value)`);
      inputs.push(arg);
      continue;
    }
    if (!['model_dir', 'output', 'model_name', 'saved_model_tags', 'check'].includes(match[1]!)) throw new UsageError(`unknown flag: --${match[1]}`);
    values[match[1]!] = match[2]!;
  }
  if (!values['model_dir']) throw new UsageError('--model_dir is required');
  if (inputs.length === 0) throw new UsageError('no request bodies given');
  const check = values['check'] ?? 'true';
  if (check !== 'true' && check !== 'false') throw new UsageError(`Invalid value "${check}" for flag --check: expected true or false`);
  const modelDir = path.resolve(values['model_dir']);
  return {
    modelDir,
    output: values['output'] ? path.resolve(values['output']) : warmupFilePath(modelDir),
    modelName: values['model_name'] ?? path.basename(path.dirname(modelDir)),
    tags: (values['saved_model_tags'] ?? 'serve').split(',').map((t) => t.trim()).filter(Boolean),
    check: check === 'true',
    inputs,
  };
}

/** The bodies of the input files, each with where it came from (for error messages). */
function readBodies(inputs: readonly string[]): { where: string; body: string }[] {
  const bodies: { where: string; body: string }[] = [];
  for (const input of inputs) {
    const text = input === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(input, 'utf8');
    if (input === '-' || input.endsWith('.jsonl')) {
      text.split('\n').forEach((line, i) => {
        if (line.trim() !== '') bodies.push({ where: `${input === '-' ? 'stdin' : input}:${i + 1}`, body: line });
      });
    } else {
      bodies.push({ where: input, body: text });
    }
  }
  return bodies;
}

/** One body as a PredictionLog record, decoded against the model's signatures as the REST API decodes it. */
function recordOf(body: string, handle: ServableHandle, inference: Inference, modelName: string): Uint8Array {
  const parsed = parsePredictBody(body);
  const signatureName = parsed.signatureName;
  if (parsed.document.members.has('examples')) {
    const key = signatureName ? signatureName : DEFAULT_SIGNATURE;
    const method = handle.servable.signatureDefs[key]?.method_name;
    if (method !== CLASSIFY_METHOD && method !== REGRESS_METHOD) {
      throw new TfServeError('INVALID_ARGUMENT', `signature "${key}" is not a classify or regress signature (method_name: ${method ?? 'none'}), so it cannot take "examples"`);
    }
    const { examples, context } = parseExamplesBody(body);
    const input = context === undefined
      ? { examples: examples.map(serializeExample) }
      : { examples: examples.map(serializeExample), context: serializeExample(context) };
    return encodePredictionLog({
      logType: method === CLASSIFY_METHOD ? 'classify_log' : 'regress_log',
      request: encodeExamplesRequestMessage({ modelSpec: { name: modelName, signatureName: signatureName ?? '' }, input }),
    });
  }
  const inputs = decodePredictInputs(parsed, inference.restPredictSignature(handle, signatureName));
  return encodePredictionLog({
    logType: 'predict_log',
    request: encodePredictRequestMessage({ modelSpec: { name: modelName, signatureName: signatureName ?? '' }, inputs: asTensorMap(inputs) }),
  });
}

export interface WarmupCommandOptions {
  destination: NodeJS.WritableStream;
  errorDestination: NodeJS.WritableStream;
}

export async function runWarmupCommand(argv: readonly string[], options: WarmupCommandOptions): Promise<number> {
  let args: WarmupArgs | 'help';
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    options.errorDestination.write(`tfserve warmup: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args === 'help') {
    options.destination.write(`${USAGE}\n`);
    return 0;
  }
  const { modelDir, output, modelName, tags, check } = args;
  let where = '';
  let servable: SavedModelServable | undefined;
  try {
    const bodies = readBodies(args.inputs);
    if (bodies.length > MAX_WARMUP_RECORDS) {
      throw new TfServeError('INVALID_ARGUMENT', `Number of warmup records exceeds the maximum (${MAX_WARMUP_RECORDS}): ${bodies.length} bodies given`);
    }
    servable = new SavedModelServable(await loadSavedModel(modelDir, { tags }));
    // No model is managed here: the calls run on the handle of the model just loaded.
    const inference = new Inference({ manager: new ModelManager({ load: () => Promise.reject(new Error('unused')) }) });
    const handle: ServableHandle = { name: modelName, version: 0, servable, release() {} };
    const records: Uint8Array[] = [];
    for (const body of bodies) {
      where = `${body.where}: `;
      const record = recordOf(body.body, handle, inference, modelName);
      if (check) await replayWarmupRecord(Buffer.from(record), handle, inference, output);
      records.push(record);
    }
    where = '';
    fs.mkdirSync(path.dirname(output), { recursive: true });
    fs.writeFileSync(output, encodeTfRecords(records));
    options.destination.write(`Wrote ${records.length} warmup record${records.length === 1 ? '' : 's'} to ${output}${check ? ' (each replayed on the model)' : ''}\n`);
    return 0;
  } catch (err) {
    const text = err instanceof TfServeError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
    options.errorDestination.write(`tfserve warmup: ${where}${text}\n`);
    return 1;
  } finally {
    await servable?.dispose();
  }
}
