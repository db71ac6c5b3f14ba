"""Limits and int64 versions as real clients meet them: `requests` for REST, the official
tensorflow-serving-api stubs for gRPC (README "Limits, timeouts, shutdown and memory")."""
import gzip

import grpc
import requests
from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc

INT64_MAX = 2**63 - 1


def test_rest_versions_are_echoed_as_int64(rest_url):
    response = requests.get(f"{rest_url}/v1/models/half_plus_two/versions/{INT64_MAX}", timeout=10)
    assert response.status_code == 404
    assert response.json() == {"error": f"Could not find version {INT64_MAX} of model half_plus_two"}
    predict = requests.post(f"{rest_url}/v1/models/half_plus_two/versions/{INT64_MAX}:predict", json={"instances": [1.0]}, timeout=10)
    assert predict.status_code == 404
    assert predict.json() == {"error": f"Servable not found for request: Specific(half_plus_two, {INT64_MAX})"}


def test_grpc_versions_are_echoed_as_int64(grpc_target):
    with grpc.insecure_channel(grpc_target) as channel:
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "half_plus_two"
        request.model_spec.version.value = INT64_MAX
        try:
            prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=10)
            raise AssertionError("Predict of a version that does not exist succeeded")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND
            assert error.details() == f"Servable not found for request: Specific(half_plus_two, {INT64_MAX})"
        status = get_model_status_pb2.GetModelStatusRequest()
        status.model_spec.name = "half_plus_two"
        status.model_spec.version.value = INT64_MAX - 1
        try:
            model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(status, timeout=10)
            raise AssertionError("GetModelStatus of a version that does not exist succeeded")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND
            assert error.details() == f"Could not find version {INT64_MAX - 1} of model half_plus_two"


def test_a_gzip_bomb_is_refused_by_the_memory_budget(rest_url):
    # 45 M one-digit numbers: 90 MB of JSON in an 88 KB body.
    bomb = gzip.compress(b'{"instances": [' + b"1," * 44_999_999 + b"1]}", compresslevel=9)
    assert len(bomb) < 200_000
    response = requests.post(
        f"{rest_url}/v1/models/half_plus_two:predict", data=bomb, headers={"Content-Encoding": "gzip"}, timeout=60
    )
    assert response.status_code == 429
    assert response.json()["error"].startswith("Request would need about 1170000064 bytes to decode (90000016 bytes of JSON")
    assert response.json()["error"].endswith("more than the per-request memory budget of 1073741824 bytes (--rest_api_request_memory_budget_bytes)")
    # The server is well after it.
    assert requests.post(f"{rest_url}/v1/models/half_plus_two:predict", json={"instances": [1.0]}, timeout=10).json() == {"predictions": [2.5]}


def test_a_large_gzip_body_is_answered_in_full(rest_url):
    body = gzip.compress(b'{"instances": [' + b"1.5," * 1_999_999 + b"1.5]}")
    response = requests.post(f"{rest_url}/v1/models/half_plus_two:predict", data=body, headers={"Content-Encoding": "gzip"}, timeout=120)
    assert response.status_code == 200, response.text[:200]
    predictions = response.json()["predictions"]
    assert len(predictions) == 2_000_000 and set(predictions) == {2.75}
