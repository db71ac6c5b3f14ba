"""Builds tfserve's test SavedModels and their golden outputs with TensorFlow itself.

Usage: ~/.cache/tfserve/venv/bin/python scripts/make-test-models.py   (or `npm run models`)

Writes test/fixtures/models/<name>/1 plus <name>.golden.json, and the bundled default model
models/half_plus_two/1. Goldens are what TensorFlow computes for each case, encoded so JSON keeps
them exact: int64/uint64 as decimal strings, float16/bfloat16 as raw uint16 bits, strings as base64,
NaN/Infinity as strings, bool as 0/1. Weights come from fixed seeds, so a rerun changes nothing that
matters; `npm test` reads only the committed files and never needs Python.
"""
import base64
import io
import json
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FIXTURES = os.path.join(ROOT, "test", "fixtures", "models")

DTYPES = {
    "float32": tf.float32, "float64": tf.float64, "float16": tf.float16, "bfloat16": tf.bfloat16,
    "int8": tf.int8, "int16": tf.int16, "int32": tf.int32, "int64": tf.int64,
    "uint8": tf.uint8, "uint16": tf.uint16, "uint32": tf.uint32, "uint64": tf.uint64,
    "bool": tf.bool, "string": tf.string,
}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}


def encode_values(dtype, array):
    flat = np.asarray(array).reshape(-1)
    if dtype == "string":
        return [base64.b64encode(bytes(v)).decode("ascii") for v in flat]
    if dtype in ("int64", "uint64"):
        return [str(int(v)) for v in flat]
    if dtype in ("float16", "bfloat16"):
        return [int(v) for v in flat.view(np.uint16)]
    if dtype == "bool":
        return [1 if v else 0 for v in flat]
    if dtype in ("float32", "float64"):
        out = []
        for v in flat:
            v = float(v)
            out.append("NaN" if np.isnan(v) else "Infinity" if v == np.inf else "-Infinity" if v == -np.inf else v)
        return out
    return [int(v) for v in flat]


def tensor_json(value):
    value = tf.convert_to_tensor(value)
    dtype = DTYPE_NAMES[value.dtype]
    return {"dtype": dtype, "shape": list(value.shape), "data": encode_values(dtype, value.numpy())}


def tensor_info_json(spec):
    shape = None if spec.shape.rank is None else [-1 if d is None else d for d in spec.shape.as_list()]
    return {"name": spec.name, "dtype": DTYPE_NAMES[spec.dtype], "shape": shape}


def fresh_dir(path):
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def signature_json_from_meta_graph(export_dir):
    """Signature metadata as the SavedModel stores it (what the addon reads), not as Python sees it."""
    from tensorflow.core.protobuf import saved_model_pb2

    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        saved = saved_model_pb2.SavedModel.FromString(f.read())
    meta = next(m for m in saved.meta_graphs if "serve" in m.meta_info_def.tags)
    out = {}
    for key, sig in meta.signature_def.items():
        if key.startswith("__"):
            continue

        def info(t):
            shape = None if t.tensor_shape.unknown_rank else [d.size for d in t.tensor_shape.dim]
            return {"name": t.name, "dtype": DTYPE_NAMES[tf.dtypes.as_dtype(t.dtype)], "shape": shape}

        out[key] = {
            "methodName": sig.method_name,
            "inputs": {k: info(v) for k, v in sorted(sig.inputs.items())},
            "outputs": {k: info(v) for k, v in sorted(sig.outputs.items())},
        }
    return out


def run_signatures_tf2(export_dir, cases):
    """Runs each case through the reloaded SavedModel, the way a TF2 user would."""
    loaded = tf.saved_model.load(export_dir)
    golden_cases = []
    for signature, inputs in cases:
        fn = loaded.signatures[signature]
        outputs = fn(**{k: tf.convert_to_tensor(v) for k, v in inputs.items()})
        golden_cases.append({
            "signature": signature,
            "inputs": {k: tensor_json(v) for k, v in inputs.items()},
            "outputs": {k: tensor_json(v) for k, v in sorted(outputs.items())},
        })
    return golden_cases


def write_golden(name, export_dir, cases):
    golden = {
        "model": os.path.relpath(export_dir, ROOT),
        "tags": ["serve"],
        "signatures": signature_json_from_meta_graph(export_dir),
        "cases": cases,
    }
    with open(os.path.join(FIXTURES, f"{name}.golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")
    print(f"wrote {golden['model']} ({len(cases)} golden cases)")


# --------------------------------------------------------------------------------------------------
# tf2_module: a tf.Module with several signatures, dynamic dims, an unknown-rank input, a slow one
# (a loop of many small ops, so a run timeout can cancel it between ops) and one that fails at run time.

class Tf2Module(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def serving_default(self, x):
        return {"y": 2.0 * x + 1.0, "sum": tf.reduce_sum(x, axis=1)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x"), tf.TensorSpec([], tf.float32, name="factor")])
    def scale(self, x, factor):
        return {"y": x * factor}

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32, name="x")])
    def dynamic(self, x):
        return {"y": tf.transpose(x), "shape": tf.shape(x, out_type=tf.int64)}

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32, name="x")])
    def unknown_rank(self, x):
        return {"y": x * 3.0, "rank": tf.rank(x)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def identity(self, x):
        return {"y": tf.identity(x)}

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32, name="x")])
    def slow(self, x):
        # About x * 0.5 s on one core: x * 20,000 iterations of a tiny matmul.
        steps = tf.cast(x * 20000.0, tf.int32)
        m = tf.fill([16, 16], 0.01)

        def body(i, acc):
            return i + 1, tf.tanh(tf.matmul(acc, m) + 0.5)

        _, acc = tf.while_loop(lambda i, _: i < steps, body, [tf.constant(0), tf.eye(16)], parallel_iterations=1)
        return {"y": x + 0.0 * tf.reduce_sum(acc)}

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32, name="x")])
    def fail(self, x):
        with tf.control_dependencies([tf.debugging.assert_positive(x, message="x must be positive")]):
            return {"y": tf.identity(x)}


def make_tf2_module():
    module = Tf2Module()
    export_dir = fresh_dir(os.path.join(FIXTURES, "tf2_module", "1"))
    tf.saved_model.save(module, export_dir, signatures={
        "serving_default": module.serving_default, "scale": module.scale, "dynamic": module.dynamic,
        "unknown_rank": module.unknown_rank, "identity": module.identity, "slow": module.slow, "fail": module.fail,
    })
    f32 = lambda v: np.array(v, dtype=np.float32)  # noqa: E731
    cases = [
        ("serving_default", {"x": f32([[1, 2, 3], [-0.5, 0.25, 1e-3]])}),
        ("serving_default", {"x": f32([[np.nan, np.inf, -np.inf]])}),
        ("scale", {"x": f32([1, 2, 3.5]), "factor": f32(-2)}),
        ("dynamic", {"x": f32([[1, 2, 3, 4], [5, 6, 7, 8]])}),
        ("unknown_rank", {"x": f32(2)}),
        ("unknown_rank", {"x": f32([[[1], [2]], [[3], [4]]])}),
        ("identity", {"x": f32([0.1, 0.2, 0.3])}),
        ("fail", {"x": f32(5)}),
    ]
    write_golden("tf2_module", export_dir, run_signatures_tf2(export_dir, cases))


# --------------------------------------------------------------------------------------------------
# keras_multi: a Keras functional model with several named inputs and outputs.

def make_keras_multi():
    import keras

    keras.utils.set_random_seed(7)
    features = keras.Input(shape=(4,), name="features", dtype="float32")
    category = keras.Input(shape=(1,), name="category", dtype="int32")
    embedded = keras.layers.Flatten()(keras.layers.Embedding(5, 3, name="embed")(category))
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(keras.layers.Concatenate()([features, embedded]))
    score = keras.layers.Dense(1, activation="sigmoid", name="score")(hidden)
    logits = keras.layers.Dense(3, name="logits")(hidden)
    model = keras.Model(inputs={"features": features, "category": category}, outputs={"score": score, "logits": logits})
    export_dir = fresh_dir(os.path.join(FIXTURES, "keras_multi", "1"))
    model.export(export_dir, format="tf_saved_model", verbose=False)
    rng = np.random.default_rng(7)
    cases = [
        ("serving_default", {"features": rng.standard_normal((3, 4)).astype(np.float32), "category": np.array([[0], [4], [2]], np.int32)}),
        ("serving_default", {"features": np.zeros((1, 4), np.float32), "category": np.array([[1]], np.int32)}),
    ]
    write_golden("keras_multi", export_dir, run_signatures_tf2(export_dir, cases))


# --------------------------------------------------------------------------------------------------
# dtypes: one signature per dtype, named after it (input x, outputs y = reverse(x) and n = size),
# plus "mixed", which takes and returns several dtypes at once.

class DtypesModule(tf.Module):
    pass


def dtype_signature(dtype):
    @tf.function(input_signature=[tf.TensorSpec([None], dtype, name="x")])
    def fn(x):
        return {"y": tf.reverse(x, axis=[0]), "n": tf.size(x, out_type=tf.int64)}

    return fn


@tf.function(input_signature=[
    tf.TensorSpec([None], tf.int64, name="ids"), tf.TensorSpec([None], tf.string, name="text"),
    tf.TensorSpec([None, 2], tf.float64, name="pairs"), tf.TensorSpec([None], tf.bool, name="mask"),
])
def mixed_signature(ids, text, pairs, mask):
    return {
        "ids_plus_one": ids + 1,
        "text_upper": tf.strings.upper(text),
        "text_bytes": tf.strings.join([text, "!"]),
        "pair_sums": tf.reduce_sum(pairs, axis=1),
        "mask_not": tf.logical_not(mask),
        "length": tf.strings.length(text),
    }


def make_dtypes():
    module = DtypesModule()
    signatures = {name: dtype_signature(dtype) for name, dtype in DTYPES.items()}
    signatures["mixed"] = mixed_signature
    for name, fn in signatures.items():
        setattr(module, f"sig_{name}", fn)
    export_dir = fresh_dir(os.path.join(FIXTURES, "dtypes", "1"))
    tf.saved_model.save(module, export_dir, signatures=signatures)
    bf16 = tf.bfloat16.as_numpy_dtype
    samples = {
        "float32": np.array([1.5, -0.1, 3.4028235e38, np.nan, -np.inf, 1e-45], np.float32),
        "float64": np.array([0.1, -1e300, np.inf, 5e-324], np.float64),
        "float16": np.array([1.0, -2.5, 65504.0, 0.0001], np.float16),
        "bfloat16": np.array([1.0, -2.5, 3.0e38, 0.01], bf16),
        "int8": np.array([-128, 0, 127], np.int8),
        "int16": np.array([-32768, 1, 32767], np.int16),
        "int32": np.array([-2147483648, 7, 2147483647], np.int32),
        "int64": np.array([-(2**63), 2**53 + 1, 2**63 - 1], np.int64),
        "uint8": np.array([0, 128, 255], np.uint8),
        "uint16": np.array([0, 1, 65535], np.uint16),
        "uint32": np.array([0, 2**31, 2**32 - 1], np.uint32),
        "uint64": np.array([0, 2**53 + 1, 2**64 - 1], np.uint64),
        "bool": np.array([True, False, True]),
        "string": np.array([b"hello", "caf\u00e9".encode("utf-8"), b"\x00\xff\x01", b""], object),
    }
    cases = [(name, {"x": value}) for name, value in samples.items()]
    cases.append(("mixed", {
        "ids": np.array([9007199254740993, -5], np.int64),
        "text": np.array([b"ab", b"\xc3\xa9t\xc3\xa9"], object),
        "pairs": np.array([[0.5, 0.25], [1e10, -1]], np.float64),
        "mask": np.array([True, False]),
    }))
    write_golden("dtypes", export_dir, run_signatures_tf2(export_dir, cases))


# --------------------------------------------------------------------------------------------------
# tf1_methods: a TF1 graph whose signatures use the predict, classify and regress method names, over
# serialized tf.Example input for classify/regress, as TF Serving's own half_plus_two does.

def make_tf1_methods():
    export_dir = fresh_dir(os.path.join(FIXTURES, "tf1_methods", "1"))
    graph = tf.Graph()
    with graph.as_default():
        v1 = tf.compat.v1
        a = v1.Variable(0.5, name="a")
        b = v1.Variable(2.0, name="b")
        serialized = v1.placeholder(tf.string, [None], name="tf_example")
        parsed = v1.io.parse_example(serialized, {"x": v1.io.FixedLenFeature([1], tf.float32)})
        x_example = parsed["x"]
        x = v1.placeholder(tf.float32, [None], name="x")
        y = tf.add(a * x, b, name="y")
        regressed = tf.add(a * x_example, b, name="regress_y")
        positive = tf.sigmoid(x_example, name="p_positive")
        scores = tf.concat([1.0 - positive, positive], axis=1, name="scores")
        classes = tf.tile(tf.constant([["negative", "positive"]]), [tf.shape(serialized)[0], 1], name="classes")
        builder = v1.saved_model.builder.SavedModelBuilder(export_dir)
        info = v1.saved_model.utils.build_tensor_info
        predict = v1.saved_model.signature_def_utils.build_signature_def(
            {"x": info(x)}, {"y": info(y)}, v1.saved_model.signature_constants.PREDICT_METHOD_NAME)
        classify = v1.saved_model.signature_def_utils.build_signature_def(
            {"inputs": info(serialized)}, {"classes": info(classes), "scores": info(scores)},
            v1.saved_model.signature_constants.CLASSIFY_METHOD_NAME)
        regress = v1.saved_model.signature_def_utils.build_signature_def(
            {"inputs": info(serialized)}, {"outputs": info(regressed)}, v1.saved_model.signature_constants.REGRESS_METHOD_NAME)
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={
                "serving_default": predict, "predict": predict, "classify": classify, "regress": regress,
            })
            builder.save()

    def example(value):
        return tf.train.Example(features=tf.train.Features(feature={
            "x": tf.train.Feature(float_list=tf.train.FloatList(value=[value]))})).SerializeToString()

    examples = np.array([example(1.0), example(-2.0), example(0.0)], object)
    cases = [
        ("serving_default", {"x": np.array([1, 2, 3], np.float32)}),
        ("predict", {"x": np.array([-4], np.float32)}),
        ("classify", {"inputs": examples}),
        ("regress", {"inputs": examples}),
    ]
    results = []
    with tf.compat.v1.Session(graph=tf.Graph()) as session:
        meta = tf.compat.v1.saved_model.loader.load(session, ["serve"], export_dir)
        for signature, inputs in cases:
            sig = meta.signature_def[signature]
            keys = sorted(sig.outputs)
            values = session.run([sig.outputs[k].name for k in keys],
                                 {sig.inputs[k].name: v for k, v in inputs.items()})
            results.append((signature, inputs, dict(zip(keys, values))))
    # Encoded outside the session, whose graph would make every conversion symbolic.
    golden_cases = [{
        "signature": signature,
        "inputs": {k: tensor_json(v) for k, v in inputs.items()},
        "outputs": {k: tensor_json(v) for k, v in outputs.items()},
    } for signature, inputs, outputs in results]
    write_golden("tf1_methods", export_dir, golden_cases)


# --------------------------------------------------------------------------------------------------
# image_bytes: encoded JPEG/PNG bytes in, decoded, resized and summarised in the graph.

@tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
def image_bytes_signature(image_bytes):
    def one(encoded):
        image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
        image = tf.image.resize(tf.cast(image, tf.float32) / 255.0, [8, 8], method="bilinear", antialias=False)
        return image

    images = tf.map_fn(one, image_bytes, fn_output_signature=tf.TensorSpec([8, 8, 3], tf.float32))
    return {"mean_rgb": tf.reduce_mean(images, axis=[1, 2]), "thumbnail": images}


def encoded_image(fmt, color, size):
    image = Image.new("RGB", size, color)
    for i in range(min(size)):
        image.putpixel((i, i), (255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def make_image_bytes():
    module = tf.Module()
    module.fn = image_bytes_signature
    export_dir = fresh_dir(os.path.join(FIXTURES, "image_bytes", "1"))
    tf.saved_model.save(module, export_dir, signatures={"serving_default": image_bytes_signature})
    images = np.array([encoded_image("PNG", (200, 30, 60), (16, 12)), encoded_image("JPEG", (10, 120, 240), (20, 20))], object)
    # Fixture image files for server tests that post real image bytes.
    with open(os.path.join(FIXTURES, "image_bytes.png"), "wb") as f:
        f.write(images[0])
    write_golden("image_bytes", export_dir, run_signatures_tf2(export_dir, [("serving_default", {"image_bytes": images})]))


# --------------------------------------------------------------------------------------------------
# cnn: a compute-bound convolutional net over 64x64x3 images (random weights, fixed seed).

def make_cnn():
    import keras

    keras.utils.set_random_seed(11)
    model = keras.Sequential([
        keras.Input(shape=(64, 64, 3), name="images"),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(10, name="logits"),
        keras.layers.Softmax(name="probabilities"),
    ])
    export_dir = fresh_dir(os.path.join(FIXTURES, "cnn", "1"))
    model.export(export_dir, format="tf_saved_model", verbose=False)
    rng = np.random.default_rng(11)
    # Multiples of 1/16 keep the golden file small.
    cases = [("serving_default", {"images": (rng.integers(0, 17, (2, 64, 64, 3)) / 16).astype(np.float32)})]
    write_golden("cnn", export_dir, run_signatures_tf2(export_dir, cases))


# --------------------------------------------------------------------------------------------------
# batch_probe: outputs that reveal the batch a run saw, for the batching tests. Every output has one
# row per input row (batching splits outputs on dim 0), except in the two signatures that test
# TF Serving's checks of batched outputs.

class BatchProbe(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32, name="x")])
    def serving_default(self, x):
        rows = tf.shape(x)[0]
        return {
            "y": tf.identity(x),
            "batch_size": tf.fill([rows], rows),
            "width": tf.fill([rows], tf.shape(x)[1]),
        }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="s")])
    def strings(self, s):
        rows = tf.shape(s)[0]
        return {"joined": tf.strings.join([s, "!"]), "batch_size": tf.fill([rows], rows)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="a"), tf.TensorSpec([None], tf.float32, name="b")])
    def pair(self, a, b):
        return {"sum": a + b, "batch_size": tf.fill([tf.shape(a)[0]], tf.shape(a)[0])}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def scalar_output(self, x):
        return {"total": tf.reduce_sum(x)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def first_row(self, x):
        return {"head": x[:1]}


def make_batch_probe():
    module = BatchProbe()
    export_dir = fresh_dir(os.path.join(FIXTURES, "batch_probe", "1"))
    tf.saved_model.save(module, export_dir, signatures={
        "serving_default": module.serving_default, "strings": module.strings, "pair": module.pair,
        "scalar_output": module.scalar_output, "first_row": module.first_row,
    })
    f32 = lambda v: np.array(v, dtype=np.float32)  # noqa: E731
    cases = [
        ("serving_default", {"x": f32([[1, 2, 3], [4, 5, 6]])}),
        ("strings", {"s": np.array([b"a", b"bc"], object)}),
        ("pair", {"a": f32([1, 2]), "b": f32([10, 20])}),
        ("scalar_output", {"x": f32([1, 2, 3])}),
        ("first_row", {"x": f32([7, 8])}),
    ]
    write_golden("batch_probe", export_dir, run_signatures_tf2(export_dir, cases))


# --------------------------------------------------------------------------------------------------
# half_plus_two: the bundled default model (x float32 [-1] -> y = 0.5 x + 2), as in the README.

class HalfPlusTwo(tf.Module):
    def __init__(self):
        super().__init__()
        self.a = tf.Variable(0.5)
        self.b = tf.Variable(2.0)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def serving_default(self, x):
        return {"y": self.a * x + self.b}


def make_half_plus_two():
    module = HalfPlusTwo()
    export_dir = fresh_dir(os.path.join(ROOT, "models", "half_plus_two", "1"))
    tf.saved_model.save(module, export_dir, signatures={"serving_default": module.serving_default})
    cases = [("serving_default", {"x": np.array([1, 2, 5], np.float32)})]
    write_golden("half_plus_two", export_dir, run_signatures_tf2(export_dir, cases))


MODELS = {
    "tf2_module": make_tf2_module, "keras_multi": make_keras_multi, "dtypes": make_dtypes,
    "tf1_methods": make_tf1_methods, "image_bytes": make_image_bytes, "cnn": make_cnn,
    "half_plus_two": make_half_plus_two, "batch_probe": make_batch_probe,
}


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    for name in sys.argv[1:] or MODELS:
        MODELS[name]()


if __name__ == "__main__":
    main()
