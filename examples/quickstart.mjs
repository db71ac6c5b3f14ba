// The README's library quick start. Run from the repository root: node examples/quickstart.mjs
import { loadSavedModel } from 'tfserve';

const model = await loadSavedModel('models/half_plus_two/1');
console.log(model.signatures.serving_default);

const out = await model.predict({ x: { dtype: 'float32', shape: [3], data: [1, 2, 5] } });
console.log(out.y.data);
await model.dispose();
