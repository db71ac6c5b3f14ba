"""KServe v2 / the Open Inference Protocol as Triton's own Python clients speak it (KSERVE_V2_SPEC.md A):
tritonclient.http (binary tensor data by default, JSON when asked) and tritonclient.grpc (raw tensors),
against half_plus_two, keras_multi (two inputs, two outputs) and dtypes (one signature per dtype, picked
with the request parameter signature_name; every output is its input reversed, plus the count n)."""
import json
import os

import ml_dtypes
import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

REPO = os.environ.get("TFSERVE_REPO", os.path.join(os.path.dirname(__file__), "..", ".."))


def golden(name):
    with open(os.path.join(REPO, "test", "fixtures", "models", f"{name}.golden.json")) as f:
        return json.load(f)


def golden_array(tensor):
    """A golden tensor (test/fixtures/models/*.golden.json) as numpy, dtype and bits exact."""
    dtype, data = tensor["dtype"], tensor["data"]
    if dtype == "string":
        import base64
        return np.array([base64.b64decode(v) for v in data], dtype=object).reshape(tensor["shape"])
    if dtype in ("float16", "bfloat16"):
        bits = np.array(data, np.uint16)
        return bits.view(np.float16 if dtype == "float16" else ml_dtypes.bfloat16).reshape(tensor["shape"])
    if dtype in ("float32", "float64"):
        return np.array([float(v) for v in data], dtype).reshape(tensor["shape"])
    return np.array([int(v) for v in data], "bool" if dtype == "bool" else dtype).reshape(tensor["shape"])


DATATYPES = {"float32": "FP32", "float64": "FP64", "float16": "FP16", "bfloat16": "BF16", "int8": "INT8", "int16": "INT16",
             "int32": "INT32", "int64": "INT64", "uint8": "UINT8", "uint16": "UINT16", "uint32": "UINT32", "uint64": "UINT64",
             "bool": "BOOL", "string": "BYTES"}
DTYPE_CASES = [case for case in golden("dtypes")["cases"] if case["signature"] != "mixed"]


def assert_same(actual, expected):
    assert actual.shape == expected.shape
    if expected.dtype == object:
        assert [bytes(v) for v in actual.ravel()] == [bytes(v) for v in expected.ravel()]
    else:
        # Bit for bit: NaN, -Infinity and subnormals must survive the trip.
        assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
        assert actual.tobytes() == expected.tobytes()


@pytest.fixture(scope="module")
def http(rest_url):
    return httpclient.InferenceServerClient(rest_url.split("://", 1)[1])


@pytest.fixture(scope="module")
def grpc(grpc_target):
    client = grpcclient.InferenceServerClient(grpc_target)
    try:
        client.is_server_live(client_timeout=5)
    except InferenceServerException as error:
        if error.status() == "StatusCode.UNAVAILABLE":
            pytest.skip(f"nothing answers gRPC on --port ({grpc_target}): {error.message()}")
        raise
    return client


# --- tritonclient.http -----------------------------------------------------------------------------

def test_http_health(http):
    assert http.is_server_live()
    assert http.is_server_ready()
    assert http.is_model_ready("half_plus_two")
    assert http.is_model_ready("half_plus_two", "1")
    assert not http.is_model_ready("half_plus_two", "7")
    assert not http.is_model_ready("no_such_model")


def test_http_server_and_model_metadata(http):
    server = http.get_server_metadata()
    assert server["name"] == "tfserve"
    assert "binary_tensor_data" in server["extensions"]
    assert http.get_model_metadata("keras_multi") == {
        "name": "keras_multi", "versions": ["1"], "platform": "tensorflow_savedmodel",
        "inputs": [{"name": "category", "datatype": "INT32", "shape": [-1, 1]}, {"name": "features", "datatype": "FP32", "shape": [-1, 4]}],
        "outputs": [{"name": "logits", "datatype": "FP32", "shape": [-1, 3]}, {"name": "score", "datatype": "FP32", "shape": [-1, 1]}],
    }
    # Another signature's metadata: the query parameter signature_name.
    int8 = http.get_model_metadata("dtypes", query_params={"signature_name": "int8"})
    assert int8["inputs"] == [{"name": "x", "datatype": "INT8", "shape": [-1]}]


def test_http_infer_binary_by_default(http):
    x = httpclient.InferInput("x", [3], "FP32")
    x.set_data_from_numpy(np.array([1, 2, 5], np.float32))  # binary_data=True: the extension both ways
    result = http.infer("half_plus_two", [x], request_id="r-1")
    assert result.get_response()["id"] == "r-1"
    assert result.get_response()["outputs"][0]["parameters"] == {"binary_data_size": 12}
    np.testing.assert_array_equal(result.as_numpy("y"), np.array([2.5, 3, 4.5], np.float32))


def test_http_infer_json(http):
    x = httpclient.InferInput("x", [2], "FP32")
    x.set_data_from_numpy(np.array([0.5, -4], np.float32), binary_data=False)
    result = http.infer("half_plus_two", [x], outputs=[httpclient.InferRequestedOutput("y", binary_data=False)], model_version="1")
    assert result.get_response()["outputs"] == [{"name": "y", "datatype": "FP32", "shape": [2], "data": [2.25, 0.0]}]
    assert result.get_response()["model_version"] == "1"


def test_http_infer_two_inputs_two_outputs(http):
    (case, *_) = golden("keras_multi")["cases"]
    inputs = []
    for name in ("category", "features"):
        tensor = golden_array(case["inputs"][name])
        inputs.append(httpclient.InferInput(name, list(tensor.shape), DATATYPES[case["inputs"][name]["dtype"]]))
        inputs[-1].set_data_from_numpy(tensor, binary_data=name == "features")  # one JSON, one binary
    outputs = [httpclient.InferRequestedOutput("score"), httpclient.InferRequestedOutput("logits", binary_data=False)]
    result = http.infer("keras_multi", inputs, outputs=outputs)
    assert [o["name"] for o in result.get_response()["outputs"]] == ["score", "logits"]
    for name in ("logits", "score"):
        np.testing.assert_allclose(result.as_numpy(name), golden_array(case["outputs"][name]), rtol=1e-5)


@pytest.mark.parametrize("case", DTYPE_CASES, ids=[c["signature"] for c in DTYPE_CASES])
def test_http_every_datatype_binary(http, case):
    x = golden_array(case["inputs"]["x"])
    tensor = httpclient.InferInput("x", list(x.shape), DATATYPES[case["inputs"]["x"]["dtype"]])
    tensor.set_data_from_numpy(x)
    result = http.infer("dtypes", [tensor], parameters={"signature_name": case["signature"]})
    assert_same(result.as_numpy("y"), golden_array(case["outputs"]["y"]))
    assert result.as_numpy("n") == len(x)


@pytest.mark.parametrize("case", [c for c in DTYPE_CASES if c["signature"] != "bfloat16"],
                         ids=[c["signature"] for c in DTYPE_CASES if c["signature"] != "bfloat16"])
def test_http_every_datatype_json(http, case):
    # tritonclient refuses BF16 as JSON; non-UTF-8 BYTES cannot be JSON text, so that case sends text only.
    x = golden_array(case["inputs"]["x"])
    if x.dtype == object:
        x = np.array([b"hello", "café".encode(), b""], dtype=object)
    tensor = httpclient.InferInput("x", list(x.shape), DATATYPES[case["inputs"]["x"]["dtype"]])
    tensor.set_data_from_numpy(x, binary_data=False)
    outputs = [httpclient.InferRequestedOutput("y", binary_data=False)]
    result = http.infer("dtypes", [tensor], outputs=outputs, parameters={"signature_name": case["signature"]})
    expected = x[::-1] if x.dtype == object else golden_array(case["outputs"]["y"])
    if x.dtype == object:
        assert [v.encode() if isinstance(v, str) else bytes(v) for v in result.as_numpy("y")] == list(expected)
    elif x.dtype.kind == "f":
        np.testing.assert_array_equal(result.as_numpy("y"), expected)
    else:
        assert_same(result.as_numpy("y"), expected)


def test_http_errors_are_protocol_errors(http):
    x = httpclient.InferInput("x", [1], "FP32")
    x.set_data_from_numpy(np.array([1], np.float32))
    with pytest.raises(InferenceServerException) as missing:
        http.infer("no_such_model", [x])
    assert missing.value.status() == "404"
    assert missing.value.message() == "Request for unknown model: 'no_such_model' is not found"
    wrong = httpclient.InferInput("x", [1], "FP64")
    wrong.set_data_from_numpy(np.array([1], np.float64))
    with pytest.raises(InferenceServerException) as datatype:
        http.infer("half_plus_two", [wrong])
    assert datatype.value.status() == "400"
    assert datatype.value.message() == "inference input 'x' data-type is 'FP64', but model 'half_plus_two' expects 'FP32'"
    with pytest.raises(InferenceServerException) as signature:
        http.infer("half_plus_two", [x], parameters={"signature_name": "nope"})
    assert signature.value.status() == "400"
    assert "has no signature 'nope'" in signature.value.message()


# --- tritonclient.grpc -----------------------------------------------------------------------------

def test_grpc_health(grpc):
    assert grpc.is_server_live()
    assert grpc.is_server_ready()
    assert grpc.is_model_ready("half_plus_two")
    assert grpc.is_model_ready("half_plus_two", "1")
    assert not grpc.is_model_ready("half_plus_two", "7")
    assert not grpc.is_model_ready("no_such_model")


def test_grpc_server_and_model_metadata(grpc):
    server = grpc.get_server_metadata(as_json=True)
    assert server["name"] == "tfserve"
    model = grpc.get_model_metadata("keras_multi", as_json=True)
    assert model["platform"] == "tensorflow_savedmodel"
    assert model["versions"] == ["1"]
    assert [(t["name"], t["datatype"], t["shape"]) for t in model["inputs"]] == [("category", "INT32", ["-1", "1"]), ("features", "FP32", ["-1", "4"])]
    assert [t["name"] for t in model["outputs"]] == ["logits", "score"]


def test_grpc_infer_raw(grpc):
    (case, *_) = golden("keras_multi")["cases"]
    inputs = []
    for name in ("category", "features"):
        tensor = golden_array(case["inputs"][name])
        inputs.append(grpcclient.InferInput(name, list(tensor.shape), DATATYPES[case["inputs"][name]["dtype"]]))
        inputs[-1].set_data_from_numpy(tensor)  # raw_input_contents
    result = grpc.infer("keras_multi", inputs, request_id="g-1")
    assert result.get_response().id == "g-1"
    for name in ("logits", "score"):
        np.testing.assert_allclose(result.as_numpy(name), golden_array(case["outputs"][name]), rtol=1e-5)
    x = grpcclient.InferInput("x", [3], "FP32")
    x.set_data_from_numpy(np.array([1, 2, 5], np.float32))
    half = grpc.infer("half_plus_two", [x], outputs=[grpcclient.InferRequestedOutput("y")], model_version="1")
    np.testing.assert_array_equal(half.as_numpy("y"), np.array([2.5, 3, 4.5], np.float32))


@pytest.mark.parametrize("case", DTYPE_CASES, ids=[c["signature"] for c in DTYPE_CASES])
def test_grpc_every_datatype_raw(grpc, case):
    x = golden_array(case["inputs"]["x"])
    tensor = grpcclient.InferInput("x", list(x.shape), DATATYPES[case["inputs"]["x"]["dtype"]])
    tensor.set_data_from_numpy(x)
    result = grpc.infer("dtypes", [tensor], parameters={"signature_name": case["signature"]})
    assert_same(result.as_numpy("y"), golden_array(case["outputs"]["y"]))
    assert result.as_numpy("n") == len(x)


def test_grpc_errors_are_statuses(grpc):
    x = grpcclient.InferInput("x", [1], "FP32")
    x.set_data_from_numpy(np.array([1], np.float32))
    with pytest.raises(InferenceServerException) as missing:
        grpc.infer("no_such_model", [x])
    assert missing.value.status() == "StatusCode.NOT_FOUND"
    assert missing.value.message() == "Request for unknown model: 'no_such_model' is not found"
    with pytest.raises(InferenceServerException) as metadata:
        grpc.get_model_metadata("half_plus_two", "7")
    assert metadata.value.status() == "StatusCode.NOT_FOUND"
    wrong = grpcclient.InferInput("y", [1], "FP32")
    wrong.set_data_from_numpy(np.array([1], np.float32))
    with pytest.raises(InferenceServerException) as unknown:
        grpc.infer("half_plus_two", [wrong])
    assert unknown.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert unknown.value.message() == "unexpected inference input 'y' for model 'half_plus_two'"
