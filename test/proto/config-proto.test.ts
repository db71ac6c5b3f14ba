import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { suite, test } from 'node:test';

import protobuf from 'protobufjs';

import { CONFIG_PROTO_SCHEMA, configProtoFields, parseConfigProto } from '../../src/proto/config-proto.js';
import { ConfigProto } from '../../src/proto/messages.js';
import { REPO_ROOT } from '../helpers.js';

const DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'config-proto');

interface Described {
  tensorflow: string;
  messages: Record<string, Record<string, { id: number; type: string; keyType?: string; repeated?: true }>>;
  enums: Record<string, Record<string, number>>;
}

/** Our declaration in the shape scripts/make-config-proto-goldens.py writes TensorFlow's in. */
function describe(root: protobuf.Type): Omit<Described, 'tensorflow'> {
  const messages: Described['messages'] = {};
  const enums: Described['enums'] = {};
  const name = (object: protobuf.ReflectionObject): string => object.fullName.slice(1);
  const visit = (type: protobuf.Type): void => {
    if (messages[name(type)]) return;
    const fields: Described['messages'][string] = {};
    messages[name(type)] = fields;
    for (const field of type.fieldsArray) {
      const resolved = field.resolve().resolvedType;
      const entry: Described['messages'][string][string] = { id: field.id, type: resolved ? name(resolved) : field.type };
      if (field instanceof protobuf.MapField) entry.keyType = field.keyType;
      else if (field.repeated) entry.repeated = true;
      if (resolved instanceof protobuf.Type) visit(resolved);
      if (resolved instanceof protobuf.Enum) enums[name(resolved)] = { ...resolved.values };
      fields[field.name] = entry;
    }
  };
  visit(root);
  return { messages, enums };
}

suite('config-proto', () => {
  test("the declaration is TensorFlow 2.21's tensorflow.ConfigProto: every message, field number, type and enum value", () => {
    const tensorflow = JSON.parse(fs.readFileSync(path.join(DIR, 'descriptor.json'), 'utf8')) as Described;
    assert.equal(tensorflow.tensorflow, '2.21.0');
    const ours = describe(ConfigProto);
    assert.deepEqual(Object.keys(ours.messages).sort(), Object.keys(tensorflow.messages).sort());
    for (const [message, fields] of Object.entries(tensorflow.messages)) assert.deepEqual(ours.messages[message], fields, message);
    assert.deepEqual(ours.enums, tensorflow.enums);
  });

  test('the text schema is derived from it: proto names, maps, enums, nested messages', () => {
    const fields = CONFIG_PROTO_SCHEMA.fields;
    assert.equal(CONFIG_PROTO_SCHEMA.name, 'tensorflow.ConfigProto');
    assert.deepEqual(fields['device_count'], { type: 'int32', map: 'string' });
    assert.equal(fields['device_filters']?.repeated, true);
    const gpu = fields['gpu_options']!.type;
    assert.ok(typeof gpu === 'object' && gpu.name === 'tensorflow.GPUOptions');
    assert.equal(fields['pluggable_device_options']!.type, gpu, 'one schema object per message type');
    const optimizer = parseConfigProto('graph_options { optimizer_options { opt_level: L0 global_jit_level: 1 } }');
    assert.deepEqual(optimizer, { graph_options: { optimizer_options: { opt_level: 'L0', global_jit_level: 'ON_1' } } });
  });

  test('EXPECTED FAILURE - an unknown field is protobuf\'s error at its line and column', () => {
    assert.throws(() => parseConfigProto('gpu_options {\n  allow_grow: true\n}\n'), {
      name: 'TfServeError',
      code: 'INVALID_ARGUMENT',
      message: 'Error parsing text-format tensorflow.ConfigProto: 2:13: Message type "tensorflow.GPUOptions" has no field named "allow_grow".',
    });
    assert.throws(() => parseConfigProto('intra_op_threads: 2', '/etc/session.pbtxt'), {
      code: 'INVALID_ARGUMENT',
      message: "Invalid protobuf file: '/etc/session.pbtxt': Error parsing text-format tensorflow.ConfigProto: 1:17: Message type \"tensorflow.ConfigProto\" has no field named \"intra_op_threads\".",
    });
  });

  test('EXPECTED FAILURE - bad values: a string for an int32, an unknown enum value, an out-of-range integer', () => {
    assert.throws(() => parseConfigProto('intra_op_parallelism_threads: "two"'), { message: /1:31: Expected integer, got: "two"$/ });
    assert.throws(() => parseConfigProto('graph_options { optimizer_options { opt_level: L2 } }'), {
      message: /1:51: Unknown enumeration value of "L2" for field "opt_level"\.$/,
    });
    assert.throws(() => parseConfigProto('inter_op_parallelism_threads: 2147483648'), { message: /1:31: Integer out of range \(2147483648\)$/ });
    assert.throws(() => parseConfigProto('allow_soft_placement: yes'), { message: /Invalid value for boolean field "allow_soft_placement"\. Value: "yes"\.$/ });
  });

  test('EXPECTED FAILURE - RewriterConfig.CustomGraphOptimizer.parameter_map (AttrValue) is refused by name, not as unknown', () => {
    assert.throws(
      () => parseConfigProto('graph_options { rewrite_options { custom_optimizers { name: "x" parameter_map { key: "k" } } } }'),
      { message: /1:79: Field "parameter_map" \(map<string, tensorflow\.AttrValue>\) of "tensorflow\.RewriterConfig\.CustomGraphOptimizer" is not supported by tfserve\.$/ },
    );
  });

  test('configProtoFields: protobufjs fields without proto3 defaults, enums as numbers, exact int64s, map keys in order', () => {
    const fields = configProtoFields(
      parseConfigProto('device_count { key: "GPU" value: 1 } device_count { key: "CPU" value: 0 } intra_op_parallelism_threads: 0 operation_timeout_in_ms: -1 graph_options { optimizer_options { opt_level: L1 global_jit_level: OFF } }'),
    );
    assert.deepEqual(Object.keys(fields['device_count'] as object), ['CPU', 'GPU']);
    assert.equal(Object.hasOwn(fields, 'intra_op_parallelism_threads'), false);
    assert.deepEqual(fields['operation_timeout_in_ms'], { low: 0xffffffff, high: 0xffffffff, unsigned: false });
    assert.deepEqual(fields['graph_options'], { optimizer_options: { global_jit_level: -1 } });
  });

  test('BAD CALL - a hand-built ConfigProto with an unknown field or a wrong type names the path', () => {
    assert.throws(() => configProtoFields({ gpu_options: { allow_grow: true } }), {
      code: 'INVALID_ARGUMENT',
      message: 'Message type "tensorflow.GPUOptions" has no field named "allow_grow" (configProto.gpu_options).',
    });
    assert.throws(() => configProtoFields({ intra_op_parallelism_threads: '2' }), {
      message: 'Expected int32 integer for configProto.intra_op_parallelism_threads but received 2 of type string',
    });
    assert.throws(() => configProtoFields({ device_count: new Map([['CPU', 2 ** 31]]) }), { message: /configProto\.device_count\[CPU\]/ });
    assert.throws(() => configProtoFields({ graph_options: { optimizer_options: { opt_level: 'L9' } } }), {
      message: /a value of tensorflow\.OptimizerOptions\.Level for configProto\.graph_options\.optimizer_options\.opt_level/,
    });
  });
});
