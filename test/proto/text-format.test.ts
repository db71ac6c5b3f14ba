import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { TfServeError } from '../../src/model/errors.js';
import { MODEL_SERVER_CONFIG_SCHEMA } from '../../src/serving/model-config.js';
import { type MessageSchema, parseTextProto, TextFormatError, type TextProtoMessage } from '../../src/proto/text-format.js';

const MODEL_TYPE = { name: 'tensorflow.serving.ModelType', values: { MODEL_TYPE_UNSPECIFIED: 0, TENSORFLOW: 1, OTHER: 2 } };

// Mirrors the test message given to protoc when the expectations below were recorded.
const SCALARS: MessageSchema = {
  name: 'tensorflow.serving.Scalars',
  fields: {
    i32: { type: 'int32' },
    i64: { type: 'int64' },
    u32: { type: 'uint32' },
    u64: { type: 'uint64' },
    f: { type: 'float' },
    d: { type: 'double' },
    b: { type: 'bool' },
    s: { type: 'string' },
    by: { type: 'bytes' },
    e: { type: 'enum', enum: MODEL_TYPE },
    ri: { type: 'int32', repeated: true },
    rs: { type: 'string', repeated: true },
  },
};

const M = MODEL_SERVER_CONFIG_SCHEMA;
const S = SCALARS;

/**
 * Inputs and the first error `protoc --encode` (protobuf's C++ TextFormat::Parser, the parser behind
 * tensorflow_model_server) printed for them, as `line:column: reason`, or OK.
 */
const PROTOC_CASES: ReadonlyArray<readonly [MessageSchema, string, string]> = [
  [M, "improperly formatted file", "1:12: Message type \"tensorflow.serving.ModelServerConfig\" has no field named \"improperly\"."],
  [M, "model_config_list {\n  config {\n    }\n  }\n}\n", "5:1: Expected identifier, got: }"],
  [M, "model_config_list {\n  config {\n    name: \"a\"\n  }\n", "5:1: Expected identifier, got: "],
  [M, "model_config_list {\n\tconfig {\n\t\tfoo: 1\n\t}\n}\n", "3:20: Message type \"tensorflow.serving.ModelConfig\" has no field named \"foo\"."],
  [M, "model_config_list { config { name: \"a\" > }", "1:40: Expected \"}\", found \">\"."],
  [M, "model_config_list < config: < name: \"a\" > >", "OK"],
  [M, "model_config_list { config { name \"a\" } }", "1:35: Expected \":\", found \"\"a\"\"."],
  [M, "model_config_list { config { name: } }", "1:36: Expected string, got: }"],
  [M, "model_config_list { config { name: 1 } }", "1:36: Expected string, got: 1"],
  [M, "model_config_list { config { model_version_policy { latest { num_versions: -1 } } } }", "1:76: Expected integer, got: -"],
  [M, "model_config_list { config { model_version_policy { specific { versions: [1, 2,] } } } }", "1:80: Expected integer, got: ]"],
  [M, "model_config_list { config { model_version_policy { specific { versions: [1 2] } } } }", "1:77: Expected \",\", found \"2\"."],
  [M, "model_config_list { config { model_version_policy { specific { versions: [] } } } }", "OK"],
  [M, "model_config_list { config { version_labels { key: \"a\" value: 1 } version_labels: { key: \"a\" valu: 2 } } }", "1:98: Message type \"tensorflow.serving.ModelConfig.VersionLabelsEntry\" has no field named \"valu\"."],
  [M, "model_config_list { config { version_labels [ { key: \"a\" value: 1 }, { key: \"b\" value: -2 } ] } }", "OK"],
  [M, "model_config_list { config { model_type: TENSORFLOW } }", "OK"],
  [M, "model_config_list { config { model_type: FOO } }", "1:46: Unknown enumeration value of \"FOO\" for field \"model_type\"."],
  [M, "model_config_list { config { model_type: 7 } }", "OK"],
  [M, "model_config_list { config { model_type: \"x\" } }", "1:42: Expected integer or identifier, got: \"x\""],
  [M, "model_config_list { config { name: \"a\", base_path: 'b'; } ,}", "OK"],
  [M, "model_config_list { config { name: \"a\",, } }", "1:40: Expected identifier, got: ,"],
  [M, "custom_model_config { type_url: \"x\" value: \"\\001\" }", "OK"],
  [M, "[foo.bar]: 1", "1:10: Extension \"foo.bar\" is not defined or is not an extension of \"tensorflow.serving.ModelServerConfig\"."],
  [M, "model_config_list { config { name: \"abc", "1:40: Unexpected end of string."],
  [M, "model_config_list { config { name: \"a\\qb\" } }", "1:39: Invalid escape sequence in string literal."],
  [M, "model_config_list { config { name: \"a\\x\" } }", "1:40: Expected hex digits for escape sequence."],
  [M, "model_config_list { config { name: \"a\\u12g4\" } }", "1:42: Expected four hex digits for \\u escape sequence."],
  [M, "model_config_list { config { name: \"a\\U00110000\" } }", "OK"],
  [M, "model_config_list { config { name: \"é\" nam: 1 } }", "1:44: Message type \"tensorflow.serving.ModelConfig\" has no field named \"nam\"."],
  [M, "model_config_list { config { name: \"a\" } } é", "1:44: Interpreting non ascii codepoint 195."],
  [M, "model_config_list { config { name: \"a\" } } \u0001", "1:44: Invalid control characters encountered in text."],
  [M, "# comment only\n", "OK"],
  [M, "", "OK"],
  [M, "model_config_list { config { name: \"a\" # c\n base_path: \"/x\" } }\n# tail", "OK"],
  [M, "model_config_list: { config: { name: \"a\" } } model_config_list { config { name: \"b\" } }", "1:64: Non-repeated field \"model_config_list\" is specified multiple times."],
  [M, "model_config_list { config { model_version_policy { latest { num_versions: 4294967296 } } } }", "1:76: Integer out of range (4294967296)"],
  [M, "model_config_list { config { model_version_policy { latest { num_versions: 0x10 } } } }", "OK"],
  [M, "model_config_list { config { model_version_policy { latest { num_versions: 010 } } } }", "OK"],
  [M, "model_config_list { config { model_version_policy { latest { num_versions: 09 } } } }", "1:77: Numbers starting with leading zero must be in octal."],
  [M, "model_config_list { config { model_version_policy { latest { num_versions: 1.5 } } } }", "1:76: Expected integer, got: 1.5"],
  [M, "model_config_list { config { model_version_policy { latest { num_versions: 1abc } } } }", "1:77: Need space between number and identifier."],
  [M, "model_config_list { config { model_version_policy { all: {} latest { num_versions: 2 } } } }", "1:68: Field \"latest\" is specified along with field \"all\", another member of oneof \"policy_choice\"."],
  [M, "model_config_list { config { model_version_policy { specific { versions: 9223372036854775808 } } } }", "1:74: Integer out of range (9223372036854775808)"],
  [M, "model_config_list { config { model_version_policy { specific { versions: -9223372036854775808 } } } }", "OK"],
  [M, "model_config_list { config { model_version_policy { specific { versions: -9223372036854775809 } } } }", "1:75: Integer out of range (9223372036854775809)"],
  [M, "model_config_list { config { model_version_policy { specific { versions: - 5 } } } }", "OK"],
  [M, "model_config_list { config { logging_config { sampling_config { sampling_rate: 0.5 } log_collector_config { type: \"x\" filename_prefix: \"y\" } } } }", "OK"],
  [M, "model_config_list { config { logging_config { sampling_config { sampling_rate: abc } } } }", "1:80: Expected double, got: abc"],
  [M, "model_config_list { config { logging_config { sampling_config { sampling_rate: 0x1 } } } }", "1:80: Expect a decimal number, got: 0x1"],
  [M, "model_config_list { config { logging_config { sampling_config { sampling_rate: 07 } } } }", "1:80: Expect a decimal number, got: 07"],
  [M, "model_config_list { config { logging_config { sampling_config { sampling_rate: -inf } } } }", "OK"],
  [M, "model_config_list { config { logging_config { sampling_config { sampling_rate: 1e } } } }", "1:82: \"e\" must be followed by exponent."],
  [M, "model_config_list { config { logging_config { sampling_config { sampling_rate: 1.2.3 } } } }", "1:83: Already saw decimal point or exponent; can't have another one."],
  [M, "model_config_list { config { logging_config { sampling_config { sampling_rate: \"1\" } } } }", "1:80: Expected double, got: \"1\""],
  [M, "model_config_list { config { name: \"x\" }", "1:41: Expected identifier, got: "],
  [M, "model_config_list { config [ { name: \"x\" }, { name: \"y\" } ] }", "OK"],
  [M, "model_config_list { config: [ { name: \"x\" } { name: \"y\" } ] }", "1:45: Expected \",\", found \"{\"."],
  [M, "model_config_list { config { name: foo.5 } }", "1:36: Expected string, got: foo"],
  [M, "model_config_list { config { name: \"a\" \"b\" 'c' } }", "OK"],
  [M, "model_config_list { config { name: \"a\" } } }", "1:44: Expected identifier, got: }"],
  [M, "model_config_list { config { model_version_policy { specific { versions: 1 } } } } \u0000 ", "1:84: Invalid control characters encountered in text."],
  [M, "model_config_list {\r\n config {\r\n  bad: 1\r\n }\r\n}", "3:6: Message type \"tensorflow.serving.ModelConfig\" has no field named \"bad\"."],
  [M, "model_config_list { config { name: \"a\" version_labels { key: 1 } } }", "1:62: Expected string, got: 1"],
  [M, "model_config_list { config { 5: \"a\" } }", "1:30: Expected identifier, got: 5"],
  [M, "model_config_list { config { name: \"a\" } } model_config_list [", "1:62: Non-repeated field \"model_config_list\" is specified multiple times."],
  [M, "model_config_list { config { name: \"a\" } } custom_model_config { }", "1:64: Field \"custom_model_config\" is specified along with field \"model_config_list\", another member of oneof \"config\"."],
  [M, "model_config_list { config { model_version_policy { specific { versions: 0x7fffffffffffffff versions: 0X10 } } } }", "OK"],
  [M, "model_config_list { config { model_version_policy { specific { versions: 0x } } } }", "1:76: \"0x\" must be followed by hex digits."],
  [M, "model_config_list { config { model_version_policy { specific { versions: 1. } } } }", "1:74: Expected integer, got: 1."],
  [M, "model_config_list { config { model_version_policy { specific { versions: .5 } } } }", "1:74: Expected integer, got: .5"],
  [M, "model_config_list { config { model_version_policy { specific { versions: 5f } } } }", "1:74: Expected integer, got: 5f"],
  [M, "model_config_list { config { model_version_policy { latest: 1 } } }", "1:61: Expected \"{\", found \"1\"."],
  [M, "model_config_list { config { model_version_policy { latest { num_versions: 1 } ; } } }", "OK"],
  [M, "model_config_list { config { model_version_policy: < all: < > > } }", "OK"],
  [M, "model_config_list { config { name: \"\\342\\202\\254 \\xe2\\x82\\xac \\u20ac \\U0001F600 \\ud83d\\ude00 \\a\\b\\f\\n\\r\\t\\v\\\\\\?\\'\\\"\" } }", "OK"],
  [S, "i32: 2147483647 i32: -2147483648", "1:20: Non-repeated field \"i32\" is specified multiple times."],
  [S, "i32: 2147483648", "1:6: Integer out of range (2147483648)"],
  [S, "i32: -2147483649", "1:7: Integer out of range (2147483649)"],
  [S, "u32: 4294967295 u64: 18446744073709551615", "OK"],
  [S, "u64: 18446744073709551616", "1:6: Integer out of range (18446744073709551616)"],
  [S, "u64: -1", "1:6: Expected integer, got: -"],
  [S, "b: true b: True b: t b: false b: False b: f b: 1 b: 0 b: 0x1", "1:10: Non-repeated field \"b\" is specified multiple times."],
  [S, "b: 2", "1:4: Integer out of range (2)"],
  [S, "b: yes", "1:7: Invalid value for boolean field \"b\". Value: \"yes\"."],
  [S, "b: \"true\"", "1:4: Expected identifier, got: \"true\""],
  [S, "b: TRUE", "1:8: Invalid value for boolean field \"b\". Value: \"TRUE\"."],
  [S, "f: 1 f: 1.5 f: -2.5e3 f: .5 f: 5. f: 1f f: 1.5F f: inf f: -Infinity f: NaN f: 1e39", "1:7: Non-repeated field \"f\" is specified multiple times."],
  [S, "f: 1e400", "OK"],
  [S, "d: 0x10", "1:4: Expect a decimal number, got: 0x10"],
  [S, "d: -", "1:5: Expected double, got: "],
  [S, "d: - 1", "OK"],
  [S, "s: \"a\" 'b' \"c\"", "OK"],
  [S, "s: abc", "1:4: Expected string, got: abc"],
  [S, "by: \"\\377\\000\"", "OK"],
  [S, "e: TENSORFLOW e: 1 e: -5 e: 99", "1:16: Non-repeated field \"e\" is specified multiple times."],
  [S, "e: 2147483648", "1:4: Integer out of range (2147483648)"],
  [S, "e: 1.5", "1:4: Expected integer or identifier, got: 1.5"],
  [S, "ri: [1, -2, 0x3] ri: 4 rs: [\"a\", 'b'] rs: \"c\"", "OK"],
  [S, "ri: [1, ]", "1:9: Expected integer, got: ]"],
  [S, "ri: [1; 2]", "1:7: Expected \",\", found \";\"."],
  [S, "ri [1]", "1:4: Expected \":\", found \"[\"."],
  [S, "ri: [1", "1:7: Expected \",\", found \"\"."],
  [S, "i32: 1 i64: 1i64: 1", "1:14: Need space between number and identifier."],
  [S, "i32:1;i64:2,u32:3", "OK"],
  [S, "i32 { }", "1:5: Expected \":\", found \"{\"."],
  [S, "i32: {1}", "1:6: Expected integer, got: {"],
  [S, "s: \"abc\\", "1:9: Invalid escape sequence in string literal."],
  [S, "s: \"\\x4\"", "OK"],
  [S, "s: \"\\8\"", "1:6: Invalid escape sequence in string literal."],
  [S, "i32: 1\n\n\t  \tfoo: 2", "3:20: Message type \"tensorflow.serving.Scalars\" has no field named \"foo\"."],
  [S, "\t\ti32: x", "1:22: Expected integer, got: x"],
  [S, "i32: 1 /* c */", "1:8: Expected identifier, got: /"],
  [S, "i32: @", "1:6: Expected integer, got: @"],
];

function outcome(schema: MessageSchema, text: string): string {
  try {
    parseTextProto(text, schema);
    return 'OK';
  } catch (err) {
    if (!(err instanceof TextFormatError)) throw err;
    return `${err.line}:${err.column}: ${err.reason}`;
  }
}

function parseScalars(text: string): TextProtoMessage {
  return parseTextProto(text, SCALARS);
}

suite('text-proto', () => {
  test('accepts and rejects exactly what protobuf C++ does, with its line:column and reason', () => {
    for (const [schema, text, expected] of PROTOC_CASES) {
      assert.equal(outcome(schema, text), expected, `input ${JSON.stringify(text)}`);
    }
  });

  test('EXPECTED FAILURE - errors are INVALID_ARGUMENT TfServeErrors worded like protobuf\'s log line', () => {
    assert.throws(() => parseTextProto('model_config_list {\n  config {\n    }\n  }\n}\n', M), (err: unknown) => {
      assert.ok(err instanceof TextFormatError);
      assert.ok(err instanceof TfServeError);
      assert.equal(err.name, 'TfServeError');
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.equal(err.message, 'Error parsing text-format tensorflow.serving.ModelServerConfig: 5:1: Expected identifier, got: }');
      assert.equal(err.line, 5);
      assert.equal(err.column, 1);
      assert.equal(err.typeName, 'tensorflow.serving.ModelServerConfig');
      assert.equal(err.reason, 'Expected identifier, got: }');
      return true;
    });
  });

  test('fields: `f: v`, `f { }`, `f: { }`, `f < >`, comments and `,`/`;` separators', () => {
    const text = [
      '# leading comment',
      'model_config_list: {  # trailing comment',
      '  config { name: "a"; base_path: "/a", model_platform: "tensorflow" }',
      '  config: < name: \'b\' >,',
      '  config < model_version_policy: { all {} } >;',
      '}',
    ].join('\n');
    assert.deepEqual(parseTextProto(text, M), {
      model_config_list: {
        config: [
          { name: 'a', base_path: '/a', model_platform: 'tensorflow' },
          { name: 'b' },
          { model_version_policy: { all: {} } },
        ],
      },
    });
  });

  test('integers: decimal, hex, octal, negative (even with a space after "-"), 64-bit as bigint', () => {
    assert.deepEqual(parseScalars('i32: -2147483648 i64: -9223372036854775808 u32: 0xffffffff u64: 18446744073709551615'), {
      i32: -2147483648,
      i64: -9223372036854775808n,
      u32: 4294967295,
      u64: 18446744073709551615n,
    });
    assert.deepEqual(parseScalars('i32: 0x1F i64: 017'), { i32: 31, i64: 15n });
    assert.deepEqual(parseScalars('i32: - 5'), { i32: -5 });
    assert.deepEqual(parseScalars('i64: 9007199254740993'), { i64: 9007199254740993n });
  });

  test('floats: integers, exponents, f suffix, leading dot, inf/nan; float rounds to 32 bits', () => {
    assert.deepEqual(parseScalars('d: 1'), { d: 1 });
    assert.deepEqual(parseScalars('d: -2.5e3'), { d: -2500 });
    assert.deepEqual(parseScalars('d: .5'), { d: 0.5 });
    assert.deepEqual(parseScalars('d: 5.'), { d: 5 });
    assert.deepEqual(parseScalars('d: 1.5F'), { d: 1.5 });
    assert.deepEqual(parseScalars('d: -Infinity'), { d: -Infinity });
    assert.ok(Number.isNaN(parseScalars('d: nan')['d']));
    assert.deepEqual(parseScalars('d: 0.1'), { d: 0.1 });
    assert.deepEqual(parseScalars('f: 0.1'), { f: Math.fround(0.1) });
    assert.deepEqual(parseScalars('f: 1e39'), { f: Infinity });
    assert.deepEqual(parseScalars('f: 3.4028235e38'), { f: 3.4028234663852886e38 });
  });

  test('booleans: true/True/t, false/False/f, 1/0', () => {
    for (const [word, value] of [['true', true], ['True', true], ['t', true], ['1', true], ['0x1', true], ['false', false], ['False', false], ['f', false], ['0', false]] as const) {
      assert.deepEqual(parseScalars(`b: ${word}`), { b: value }, word);
    }
  });

  test('strings: both quotes, C escapes, octal, hex, \\u and \\U, adjacent literals concatenate', () => {
    assert.deepEqual(parseScalars(`s: "a\\n\\t\\\\\\"\\'\\?\\a\\b\\f\\r\\v"`), { s: 'a\n\t\\"\'?\x07\b\f\r\v' });
    assert.deepEqual(parseScalars(`s: 'it''s' "!"`), { s: 'its!' });
    assert.deepEqual(parseScalars(`s: "\\101\\x42\\u00e9\\342\\202\\254\\xe2\\x82\\xac"`), { s: 'ABé€€' });
    assert.deepEqual(parseScalars(`s: "\\U0001F600\\ud83d\\ude00"`), { s: '😀😀' });
    assert.deepEqual(parseScalars(`s: "\\0012"`), { s: '\x012' });
    assert.deepEqual(parseScalars(`s: "\\x4g"`), { s: '\x04g' });
  });

  test('bytes keep raw octets', () => {
    assert.deepEqual(parseScalars('by: "\\377\\000a"'), { by: Uint8Array.from([0xff, 0, 0x61]) });
  });

  test('enums by name or number; unknown numbers stay numbers (proto3 enums are open)', () => {
    assert.deepEqual(parseScalars('e: OTHER'), { e: 'OTHER' });
    assert.deepEqual(parseScalars('e: 1'), { e: 'TENSORFLOW' });
    assert.deepEqual(parseScalars('e: -5'), { e: -5 });
    assert.equal(outcome(S, 'e: BOGUS'), '1:9: Unknown enumeration value of "BOGUS" for field "e".');
  });

  test('repeated fields: repeated occurrences and [a, b] lists mix; [] is an empty list', () => {
    assert.deepEqual(parseScalars('ri: [1, -2, 0x3] ri: 4 rs: ["a", \'b\'] rs: "c" rs: "d" "e"'), {
      ri: [1, -2, 3, 4],
      rs: ['a', 'b', 'c', 'de'],
    });
    assert.deepEqual(parseScalars('ri: []'), { ri: [] });
    const configs = parseTextProto('model_config_list { config: [{ name: "x" }, < name: "y" >] config { name: "z" } }', M);
    assert.deepEqual(configs, { model_config_list: { config: [{ name: 'x' }, { name: 'y' }, { name: 'z' }] } });
  });

  test('maps: repeated { key value } entries into a Map; later keys win; missing parts take defaults', () => {
    const text = `model_config_list { config {
      version_labels { key: "stable" value: 123 }
      version_labels: { key: "canary" value: 124 }
      version_labels [ { key: "stable" value: 125 }, { value: 7 } ]
      version_labels { key: "zero" }
    } }`;
    const config = (parseTextProto(text, M)['model_config_list'] as TextProtoMessage)['config'] as TextProtoMessage[];
    assert.deepEqual(
      config[0]!['version_labels'],
      new Map<string, bigint>([['stable', 125n], ['canary', 124n], ['', 7n], ['zero', 0n]]),
    );
    assert.equal(
      outcome(M, 'model_config_list { config { version_labels { key: "a" label: 1 } } }'),
      '1:61: Message type "tensorflow.serving.ModelConfig.VersionLabelsEntry" has no field named "label".',
    );
  });

  test('oneof members exclude each other; a proto3 scalar at its default does not count as set', () => {
    assert.equal(
      outcome(M, 'model_config_list { config { model_version_policy { latest {} specific {} } } }'),
      '1:72: Field "specific" is specified along with field "latest", another member of oneof "policy_choice".',
    );
    assert.deepEqual(parseScalars('i32: 0 i32: 5'), { i32: 5 });
    assert.deepEqual(parseScalars('s: "" s: "x"'), { s: 'x' });
    assert.equal(outcome(S, 's: "x" s: ""'), '1:9: Non-repeated field "s" is specified multiple times.');
  });

  test('columns count UTF-8 bytes and expand tabs to multiples of 8; input may be bytes', () => {
    assert.equal(outcome(S, 's: "é€" x: 1'), '1:13: Message type "tensorflow.serving.Scalars" has no field named "x".');
    assert.equal(outcome(S, '\tx: 1'), '1:10: Message type "tensorflow.serving.Scalars" has no field named "x".');
    assert.equal(outcome(S, 'i32: 1\r\n  x: 1'), '2:4: Message type "tensorflow.serving.Scalars" has no field named "x".');
    assert.deepEqual(parseTextProto(Buffer.from('s: "é"'), S), { s: 'é' });
  });

  test('field names are looked up in the schema only, never on Object.prototype', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      assert.equal(outcome(S, `${name}: 1`), `1:${name.length + 1}: Message type "tensorflow.serving.Scalars" has no field named "${name}".`);
    }
  });

  test('expanded Any bodies are skipped structurally, keeping the type URL', () => {
    const text = 'custom_model_config { [type.googleapis.com/x.Y] { a: 1 b { c: [1, "s", -inf, { d: 1 }] } e: -2.5 f: X } }';
    assert.deepEqual(parseTextProto(text, M), { custom_model_config: { type_url: 'type.googleapis.com/x.Y' } });
    assert.equal(outcome(M, 'custom_model_config { [x.Y] { } }'), '1:29: Type URL prefix is missing');
    assert.equal(
      outcome(M, 'custom_model_config { [a/x.Y] {} [a/x.Z] {} }'),
      '1:45: Non-repeated Any specified multiple times.',
    );
    assert.equal(outcome(M, 'custom_model_config { [a/x.Y] { e: -foo } }'), '1:37: Invalid float number: foo');
    assert.equal(outcome(M, 'custom_model_config { [a/x.Y] { e: } }'), '1:36: Cannot skip field value, unexpected token: }');
    assert.deepEqual(parseTextProto('custom_model_config { type_url: "t" value: "\\001" }', M), {
      custom_model_config: { type_url: 't', value: Uint8Array.from([1]) },
    });
  });

  test('extensions are not defined on any of our messages', () => {
    assert.equal(
      outcome(M, '[foo.bar]: 1'),
      '1:10: Extension "foo.bar" is not defined or is not an extension of "tensorflow.serving.ModelServerConfig".',
    );
    assert.equal(outcome(M, '[a/foo.bar]: 1'), '1:12: Extension name contains "/"');
  });

  test('strings may not span lines', () => {
    assert.equal(outcome(S, 's: "abc\n"'), '1:8: Multiline strings are not allowed. Did you miss a ".');
  });

  test('deprecated fields are reported through onWarning', () => {
    const warnings: string[] = [];
    parseTextProto('model_config_list { config { model_type: TENSORFLOW } }', M, {
      onWarning: (message, line, column) => warnings.push(`${line}:${column}: ${message}`),
    });
    assert.deepEqual(warnings, ['1:40: text format contains deprecated field "model_type"']);
  });

  test('EXPECTED FAILURE - a field the schema marks unsupported fails with its reason where it is used', () => {
    const schema: MessageSchema = { name: 'test.M', fields: { a: { type: 'int32' }, b: { type: 'bytes', unsupported: 'Field "b" is not supported.' } } };
    assert.deepEqual(parseTextProto('a: 1', schema), { a: 1 });
    assert.throws(() => parseTextProto('a: 1\nb { }', schema), { message: 'Error parsing text-format test.M: 2:3: Field "b" is not supported.' });
  });

  test('EXPECTED FAILURE - nesting past the recursion limit is an error, not a stack overflow', () => {
    const deep = `custom_model_config { [a/x.Y] { ${'a { '.repeat(200)}${'} '.repeat(200)}} }`;
    assert.match(outcome(M, deep), /Message is too deep, the parser exceeded the configured recursion limit of 100\./);
  });

  test('BAD CALL - input must be a string or bytes and the schema a message schema', () => {
    assert.throws(() => parseTextProto(42 as never, S), { name: 'TfServeError', code: 'INVALID_ARGUMENT', message: /Expected string or Uint8Array for text/ });
    assert.throws(() => parseTextProto('', null as never), { code: 'INVALID_ARGUMENT', message: /message schema/ });
  });
});
