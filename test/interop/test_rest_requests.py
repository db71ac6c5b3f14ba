"""TF Serving's REST API as Python users call it, with `requests` (TFSERVING_SPEC.md §1)."""
import math

import requests


def test_status_names_the_available_version(rest_url):
    body = requests.get(f"{rest_url}/v1/models/half_plus_two", timeout=10).json()
    assert body == {"model_version_status": [{"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}


def test_metadata_carries_the_signature_defs(rest_url):
    body = requests.get(f"{rest_url}/v1/models/half_plus_two/metadata", timeout=10).json()
    assert body["model_spec"] == {"name": "half_plus_two", "signature_name": "", "version": "1"}
    signature = body["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["method_name"] == "tensorflow/serving/predict"
    assert set(signature["inputs"]) == {"x"}


def test_predict_row_and_columnar(rest_url):
    url = f"{rest_url}/v1/models/half_plus_two:predict"
    assert requests.post(url, json={"instances": [1.0, 2.0, 5.0]}, timeout=10).json() == {"predictions": [2.5, 3.0, 4.5]}
    assert requests.post(url, json={"signature_name": "serving_default", "inputs": [1.0, 2.0]}, timeout=10).json() == {"outputs": [2.5, 3.0]}


def test_predict_two_named_inputs_and_outputs(rest_url):
    url = f"{rest_url}/v1/models/keras_multi:predict"
    response = requests.post(url, json={"instances": [{"category": [1], "features": [0.5, 0.25, 0.0, 1.0]}]}, timeout=10)
    assert response.status_code == 200, response.text
    (prediction,) = response.json()["predictions"]
    assert set(prediction) == {"logits", "score"}
    assert all(math.isfinite(v) for v in prediction["logits"])


def test_classify_and_regress_with_examples(rest_url):
    classify = requests.post(f"{rest_url}/v1/models/tf1_methods:classify", json={"signature_name": "classify", "examples": [{"x": 1.0}, {"x": -2.0}]}, timeout=10)
    assert classify.status_code == 200, classify.text
    results = classify.json()["results"]
    assert [[label for label, _ in row] for row in results] == [["negative", "positive"]] * 2
    regress = requests.post(f"{rest_url}/v1/models/tf1_methods:regress", json={"signature_name": "regress", "examples": [{"x": 1.0}]}, timeout=10)
    assert regress.status_code == 200, regress.text
    assert len(regress.json()["results"]) == 1


def test_errors_are_tf_serving_bodies(rest_url):
    missing = requests.post(f"{rest_url}/v1/models/nope:predict", json={"instances": [1.0]}, timeout=10)
    assert missing.status_code == 404
    assert missing.json() == {"error": "Servable not found for request: Latest(nope)"}
    bad = requests.post(f"{rest_url}/v1/models/half_plus_two:predict", data=b'{"instances": [1.0', timeout=10)
    assert bad.status_code == 400
    assert bad.json()["error"].startswith("JSON Parse error:")
    wrong_type = requests.post(f"{rest_url}/v1/models/half_plus_two:predict", json={"instances": ["a"]}, timeout=10)
    assert wrong_type.status_code == 400
    assert "is not of expected type: float" in wrong_type.json()["error"]
