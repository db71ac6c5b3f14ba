"""Builds the warmup fixtures of test/proto/prediction-log.test.ts, test/serving/warmup.test.ts and
test/cli/warmup.test.ts with TensorFlow's TFRecordWriter and TF Serving's own PredictionLog classes
(tensorflow-serving-api), for the test model test/fixtures/models/tf1_methods.

Usage: ~/.cache/tfserve/venv-interop/bin/python scripts/make-warmup-fixture.py
(the interop venv has tensorflow-cpu and tensorflow-serving-api: `npm run test:interop` makes it)

Writes, in test/fixtures/warmup/:
  bodies.jsonl                    TF Serving REST bodies, one per line, for `tfserve warmup`
  from_bodies_warmup_requests     those bodies as PredictionLogs (what tfserve warmup must write, byte
                                  for byte: the JSON decoded as TF Serving's REST API decodes it)
  tf_written_warmup_requests      every kind of record warmup replays: predict, classify, regress
                                  (with a context), multi_inference, and a record without a log
  golden.json                     each record of tf_written_warmup_requests as TF Serving's classes read
                                  it back (MessageToDict), and the replays tf1_methods must make
`npm test` reads only the committed files.
"""
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from tensorflow_serving.apis import (  # noqa: E402
    logging_pb2,
    classification_pb2,
    inference_pb2,
    input_pb2,
    model_pb2,
    predict_pb2,
    prediction_log_pb2,
    regression_pb2,
)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "warmup")
MODEL = "tf1_methods"


def spec(signature=""):
    s = model_pb2.ModelSpec(name=MODEL)
    if signature:
        s.signature_name = signature
    return s


def floats(values):
    t = tf.make_tensor_proto([], dtype=tf.float32, shape=[len(values)])
    t.ClearField("tensor_content")
    t.float_val.extend(values)
    return t


def example(x):
    return tf.train.Example(features=tf.train.Features(feature={"x": tf.train.Feature(float_list=tf.train.FloatList(value=[x]))}))


def int_example(name, value):
    return tf.train.Example(features=tf.train.Features(feature={name: tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))}))


# REST bodies and the PredictionLog each must become.
BODIES = [
    ({"signature_name": "serving_default", "instances": [1.0, 2.0, 3.0]},
     prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(
         request=predict_pb2.PredictRequest(model_spec=spec("serving_default"), inputs={"x": floats([1.0, 2.0, 3.0])})))),
    ({"inputs": {"x": [4.0, 5.0]}},
     prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(
         request=predict_pb2.PredictRequest(model_spec=spec(), inputs={"x": floats([4.0, 5.0])})))),
    ({"signature_name": "classify", "examples": [{"x": 1.0}, {"x": -2.5}]},
     prediction_log_pb2.PredictionLog(classify_log=prediction_log_pb2.ClassifyLog(
         request=classification_pb2.ClassificationRequest(
             model_spec=spec("classify"),
             input=input_pb2.Input(example_list=input_pb2.ExampleList(examples=[example(1.0), example(-2.5)])))))),
    # The context supplies x; the example's own feature is one the model does not read.
    ({"signature_name": "regress", "context": {"x": 0.5}, "examples": [{"id": 7}]},
     prediction_log_pb2.PredictionLog(regress_log=prediction_log_pb2.RegressLog(
         request=regression_pb2.RegressionRequest(
             model_spec=spec("regress"),
             input=input_pb2.Input(example_list_with_context=input_pb2.ExampleListWithContext(
                 examples=[int_example("id", 7)], context=example(0.5))))))),
]

MULTI = prediction_log_pb2.PredictionLog(multi_inference_log=prediction_log_pb2.MultiInferenceLog(
    request=inference_pb2.MultiInferenceRequest(
        tasks=[inference_pb2.InferenceTask(model_spec=spec("classify"), method_name="tensorflow/serving/classify"),
               inference_pb2.InferenceTask(model_spec=spec("regress"), method_name="tensorflow/serving/regress")],
        input=input_pb2.Input(example_list=input_pb2.ExampleList(examples=[example(0.25)])))))

# A record with metadata and no log: warmup skips it.
NO_LOG = prediction_log_pb2.PredictionLog(log_metadata=logging_pb2.LogMetadata(model_spec=spec()))

# Session runs (for tf1_methods) each record makes: predict 1, classify 1, regress 1, multi_inference 1.
RUNS = [1, 1, 1, 1, 1, 0]


def write(path, logs):
    with tf.io.TFRecordWriter(path) as writer:
        for log in logs:
            writer.write(log.SerializeToString(deterministic=True))


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "bodies.jsonl"), "w") as f:
        for body, _ in BODIES:
            f.write(json.dumps(body) + "\n")
    write(os.path.join(OUT, "from_bodies_warmup_requests"), [log for _, log in BODIES])
    logs = [log for _, log in BODIES] + [MULTI, NO_LOG]
    path = os.path.join(OUT, "tf_written_warmup_requests")
    write(path, logs)
    # What TensorFlow's reader and TF Serving's classes read back from the file just written.
    read = [prediction_log_pb2.PredictionLog.FromString(r.numpy()) for r in tf.data.TFRecordDataset(path)]
    golden = {
        "model": MODEL,
        "records": [
            {"log_type": log.WhichOneof("log_type"), "log": json_format.MessageToDict(log, preserving_proto_field_name=True), "runs": runs}
            for log, runs in zip(read, RUNS)
        ],
    }
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {len(read)} records to {path}")


if __name__ == "__main__":
    main()
