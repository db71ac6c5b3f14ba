"""The Prometheus page (--monitoring_config_file, TFSERVING_SPEC.md §7) as Prometheus reads it: parsed
by the official client's text parser (prometheus_client.parser) before and after some requests, REST
and gRPC (tensorflow-serving-api's stubs)."""
import grpc
import requests
import tensorflow as tf
from prometheus_client.parser import text_string_to_metric_families
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

PATH = "/monitoring/prometheus/metrics"


def scrape(rest_url):
    response = requests.get(f"{rest_url}{PATH}", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain"
    return response.text, {family.name: family for family in text_string_to_metric_families(response.text)}


def value(families, family, sample, **labels):
    """A sample's value (0 when the cell does not exist yet)."""
    for s in families[family].samples if family in families else []:
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    return 0


def test_the_page_parses_with_tf_servings_names_types_and_no_help(rest_url):
    text, families = scrape(rest_url)
    assert "# HELP" not in text
    assert text.endswith("\n")
    for name, family in families.items():
        assert name.startswith(":tensorflow:") or name.startswith("tfserve_"), name
        assert family.type in ("counter", "gauge", "histogram"), (name, family.type)
    expected = {
        ":tensorflow:serving:request_count": "counter",
        ":tensorflow:serving:request_latency": "histogram",
        ":tensorflow:serving:runtime_latency": "histogram",
        ":tensorflow:serving:request_example_counts": "histogram",
        # prometheus_client names a counter family without its _total suffix.
        ":tensorflow:serving:request_example_count": "counter",
        ":tensorflow:serving:model_warmup_latency": "histogram",
        ":tensorflow:cc:saved_model:load_attempt_count": "counter",
        ":tensorflow:cc:saved_model:load_latency": "counter",
        "tfserve_requests_in_flight": "gauge",
        "tfserve_model_version_state": "gauge",
        "tfserve_process_resident_memory_bytes": "gauge",
        "tfserve_nodejs_eventloop_lag_seconds": "gauge",
    }
    for name, kind in expected.items():
        assert families[name].type == kind, name


def test_requests_show_up_with_their_labels_and_histogram_buckets(rest_url):
    _, before = scrape(rest_url)
    for x in (1.0, 2.0, 3.0):
        assert requests.post(f"{rest_url}/v1/models/half_plus_two:predict", json={"instances": [x]}, timeout=10).status_code == 200
    assert requests.post(f"{rest_url}/v1/models/nope_not_served:predict", json={"instances": [1.0]}, timeout=10).status_code == 404
    classify = requests.post(f"{rest_url}/v1/models/tf1_methods:classify", json={"signature_name": "classify", "examples": [{"x": 1.0}, {"x": 2.0}]}, timeout=10)
    assert classify.status_code == 200, classify.text
    _, after = scrape(rest_url)

    count = ":tensorflow:serving:request_count"
    sample = f"{count}_total"
    delta = lambda **labels: value(after, count, sample, **labels) - value(before, count, sample, **labels)  # noqa: E731
    assert delta(model_name="half_plus_two", status="OK") == 3
    assert delta(model_name="nope_not_served", status="NOT_FOUND") == 1
    assert delta(model_name="tf1_methods", status="OK") == 1

    latency = after[":tensorflow:serving:request_latency"]
    cell = {"model_name": "half_plus_two", "API": "predict", "entrypoint": "REST"}
    buckets = [s for s in latency.samples if s.name.endswith("_bucket") and all(s.labels[k] == v for k, v in cell.items())]
    limits = [s.labels["le"] for s in buckets]
    assert limits[-1] == "+Inf" and len(limits) == 34
    assert [float(le) for le in limits[:-1]] == sorted(float(le) for le in limits[:-1])
    counts = [s.value for s in buckets]
    assert counts == sorted(counts), "buckets are cumulative"
    assert value(after, ":tensorflow:serving:request_latency", ":tensorflow:serving:request_latency_count", **cell) == counts[-1]
    assert value(after, ":tensorflow:serving:request_latency", ":tensorflow:serving:request_latency_sum", **cell) > 0
    assert value(after, ":tensorflow:serving:request_latency", ":tensorflow:serving:request_latency_count", model_name="nope_not_served") == 0, "failures have no latency"

    runtime = ":tensorflow:serving:runtime_latency"
    assert value(after, runtime, f"{runtime}_count", model_name="half_plus_two", API="Predict", runtime="TF1") - value(
        before, runtime, f"{runtime}_count", model_name="half_plus_two", API="Predict", runtime="TF1"
    ) == 3
    examples = ":tensorflow:serving:request_example_counts"
    assert value(after, examples, f"{examples}_sum", model="tf1_methods") - value(before, examples, f"{examples}_sum", model="tf1_methods") == 2


def test_loads_and_versions(rest_url):
    _, families = scrape(rest_url)
    attempts = [s for s in families[":tensorflow:cc:saved_model:load_attempt_count"].samples if s.labels["status"] == "success"]
    assert {s.labels["model_path"].rsplit("/", 2)[-2] for s in attempts} >= {"half_plus_two", "tf1_methods", "keras_multi", "dtypes"}
    states = {(s.labels["model"], s.labels["version"], s.labels["state"]) for s in families["tfserve_model_version_state"].samples}
    assert ("half_plus_two", "1", "AVAILABLE") in states
    assert families["tfserve_process_resident_memory_bytes"].samples[0].value > 0


def test_a_query_string_is_tf_servings_400(rest_url):
    response = requests.get(f"{rest_url}{PATH}?format=text", timeout=10)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "text/plain"
    assert response.text == f"Unexpected path: {PATH}?format=text. Should be {PATH}"


def test_grpc_predict_counts_with_the_grpc_labels(rest_url, grpc_target):
    _, before = scrape(rest_url)
    with grpc.insecure_channel(grpc_target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "half_plus_two"
        request.inputs["x"].CopyFrom(tf.make_tensor_proto([1.0, 2.0], dtype=tf.float32))
        for _ in range(2):
            stub.Predict(request, timeout=10)
        request.model_spec.name = "nope_over_grpc"
        try:
            stub.Predict(request, timeout=10)
            raise AssertionError("expected NOT_FOUND")
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND
    _, after = scrape(rest_url)
    count = ":tensorflow:serving:request_count"
    latency = ":tensorflow:serving:request_latency"
    grpc_cell = {"model_name": "half_plus_two", "API": "Predict", "entrypoint": "GRPC"}
    assert value(after, latency, f"{latency}_count", **grpc_cell) - value(before, latency, f"{latency}_count", **grpc_cell) == 2
    assert value(after, count, f"{count}_total", model_name="nope_over_grpc", status="NOT_FOUND") == 1
    buckets = [s for s in after[latency].samples if s.name.endswith("_bucket") and all(s.labels[k] == v for k, v in grpc_cell.items())]
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == value(after, latency, f"{latency}_count", **grpc_cell)
