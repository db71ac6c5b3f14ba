import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { binding } from '../../src/model/native.js';
import { type JsonValue, parseJson } from '../../src/json/parse.js';

// native/json_numbers.cc must change nothing but speed: every document parses to the same DOM (bit for
// bit, integer flags and the sign of zero included) or fails with the same error, with and without it.

const scan = binding().scanDenseNumbers;

/** Trailing content is ignored by the parser: padding puts every array past the scanner's byte threshold. */
const PADDING = ' '.repeat(1100);

function outcome(text: string, scanner: typeof scan | null): unknown {
  try {
    return describe(parseJson(Buffer.from(text + PADDING), { numberScanner: scanner }));
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function describe(value: JsonValue): unknown {
  switch (value.kind) {
    case 'numbers':
      return {
        shape: value.shape,
        values: Buffer.from(value.values.buffer, value.values.byteOffset, value.values.byteLength).toString('hex'),
        integers: [...value.integers].join(''),
        integerCount: value.integerCount,
        exact: value.exact === null ? null : [...value.exact].map(([i, v]) => `${i}:${v}`),
      };
    case 'array':
      return { items: value.items.map(describe) };
    case 'object':
      return Object.fromEntries([...value.members].map(([k, v]) => [k, describe(v)]));
    case 'number':
      return { n: Object.is(value.value, -0) ? '-0' : String(value.value), integer: value.integer, exact: String(value.exact) };
    case 'string':
      return { s: Buffer.from(value.bytes).toString('hex') };
    default:
      return value;
  }
}

function assertSame(text: string): void {
  assert.deepEqual(outcome(text, scan), outcome(text, null), text.length > 300 ? `${text.slice(0, 300)}…` : text);
}

// A deterministic generator of the literals that decide rounding, integer-ness and refusal.
let seed = 12345;
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const digits = (n: number, first = '123456789'): string =>
  n === 0 ? '' : pick([...first]) + Array.from({ length: n - 1 }, () => pick([...'0123456789'])).join('');

function literal(): string {
  const sign = random() < 0.3 ? '-' : '';
  switch (Math.floor(random() * 10)) {
    case 0:
      return `${sign}0`;
    case 1:
      return sign + digits(1 + Math.floor(random() * 20)); // integers up to 20 digits: > 15 is declined
    case 2:
      return `${sign}0.${'0'.repeat(Math.floor(random() * 6))}${digits(1 + Math.floor(random() * 12), '0123456789')}`;
    case 3:
      return `${sign}${digits(1 + Math.floor(random() * 10))}.${digits(1 + Math.floor(random() * 16), '0123456789')}`; // > 15 digits
    case 4:
      return `${sign}${digits(1 + Math.floor(random() * 3))}e${pick(['', '+', '-'])}${Math.floor(random() * 30)}`;
    case 5:
      return `${sign}${digits(1)}.${digits(8, '0123456789')}E${pick(['-', '+'])}${Math.floor(random() * 330)}`; // range edges
    case 6:
      return `${sign}${Math.fround(random() * 1000) / 7}`; // the 17-digit reprs JSON.stringify writes
    case 7:
      return String(Math.fround(random() * 2 ** 24 - 2 ** 23));
    case 8:
      return pick(['NaN', 'Infinity', '-Infinity', '-Inf', '1e400', '-1e-400', '0.0', '-0.0', '0e0', '123456789012345', '1234567890123456']);
    default:
      return (random() * 2 - 1).toFixed(Math.floor(random() * 8));
  }
}

const space = (): string => pick(['', '', '', ' ', '\n  ', '\t', '\r\n']);

function nest(shape: readonly number[], leaf: () => string): string {
  if (shape.length === 0) return leaf();
  const items = Array.from({ length: shape[0]! }, () => `${space()}${nest(shape.slice(1), leaf)}${space()}`);
  return `[${items.join(',')}]`;
}

suite('native dense number scanner (scanDenseNumbers)', () => {
  test('reads a rectangular nest: shape, values, integer flags; null where it declines', () => {
    const text = Buffer.from('[[1, 2.5, -0], [3e2, -0.0, 7]] trailing');
    const result = scan(text, 0)!;
    assert.equal(result[0], '[[1, 2.5, -0], [3e2, -0.0, 7]]'.length);
    assert.deepEqual(result[1], [2, 3]);
    assert.deepEqual([...result[2]].map((v) => (Object.is(v, -0) ? '-0' : v)), [1, 2.5, 0, 300, '-0', 7]);
    assert.deepEqual([...result[3]], [1, 0, 1, 0, 0, 1]);
    assert.equal(result[4], 3);
    for (const declined of ['[]', '[[1],[]]', '[1, [2]]', '[[1], 2]', '[[1,2],[3]]', '[NaN]', '[1,]', '[1 2]', '["a"]', '[1',
      '[1e400]', '[1e-400]', '[1234567890123456]', '[01]', '[1.]', '[-]', '[1e]', '{"a": 1}', '[true]', '[1\u0000]']) {
      assert.equal(scan(Buffer.from(declined), 0), null, declined);
    }
  });

  test('BAD CALL - arguments are checked, never trusted', () => {
    assert.throws(() => (scan as (...args: unknown[]) => unknown)('[1]', 0), TypeError);
    assert.throws(() => scan(new Uint16Array(4) as unknown as Uint8Array, 0), TypeError);
    assert.throws(() => scan(Buffer.from('[1]'), 3), RangeError);
    assert.throws(() => scan(Buffer.from('[1]'), -1), RangeError);
    assert.throws(() => scan(Buffer.from('[1]'), 0.5), RangeError);
    assert.throws(() => scan(Buffer.alloc(0), 0), RangeError);
  });

  test('2,000 generated documents parse identically with and without it', () => {
    for (let i = 0; i < 2000; i++) {
      const rank = 1 + Math.floor(random() * 4);
      const shape = Array.from({ length: rank }, () => 1 + Math.floor(random() * (rank > 2 ? 4 : 12)));
      let body = nest(shape, literal);
      // Now and then a ragged, mixed or broken document, to compare errors and fall-backs too.
      const twist = random();
      if (twist < 0.05) body = body.replace(/,([^,]*)\]$/, ']');
      else if (twist < 0.1) body = body.replace(/\d(?=[,\]])/, '"x"');
      else if (twist < 0.15) body = body.slice(0, Math.floor(body.length * random()));
      else if (twist < 0.2) body = `[${body}, [${body}]]`;
      assertSame(random() < 0.5 ? body : `{"instances": ${body}, "signature_name": "s"}`);
    }
  });

  test('an image batch as instances, and small arrays inside objects, as before', () => {
    const image = nest([2, 16, 16, 3], () => (random() * 255).toFixed(3));
    assertSame(`{"instances": ${image}}`);
    assertSame(`{"instances": [${Array.from({ length: 50 }, (_, i) => `{"a": [${i}, ${i + 0.5}], "b": "${'x'.repeat(i)}"}`).join(', ')}]}`);
    assertSame(`{"inputs": {"x": ${image}, "y": [[1, 2], [3, 4]]}}`);
  });
});
