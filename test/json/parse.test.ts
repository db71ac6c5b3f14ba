import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import {
  dumpJson,
  type JsonNumbers,
  type JsonObject,
  type JsonValue,
  numberAt,
  parseJson,
  stringText,
} from '../../src/json/parse.js';

/** The DOM as plain JS: numbers nodes become nested arrays, strings text, exact integers bigints. */
function plain(value: JsonValue): unknown {
  switch (value.kind) {
    case 'null':
      return null;
    case 'bool':
      return value.value;
    case 'number':
      return value.exact ?? value.value;
    case 'string':
      return stringText(value);
    case 'array':
      return value.items.map(plain);
    case 'object':
      return Object.fromEntries([...value.members].map(([k, v]) => [k, plain(v)]));
    case 'numbers': {
      const nest = (dim: number, offset: number): unknown[] => {
        const size = value.shape[dim]!;
        const stride = value.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
        return Array.from({ length: size }, (_, i) =>
          dim + 1 < value.shape.length ? nest(dim + 1, offset + i * stride) : plain(numberAt(value, offset + i)),
        );
      };
      return nest(0, 0);
    }
  }
}

function parseError(text: string): RegExp {
  return new RegExp(`^JSON Parse error: ${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

// [input, rapidjson's text, offset]
const SYNTAX_ERRORS: [string, string, number][] = [
  ['   ', 'The document is empty.', 3],
  ['}', 'The document is empty.', 0],
  ['\u0000{}', 'The document is empty.', 0],
  ['instances = [1, 2]', 'Invalid value.', 0],
  ['[1 2]', "Missing a comma or ']' after an array element.", 3],
  ['[1,]', 'Invalid value.', 3],
  ['[', 'Invalid value.', 1],
  ['{"a" 1}', 'Missing a colon after a name of object member.', 5],
  ['{"a":1 "b":2}', "Missing a comma or '}' after an object member.", 7],
  ['{,}', 'Missing a name for object member.', 1],
  ['{"a":1,}', 'Missing a name for object member.', 7],
  ['{1:2}', 'Missing a name for object member.', 1],
  ['{', 'Missing a name for object member.', 1],
  ['{"a":', 'Invalid value.', 5],
  ['{"a":}', 'Invalid value.', 5],
  ['"abc', 'Missing a closing quotation mark in string.', 4],
  ['"a\u0000b"', 'Missing a closing quotation mark in string.', 2],
  ['"a\u0001b"', 'Invalid encoding in string.', 2],
  ['"a\\qb"', 'Invalid escape character in string.', 2],
  ['"\\u12G4"', 'Incorrect hex digit after \\u escape in string.', 1],
  ['"\\uD800x"', 'The surrogate pair in string is invalid.', 1],
  ['"\\uDC00"', 'The surrogate pair in string is invalid.', 1],
  ['"\\uD800\\u0041"', 'The surrogate pair in string is invalid.', 1],
  ['[Infinit]', 'Invalid value.', 8],
  ['[Nax]', 'Invalid value.', 3],
  ['[nan]', 'Invalid value.', 2],
  ['[-]', 'Invalid value.', 2],
  ['[.5]', 'Invalid value.', 1],
  ['[+1]', 'Invalid value.', 1],
  ['[1.]', 'Missing fraction part in number.', 3],
  ['[1e]', 'Missing exponent in number.', 3],
  ['[1e+]', 'Missing exponent in number.', 4],
  ['[01]', "Missing a comma or ']' after an array element.", 2],
  ['[tru]', 'Invalid value.', 4],
  ['[nul]', 'Invalid value.', 4],
  ['[falsy]', 'Invalid value.', 5],
  ['[1e400]', 'Number too big to be stored in double.', 1],
  ['[1.8e308]', 'Number too big to be stored in double.', 1],
  ['[1,\u00002]', 'Invalid value.', 3],
];

suite('json-parse', () => {
  test('an empty body has TF Serving\'s own text (no period, no offset)', () => {
    assert.throws(() => parseJson(''), { name: 'TfServeError', code: 'INVALID_ARGUMENT', message: 'JSON Parse error: The document is empty' });
    assert.throws(() => parseJson(new Uint8Array(0)), { message: 'JSON Parse error: The document is empty' });
  });

  test('EXPECTED FAILURE - syntax errors carry rapidjson\'s text and byte offset', () => {
    for (const [input, text, offset] of SYNTAX_ERRORS) {
      assert.throws(() => parseJson(input), { name: 'TfServeError', code: 'INVALID_ARGUMENT', message: parseError(`${text} at offset: ${offset}`) }, input);
    }
  });

  test('offsets count bytes, not characters', () => {
    assert.throws(() => parseJson('["é" 1]'), { message: /at offset: 6$/ });
  });

  test('NaN and infinities are numbers; -NaN reads as NaN', () => {
    const value = parseJson('[NaN, Inf, -Inf, Infinity, -Infinity, -NaN]') as JsonNumbers;
    assert.equal(value.kind, 'numbers');
    assert.deepEqual([...value.values], [NaN, Infinity, -Infinity, Infinity, -Infinity, NaN]);
    assert.equal(value.integerCount, 0);
  });

  test('content after the top-level value is ignored, like kParseStopWhenDoneFlag', () => {
    assert.deepEqual(plain(parseJson('{"a": 1} trailing [garbage')), { a: 1 });
    assert.deepEqual(plain(parseJson('[1]]]')), [1]);
    assert.deepEqual(plain(parseJson('{"a":1}\u0000more')), { a: 1 });
  });

  test('a repeated key keeps its first value', () => {
    const value = parseJson('{"a": 1, "b": 2, "a": 3}') as JsonObject;
    assert.deepEqual([...value.members.keys()], ['a', 'b']);
    assert.deepEqual(plain(value), { a: 1, b: 2 });
  });

  test('a UTF-8 byte order mark is skipped', () => {
    assert.deepEqual(plain(parseJson(Buffer.from([0xef, 0xbb, 0xbf, 0x5b, 0x31, 0x5d]))), [1]);
  });

  test('numeric arrays become one dense node; anything else stays ordinary', () => {
    const image = parseJson('[[[1, 2.5], [3, 4]], [[5, 6], [7, 8]]]') as JsonNumbers;
    assert.equal(image.kind, 'numbers');
    assert.deepEqual(image.shape, [2, 2, 2]);
    assert.deepEqual([...image.values], [1, 2.5, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual([...image.integers], [1, 0, 1, 1, 1, 1, 1, 1]);
    assert.equal(image.integerCount, 7);
    assert.deepEqual((parseJson('[[], []]') as JsonNumbers).shape, [2, 0]);
    assert.deepEqual((parseJson('[]') as JsonNumbers).shape, [0]);
    for (const text of ['[[1, 2], [3]]', '[1, [1]]', '[[1], 2]', '[1, "a"]', '[[1, 2], ["a", "b"]]', '[{"a": 1}]']) {
      const value = parseJson(text);
      assert.equal(value.kind, 'array', text);
      assert.deepEqual(plain(value), JSON.parse(text), text);
    }
    const ragged = parseJson('[[1, 2], [3]]');
    assert.ok(ragged.kind === 'array' && ragged.items.every((item) => item.kind === 'numbers'));
  });

  test('integers stay exact beyond 2^53; "1.0" is not an integer; "-0" is the integer 0', () => {
    const value = parseJson('[18446744073709551615, -9223372036854775808, 9007199254740993, 1.0, -0, -0.0]') as JsonNumbers;
    assert.deepEqual(plain(value), [18446744073709551615n, -9223372036854775808n, 9007199254740993n, 1, 0, -0]);
    assert.deepEqual([...value.integers], [1, 1, 1, 0, 1, 0]);
    assert.ok(Object.is(value.values[4], 0));
    assert.ok(Object.is(value.values[5], -0));
    // Past uint64 (or int64 for negatives) rapidjson keeps a double.
    const big = parseJson('[18446744073709551616, -9223372036854775809]') as JsonNumbers;
    assert.deepEqual([...big.integers], [0, 0]);
    assert.deepEqual([...big.values], [18446744073709551616, -9223372036854775809]);
    const scalar = parseJson('{"n": 12345678901234567890}') as JsonObject;
    assert.deepEqual(scalar.members.get('n'), { kind: 'number', value: 12345678901234567890, integer: true, exact: 12345678901234567890n });
  });

  test('doubles are correctly rounded, the 17-digit reprs of floats included', () => {
    let state = 12345;
    const next = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    const texts: string[] = [];
    for (let i = 0; i < 20000; i++) {
      const pick = i % 4;
      if (pick === 0) texts.push(String(Math.fround(next())));
      else if (pick === 1) texts.push(String(next() * 10 ** Math.floor(next() * 40 - 20)));
      else if (pick === 2) texts.push(`0.${String(Math.floor(next() * 1e18)).padStart(18, '0')}`);
      else {
        const digits = Array.from({ length: 1 + Math.floor(next() * 20) }, (_, k) => String(Math.floor(next() * 9) + (k === 0 ? 1 : 0)));
        texts.push(`${digits[0]}.${digits.slice(1).join('') || '0'}e${Math.floor(next() * 40 - 20)}`);
      }
    }
    const text = `[${texts.join(',')}]`;
    const value = parseJson(text) as JsonNumbers;
    const expected = JSON.parse(text) as number[];
    for (let i = 0; i < expected.length; i++) assert.ok(Object.is(value.values[i], expected[i]), texts[i]);
  });

  test('strings keep raw bytes; escapes and surrogate pairs decode to UTF-8', () => {
    const raw = Buffer.concat([Buffer.from('["'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('"]')]);
    const value = parseJson(raw);
    assert.ok(value.kind === 'array' && value.items[0]!.kind === 'string');
    assert.deepEqual([...value.items[0].bytes], [0xff, 0xfe, 0x80]);
    const escaped = parseJson('"a\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00"');
    assert.ok(escaped.kind === 'string');
    assert.equal(stringText(escaped), 'a"\\/\b\f\n\r\té😀');
    assert.deepEqual(plain(parseJson('{"k\\u0065y": "v"}')), { key: 'v' });
  });

  test('100,000 levels of nesting parse without recursion', () => {
    const depth = 100_000;
    const arrays = parseJson(`{"x": ${'['.repeat(depth)}1${']'.repeat(depth)}}`) as JsonObject;
    let node = arrays.members.get('x')!;
    let levels = 0;
    while (node.kind === 'array') {
      levels++;
      node = node.items[0]!;
    }
    assert.equal(node.kind, 'numbers');
    assert.equal(levels + (node as JsonNumbers).shape.length, depth);
    const objects = parseJson(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
    assert.equal(objects.kind, 'object');
    assert.equal(dumpJson(objects).length, 256);
    assert.throws(() => parseJson('['.repeat(depth)), { message: parseError(`Invalid value. at offset: ${depth}`) });
  });

  test('dumpJson: compact, rapidjson number style, cut at the limit', () => {
    assert.equal(dumpJson(parseJson('{"a": [1, 2.5, 1.0, NaN, 1e21, 1e-7], "b": "x\\"\\n\\u0001", "c": null, "d": true}')),
      '{"a":[1,2.5,1.0,NaN,1e21,1e-7],"b":"x\\"\\n\\u0001","c":null,"d":true}');
    assert.equal(dumpJson(parseJson('[[1,2],[3,4]]')), '[[1,2],[3,4]]');
    // A lone double prints through TF Serving's float writer when it fits a float.
    assert.equal(dumpJson((parseJson('{"x": 0.1}') as JsonObject).members.get('x')!), '0.1');
    assert.equal(dumpJson((parseJson('{"x": 1e300}') as JsonObject).members.get('x')!), '1e+300');
    assert.equal(dumpJson(parseJson(`[${'1,'.repeat(500)}1]`)).length, 256);
    assert.equal(dumpJson(parseJson('"abcdef"'), 4), '"abc');
  });
});
