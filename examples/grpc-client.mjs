// grpc-client.mjs — with `npx tfserve` running, from the repository root: node examples/grpc-client.mjs
import { TFServingClient } from 'tfserve';

const client = new TFServingClient('grpc://localhost:8500');
// The REST client's methods and answers, over TF Serving's gRPC API.
console.log(await client.predict('half_plus_two', { instances: [1.0, 2.0, 5.0] }));
// { predictions: [ 2.5, 3, 4.5 ] }
console.log((await client.status('half_plus_two')).model_version_status[0].state);
// AVAILABLE
// Typed tensors both ways, no JSON anywhere (gRPC only).
const { modelSpec, outputs } = await client.predictTensors('half_plus_two', {
  x: { dtype: 'float32', shape: [3], data: new Float32Array([1, 2, 5]) },
});
console.log(modelSpec, outputs.y.data);
// { name: 'half_plus_two', version: 1, signatureName: 'serving_default' } Float32Array(3) [ 2.5, 3, 4.5 ]
client.close();
