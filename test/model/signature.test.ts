import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { suite, test } from 'node:test';

import { DTYPES } from '../../src/model/dtypes.js';
import { MetaGraphDef, SavedModelProto } from '../../src/proto/messages.js';
import { parseMetaGraphDef } from '../../src/model/signature.js';
import { MODELS_DIR, readGolden, SHARED_FIXTURES, sharedFixturesSkip } from '../helpers.js';

/** The serialized MetaGraphDef with the `serve` tag, as TF_LoadSessionFromSavedModel would return it. */
function metaGraphBytes(exportDir: string): Uint8Array {
  const savedModel = SavedModelProto.decode(fs.readFileSync(path.join(exportDir, 'saved_model.pb'))) as unknown as {
    metaGraphs: { metaInfoDef?: { tags?: string[] } }[];
  };
  const metaGraph = savedModel.metaGraphs.find((graph) => graph.metaInfoDef?.tags?.includes('serve'));
  assert.ok(metaGraph, `${exportDir} has a serve meta graph`);
  return MetaGraphDef.encode(metaGraph as never).finish();
}

const TF_NAMES: Record<string, string> = { DT_FLOAT: 'float32', DT_STRING: 'string', DT_INT64: 'int64' };

suite('signature', () => {
  test('half_plus_two matches TF Serving\'s own metadata answer', { skip: sharedFixturesSkip }, () => {
    const info = parseMetaGraphDef(metaGraphBytes(path.join(SHARED_FIXTURES, 'saved_model_half_plus_two_cpu', '00000123')));
    const expected = JSON.parse(fs.readFileSync(path.join(SHARED_FIXTURES, 'half_plus_two_model_metadata.json'), 'utf8'))
      .metadata.signature_def.signature_def as Record<string, {
        method_name: string;
        inputs: Record<string, { name: string; dtype: string; tensor_shape: { dim?: { size: string }[]; unknown_rank: boolean } }>;
        outputs: Record<string, { name: string; dtype: string; tensor_shape: { dim?: { size: string }[]; unknown_rank: boolean } }>;
      }>;
    assert.deepEqual(Object.keys(info.signatures).sort(), Object.keys(expected).sort());
    assert.deepEqual(info.tags, ['serve']);
    for (const [key, signature] of Object.entries(expected)) {
      const actual = info.signatures[key]!;
      assert.equal(actual.methodName, signature.method_name, key);
      for (const side of ['inputs', 'outputs'] as const) {
        assert.deepEqual(Object.keys(actual[side]).sort(), Object.keys(signature[side]).sort());
        for (const [tensorKey, tensor] of Object.entries(signature[side])) {
          const got = actual[side][tensorKey]!;
          assert.equal(got.name, tensor.name);
          assert.equal(got.dtype, TF_NAMES[tensor.dtype]);
          assert.equal(DTYPES[got.dtype as 'float32'].tfType, got.tfType);
          const shape = tensor.tensor_shape.unknown_rank ? null : (tensor.tensor_shape.dim ?? []).map((d) => Number(d.size));
          assert.deepEqual(got.shape, shape, `${key}.${side}.${tensorKey}`);
        }
      }
    }
  });

  test('the init op entry of TF2 exports is not a signature', { skip: sharedFixturesSkip }, () => {
    const info = parseMetaGraphDef(metaGraphBytes(path.join(SHARED_FIXTURES, 'saved_model_half_plus_two_tf2_cpu', '00000123')));
    assert.ok(!('__saved_model_init_op' in info.signatures));
    assert.equal(info.signatures['serving_default']!.inputs['x']!.name, 'serving_default_x:0');
  });

  test('own models: dynamic dims, unknown rank and every dtype match the goldens', () => {
    for (const name of ['tf2_module', 'dtypes', 'keras_multi', 'tf1_methods']) {
      const golden = readGolden(name);
      const info = parseMetaGraphDef(metaGraphBytes(path.join(MODELS_DIR, name, '1')));
      for (const [key, signature] of Object.entries(golden.signatures)) {
        const actual = info.signatures[key]!;
        assert.ok(actual, `${name}: ${key}`);
        assert.equal(actual.methodName, signature.methodName);
        for (const side of ['inputs', 'outputs'] as const) {
          const simplified = Object.fromEntries(
            Object.entries(actual[side]).map(([k, t]) => [k, { name: t.name, dtype: t.dtype, shape: t.shape }]),
          );
          assert.deepEqual(simplified, signature[side], `${name}.${key}.${side}`);
        }
      }
    }
  });

  test('EXPECTED FAILURE - garbage bytes do not parse', () => {
    assert.throws(() => parseMetaGraphDef(new Uint8Array([0x2a, 0xff, 0xff, 0xff])));
  });
});
