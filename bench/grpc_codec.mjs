// The gRPC tensor codec (src/proto/tensor-proto.ts, serving-codec.ts) against protobufjs's own
// decode/encode of the same messages, on 1M-element tensors. Prints the median ms of each way.
// Usage: npm run build:ts && node bench/grpc_codec.mjs [rounds]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { allocTensor } = require('../dist/index.js');
const { PredictRequest, TensorProto } = require('../dist/proto/serving-protos.js');
const { decodePredictRequest, encodePredictRequest } = require('../dist/proto/serving-codec.js');
const { encodeTensorProto } = require('../dist/proto/tensor-proto.js');

const rounds = Number(process.argv[2] ?? 30);
const N = 1_000_000;

function median(fn) {
  for (let i = 0; i < 3; i++) fn();
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const floats = new Float32Array(N).map((_, i) => Math.sin(i));
const ints = new Int32Array(N).map((_, i) => (i % 2 ? -i : i));
const tensor = { dtype: 'float32', shape: [N], data: floats };
const intTensor = { dtype: 'int32', shape: [N], data: ints };
const shape = { dim: [{ size: N }] };
const pbType = PredictRequest.type;
const tpType = TensorProto.type;

// A PredictRequest of 1M floats, as tensor_content and as float_val.
const contentRequest = encodePredictRequest({ inputs: { x: tensor } }, { tensorContent: true });
const typedRequest = encodePredictRequest({ inputs: { x: tensor } });

/** protobufjs all the way: decode to a message, then copy its values into aligned tensor memory. */
function protobufjsDecode(bytes) {
  const message = pbType.decode(bytes);
  const proto = message.inputs.x;
  const out = allocTensor('float32', [N]);
  if (proto.tensor_content?.length) new Uint8Array(out.data.buffer).set(proto.tensor_content);
  else out.data.set(proto.float_val);
  return out;
}

/** A hand-written TensorProto writer: sizes first, one allocation, the values copied once. */
function handWrittenEncode(t) {
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const varintSize = (v) => (v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5);
  const dim = 1 + varintSize(N);
  const shapeSize = 1 + varintSize(dim) + dim;
  const size = 2 + 1 + varintSize(shapeSize) + shapeSize + 1 + varintSize(bytes.length) + bytes.length;
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  const varint = (v) => {
    while (v >= 0x80) {
      out[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[pos++] = v;
  };
  out[pos++] = 0x08;
  out[pos++] = 1;
  out[pos++] = 0x12;
  varint(shapeSize);
  out[pos++] = 0x12;
  varint(dim);
  out[pos++] = 0x08;
  varint(N);
  out[pos++] = 0x2a;
  varint(bytes.length);
  out.set(bytes, pos);
  return out;
}

const check = handWrittenEncode(tensor);
if (!check.equals(Buffer.from(encodeTensorProto(tensor)))) throw new Error('the hand-written writer disagrees');
if (!Buffer.from(tpType.encode({ dtype: 1, tensor_shape: shape, float_val: floats }).finish()).equals(check)) {
  throw new Error('protobufjs disagrees');
}

const rows = [
  ['decode PredictRequest, 1M floats as tensor_content', () => protobufjsDecode(contentRequest), () => decodePredictRequest(contentRequest)],
  ['decode PredictRequest, 1M floats as float_val', () => protobufjsDecode(typedRequest), () => decodePredictRequest(typedRequest)],
  ['encode TensorProto, 1M float32 (float_val)', () => tpType.encode({ dtype: 1, tensor_shape: shape, float_val: floats }).finish(), () => encodeTensorProto(tensor)],
  ['encode TensorProto, 1M int32 (int_val)', () => tpType.encode({ dtype: 3, tensor_shape: shape, int_val: ints }).finish(), () => encodeTensorProto(intTensor)],
];
console.log('| case | protobufjs ms | tfserve ms | × |');
console.log('|---|---:|---:|---:|');
for (const [name, theirs, ours] of rows) {
  const a = median(theirs);
  const b = median(ours);
  console.log(`| ${name} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(a / b).toFixed(1)} |`);
}
const viaWriter = median(() => encodeTensorProto(tensor));
const byHand = median(() => handWrittenEncode(tensor));
console.log(`\nencode 1M float32: protobufjs Writer with one bytes() view ${viaWriter.toFixed(2)} ms, hand-written sized writer ${byHand.toFixed(2)} ms`);
