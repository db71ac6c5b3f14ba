/**
 * tf.train.Example as plain objects in protobufjs's shape, and their serialization with the message
 * declared in messages.ts. Classify and regress signatures take Examples serialized into one DT_STRING
 * tensor; with a context, each fed string is the serialized context followed by the serialized
 * example, which protobuf parsing merges (the example's features win on a key clash), as TF Serving
 * feeds example_list_with_context.
 */
import { Example as ExampleMessage } from './messages.js';

/** An int64 beyond 2^53 as its two's complement halves (protobufjs's LongBits form). */
export interface Int64Bits {
  readonly low: number;
  readonly high: number;
}

export type Int64Value = number | Int64Bits;

export interface Feature {
  readonly bytesList?: { readonly value: readonly Uint8Array[] };
  readonly floatList?: { readonly value: readonly number[] };
  readonly int64List?: { readonly value: readonly Int64Value[] };
}

export interface Example {
  readonly features?: { readonly feature?: Readonly<Record<string, Feature>> };
}

export function serializeExample(example: Example): Uint8Array {
  return ExampleMessage.encode(example as Record<string, unknown>).finish();
}

/** One serialized Example per example, each preceded by the serialized context when there is one. */
export function serializeExamples(input: { readonly examples: readonly Example[]; readonly context?: Example }): Uint8Array[] {
  const encoded = input.examples.map(serializeExample);
  if (input.context === undefined) return encoded;
  const context = serializeExample(input.context);
  let total = 0;
  for (const example of encoded) total += context.length + example.length;
  // One buffer for all of them: the fed strings are views of it.
  const buffer = new Uint8Array(total);
  let pos = 0;
  return encoded.map((example) => {
    const start = pos;
    buffer.set(context, pos);
    buffer.set(example, pos + context.length);
    pos += context.length + example.length;
    return buffer.subarray(start, pos);
  });
}
