"""Files tfserve writes, read by TensorFlow's own TFRecord reader and TF Serving's PredictionLog class:
the warmup file of `tfserve warmup`, and the request logs of a model config's logging_config."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import numpy as np
import requests
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

REPO = os.environ["TFSERVE_REPO"]
TFSERVE = os.path.join(REPO, "bin", "tfserve.js")
TF1_METHODS = os.path.join(REPO, "test", "fixtures", "models", "tf1_methods", "1")


def read_logs(path):
    return [prediction_log_pb2.PredictionLog.FromString(record.numpy()) for record in tf.data.TFRecordDataset(path)]


def test_tfserve_warmup_writes_what_tensorflow_reads(tmp_path):
    version = tmp_path / "tf1_methods" / "1"
    shutil.copytree(TF1_METHODS, version)
    bodies = tmp_path / "bodies.jsonl"
    bodies.write_text(
        "\n".join(
            json.dumps(body)
            for body in [
                {"instances": [1.5, 2.5]},
                {"signature_name": "classify", "examples": [{"x": 1.0}, {"x": -1.0}]},
                {"signature_name": "regress", "examples": [{"x": 0.5}]},
            ]
        )
    )
    done = subprocess.run(["node", TFSERVE, "warmup", f"--model_dir={version}", str(bodies)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    logs = read_logs(str(version / "assets.extra" / "tf_serving_warmup_requests"))
    assert [log.WhichOneof("log_type") for log in logs] == ["predict_log", "classify_log", "regress_log"]
    predict = logs[0].predict_log.request
    assert predict.model_spec.name == "tf1_methods"
    x = tf.make_ndarray(predict.inputs["x"])
    assert x.dtype == np.float32 and x.tolist() == [1.5, 2.5]
    examples = logs[1].classify_log.request.input.example_list.examples
    assert [e.features.feature["x"].float_list.value[0] for e in examples] == [1.0, -1.0]
    assert logs[1].classify_log.request.model_spec.signature_name == "classify"
    assert logs[2].regress_log.request.input.example_list.examples[0].features.feature["x"].float_list.value[0] == 0.5


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_request_logs_are_prediction_logs_tensorflow_reads(tmp_path):
    prefix = tmp_path / "logs" / "tf1"
    config = tmp_path / "models.config"
    config.write_text(
        f'model_config_list {{ config {{ name: "tf1" base_path: "{os.path.dirname(TF1_METHODS)}" model_platform: "tensorflow"\n'
        f'  logging_config {{ log_collector_config {{ type: "tfrecord" filename_prefix: "{prefix}" }} sampling_config {{ sampling_rate: 1.0 }} }} }} }}\n'
    )
    port = free_port()
    server = subprocess.Popen(
        ["node", TFSERVE, f"--rest_api_port={port}", f"--port={free_port()}", f"--model_config_file={config}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    try:
        url = f"http://127.0.0.1:{port}/v1/models/tf1"
        deadline = time.time() + 120
        while True:
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.time() < deadline and server.poll() is None, "tfserve did not come up"
            time.sleep(0.2)
        assert requests.post(f"{url}:predict", json={"signature_name": "predict", "instances": [1.0, 2.0]}, timeout=10).status_code == 200
        assert requests.post(f"{url}:classify", json={"signature_name": "classify", "examples": [{"x": 3.0}]}, timeout=10).status_code == 200
        assert requests.post(f"{url}:predict", json={"signature_name": "nope", "instances": [1.0]}, timeout=10).status_code == 400
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    (log_file,) = (prefix.parent).iterdir()
    logs = read_logs(str(log_file))
    assert [log.WhichOneof("log_type") for log in logs] == ["predict_log", "classify_log"], "a failed request is not logged"
    meta = logs[0].log_metadata
    assert (meta.model_spec.name, meta.model_spec.version.value, meta.model_spec.signature_name) == ("tf1", 1, "predict")
    assert meta.sampling_config.sampling_rate == 1.0
    assert list(meta.saved_model_tags) == ["serve"]
    predict = logs[0].predict_log
    assert tf.make_ndarray(predict.request.inputs["x"]).tolist() == [1.0, 2.0]
    assert tf.make_ndarray(predict.response.outputs["y"]).tolist() == [2.5, 3.0]
    assert predict.response.model_spec.version.value == 1
    classes = logs[1].classify_log.response.result.classifications[0].classes
    assert [c.label for c in classes] == ["negative", "positive"]
    assert abs(classes[1].score - 1 / (1 + np.exp(-3.0))) < 1e-6
