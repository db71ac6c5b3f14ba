"""Server-side batching as TF Serving users see it, with `requests` (TFSERVING_SPEC.md §5).

These checks start a tfserve of their own with --enable_batching (the shared interop server runs
without it) on free ports, serving batch_probe, whose outputs tell the batch size a run saw; REST
through `requests`, gRPC through the official tensorflow-serving-api stubs.
"""
import concurrent.futures
import os
import shutil
import socket
import subprocess
import time

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

REPO = os.environ["TFSERVE_REPO"]
# Long enough never to be reached: a batch runs because it is full.
PARAMETERS = "max_batch_size { value: 4 }\nbatch_timeout_micros { value: 600000000 }\nmax_enqueued_batches { value: 4 }\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def batching_url(tmp_path_factory):
    work = tmp_path_factory.mktemp("batching")
    parameters = work / "batching.config"
    parameters.write_text(PARAMETERS)
    rest_port, grpc_port = free_port(), free_port()
    with open(work / "server.log", "w") as log:
        server = subprocess.Popen(
            [
                shutil.which("node") or "node", os.path.join(REPO, "bin", "tfserve.js"),
                f"--rest_api_port={rest_port}", f"--port={grpc_port}",
                "--model_name=probe", f"--model_base_path={REPO}/test/fixtures/models/batch_probe",
                "--enable_batching", f"--batching_parameters_file={parameters}",
            ],
            stdout=log, stderr=log,
        )
    url = f"http://127.0.0.1:{rest_port}"
    deadline = time.time() + 120
    while True:
        try:
            if requests.get(f"{url}/v1/models/probe", timeout=5).ok:
                break
        except requests.ConnectionError:
            pass
        if server.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"tfserve did not come up:\n{(work / 'server.log').read_text()[-4000:]}")
        time.sleep(0.25)
    yield url, f"127.0.0.1:{grpc_port}"
    server.terminate()
    server.wait(timeout=60)


def predict(server, rows):
    url, _ = server
    return requests.post(f"{url}/v1/models/probe:predict", json={"instances": rows}, timeout=60)


def predict_grpc(server, rows):
    _, target = server
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "probe"
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array(rows, np.float32)))
    with grpc.insecure_channel(target) as channel:
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=60)
    return {key: tf.make_ndarray(tensor).tolist() for key, tensor in response.outputs.items()}


def test_concurrent_requests_run_as_one_batch(batching_url):
    bodies = [[[1.0, 2.0]], [[3.0, 4.0], [5.0, 6.0]], [[7.0, 8.0]]]
    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        responses = list(pool.map(lambda rows: predict(batching_url, rows), bodies))
    for response in responses:
        assert response.status_code == 200, response.text
    predictions = [response.json()["predictions"] for response in responses]
    # Four rows fill the batch of max_batch_size 4: every row saw a run of 4.
    assert [[row["batch_size"] for row in p] for p in predictions] == [[4], [4, 4], [4]]
    assert [[row["y"] for row in p] for p in predictions] == bodies


def test_a_request_larger_than_max_batch_size_is_refused(batching_url):
    response = predict(batching_url, [[1.0]] * 5)
    assert response.status_code == 400
    assert response.json() == {"error": "Task size 5 is larger than maximum input batch size 4"}


def test_rest_and_grpc_requests_share_a_batch(batching_url):
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        rest = pool.submit(predict, batching_url, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
        over_grpc = pool.submit(predict_grpc, batching_url, [[7.0, 8.0]])
        rest, over_grpc = rest.result(), over_grpc.result()
    assert rest.status_code == 200, rest.text
    assert [row["batch_size"] for row in rest.json()["predictions"]] == [4, 4, 4]
    assert over_grpc["batch_size"] == [4]
    assert over_grpc["y"] == [[7.0, 8.0]]
