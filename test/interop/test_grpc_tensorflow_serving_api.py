"""TF Serving's gRPC API as its users call it: the official tensorflow-serving-api stubs, grpcio and
tf.make_tensor_proto / tf.make_ndarray (TFSERVING_SPEC.md §2)."""
import os
import pathlib

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import (
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    input_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)
from tensorflow_serving.config import model_server_config_pb2

REPO = pathlib.Path(os.environ.get("TFSERVE_REPO", "."))
MODELS = {
    "half_plus_two": REPO / "models" / "half_plus_two",
    "tf1_methods": REPO / "test" / "fixtures" / "models" / "tf1_methods",
    "keras_multi": REPO / "test" / "fixtures" / "models" / "keras_multi",
    "dtypes": REPO / "test" / "fixtures" / "models" / "dtypes",
    "tf2_module": REPO / "test" / "fixtures" / "models" / "tf2_module",
}
TF_SERVING_TF2 = REPO.parent / "shared" / "fixtures" / "tfserving" / "saved_model_half_plus_two_tf2_cpu"
LARGE = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]


@pytest.fixture(scope="module")
def channel(grpc_target):
    with grpc.insecure_channel(grpc_target, options=LARGE) as ch:
        yield ch


@pytest.fixture(scope="module")
def prediction(channel):
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


@pytest.fixture(scope="module")
def models(channel):
    return model_service_pb2_grpc.ModelServiceStub(channel)


def predict_request(model, signature="", **inputs):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    if signature:
        request.model_spec.signature_name = signature
    for alias, proto in inputs.items():
        request.inputs[alias].CopyFrom(proto)
    return request


def example(**features):
    return tf.train.Example(features=tf.train.Features(feature={k: tf.train.Feature(float_list=tf.train.FloatList(value=[v])) for k, v in features.items()}))


def code_of(call):
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def test_predict_with_make_tensor_proto_tensor_content(prediction):
    proto = tf.make_tensor_proto(np.array([1.0, 2.0, 5.0], dtype=np.float32))
    assert proto.tensor_content  # numpy arrays go as raw little-endian bytes
    response = prediction.Predict(predict_request("half_plus_two", x=proto), timeout=10)
    np.testing.assert_array_equal(tf.make_ndarray(response.outputs["y"]), [2.5, 3.0, 4.5])
    assert response.outputs["y"].float_val == [2.5, 3.0, 4.5]  # answered in typed fields, as TF Serving does
    assert response.model_spec.name == "half_plus_two"
    assert response.model_spec.version.value == 1
    assert response.model_spec.signature_name == "serving_default"


def test_predict_with_typed_fields_and_fromproto_rules(prediction):
    typed = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=3)]), float_val=[4.0])
    response = prediction.Predict(predict_request("half_plus_two", x=typed), timeout=10)
    np.testing.assert_array_equal(tf.make_ndarray(response.outputs["y"]), [4.0, 4.0, 4.0])  # the last value repeats


def test_predict_strings_and_scalar_outputs(prediction):
    strings = tf.make_tensor_proto([b"ab", b"\xff\x00", "caf\u00e9".encode()], dtype=tf.string)
    response = prediction.Predict(predict_request("dtypes", "string", x=strings), timeout=10)
    assert list(tf.make_ndarray(response.outputs["y"])) == ["caf\u00e9".encode(), b"\xff\x00", b"ab"]
    n = response.outputs["n"]
    assert n.HasField("tensor_shape") and len(n.tensor_shape.dim) == 0
    assert tf.make_ndarray(n) == 3


def test_predict_every_numeric_dtype(prediction):
    for dtype in ["float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool", "float16"]:
        values = np.array([1, 0, 1, 1], dtype=dtype)
        response = prediction.Predict(predict_request("dtypes", dtype, x=tf.make_tensor_proto(values)), timeout=10)
        np.testing.assert_array_equal(tf.make_ndarray(response.outputs["y"]), values[::-1], err_msg=dtype)


def test_predict_request_over_4_mib(prediction):
    x = np.arange(2_000_000, dtype=np.float32)  # 8 MB each way
    response = prediction.Predict(predict_request("half_plus_two", x=tf.make_tensor_proto(x)), timeout=60)
    y = tf.make_ndarray(response.outputs["y"])
    assert y.shape == (2_000_000,)
    assert y[1_999_999] == np.float32(0.5 * 1_999_999 + 2)


def test_predict_two_inputs_with_output_filter(prediction):
    request = predict_request(
        "keras_multi",
        category=tf.make_tensor_proto(np.array([[1], [2]], dtype=np.int32)),
        features=tf.make_tensor_proto(np.array([[0.5, 0.25, 0.0, 1.0], [1, 2, 3, 4]], dtype=np.float32)),
    )
    assert set(prediction.Predict(request, timeout=10).outputs) == {"logits", "score"}
    request.output_filter.append("score")
    response = prediction.Predict(request, timeout=10)
    assert list(response.outputs) == ["score"]
    assert tf.make_ndarray(response.outputs["score"]).shape == (2, 1)


def test_classify_regress_multi_inference_over_tf_example(prediction):
    examples = [example(x=1.0), example(x=-2.0)]
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "tf1_methods"
    request.model_spec.signature_name = "classify"
    request.input.example_list.examples.extend(examples)
    result = prediction.Classify(request, timeout=10)
    assert result.model_spec.signature_name == "classify" and result.model_spec.version.value == 1
    assert [[c.label for c in row.classes] for row in result.result.classifications] == [["negative", "positive"]] * 2
    for row in result.result.classifications:
        assert abs(sum(c.score for c in row.classes) - 1.0) < 1e-5

    regress = regression_pb2.RegressionRequest()
    regress.model_spec.name = "tf1_methods"
    regress.model_spec.signature_name = "regress"
    regress.input.example_list_with_context.examples.extend([tf.train.Example(), tf.train.Example()])
    regress.input.example_list_with_context.context.CopyFrom(example(x=1.0))
    with_context = prediction.Regress(regress, timeout=10)
    assert len(with_context.result.regressions) == 2

    multi = inference_pb2.MultiInferenceRequest()
    for signature, method in [("regress", "tensorflow/serving/regress"), ("classify", "tensorflow/serving/classify")]:
        task = multi.tasks.add()
        task.model_spec.name = "tf1_methods"
        task.model_spec.signature_name = signature
        task.method_name = method
    multi.input.example_list.examples.extend([example(x=1.0), example(x=1.0)])
    results = prediction.MultiInference(multi, timeout=10).results
    assert [r.model_spec.signature_name for r in results] == ["regress", "classify"]
    assert [r.value for r in results[0].regression_result.regressions] == [r.value for r in with_context.result.regressions]
    assert len(results[1].classification_result.classifications) == 2


def test_get_model_metadata_unpacks_the_signature_def_map(prediction):
    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = "tf1_methods"
    response = prediction.GetModelMetadata(request, timeout=10)
    assert response.model_spec.name == "tf1_methods" and response.model_spec.version.value == 1
    signature_defs = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signature_defs)
    classify = signature_defs.signature_def["classify"]
    assert classify.method_name == "tensorflow/serving/classify"
    assert classify.inputs["inputs"].dtype == types_pb2.DT_STRING
    assert set(classify.outputs) == {"classes", "scores"}
    assert set(signature_defs.signature_def) >= {"serving_default", "predict", "classify", "regress"}


def test_get_model_status(models):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "half_plus_two"
    (status,) = models.GetModelStatus(request, timeout=10).model_version_status
    assert status.version == 1
    assert status.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
    assert status.status.error_code == 0 and status.status.error_message == ""


def reload_config(models, extra=()):
    config = model_server_config_pb2.ModelServerConfig()
    for name, path in [*MODELS.items(), *extra]:
        entry = config.model_config_list.config.add()
        entry.name, entry.base_path, entry.model_platform = name, str(path), "tensorflow"
    request = model_management_pb2.ReloadConfigRequest(config=config, metric_names=["/tensorflow/serving/unknown_metric"])
    return models.HandleReloadConfigRequest(request, timeout=60)


def test_handle_reload_config_request_adds_and_removes_a_model(models, prediction):
    response = reload_config(models, [("half_plus_two_copy", MODELS["half_plus_two"])])
    assert response.status.error_code == 0
    assert len(response.metric) == 0  # tfserve counts no metric of that name (TF Serving skips those too)
    y = prediction.Predict(predict_request("half_plus_two_copy", x=tf.make_tensor_proto(np.array([2.0], np.float32))), timeout=10).outputs["y"]
    assert list(tf.make_ndarray(y)) == [3.0]
    reload_config(models)
    status = get_model_status_pb2.GetModelStatusRequest()
    status.model_spec.name = "half_plus_two_copy"
    for _ in range(100):
        states = [s.state for s in models.GetModelStatus(status, timeout=10).model_version_status]
        if states == [get_model_status_pb2.ModelVersionStatus.END]:
            break
    assert states == [get_model_status_pb2.ModelVersionStatus.END]


@pytest.mark.skipif(not TF_SERVING_TF2.exists(), reason="TF Serving's fixtures (../shared) are absent")
def test_signature_defaults_fill_missing_inputs(models, prediction):
    reload_config(models, [("tf2_cpu", TF_SERVING_TF2)])
    try:
        response = prediction.Predict(predict_request("tf2_cpu"), timeout=10)
        np.testing.assert_array_equal(tf.make_ndarray(response.outputs["y"]), [2.0])  # x defaults to [0]
    finally:
        reload_config(models)


def test_error_codes_and_texts(prediction, models):
    x = tf.make_tensor_proto(np.array([1.0], np.float32))
    assert code_of(lambda: prediction.Predict(predict_request("nope", x=x), timeout=10)) == (grpc.StatusCode.NOT_FOUND, "Servable not found for request: Latest(nope)")
    no_spec = predict_pb2.PredictRequest()
    assert code_of(lambda: prediction.Predict(no_spec, timeout=10)) == (grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
    versioned = predict_request("half_plus_two", x=x)
    versioned.model_spec.version.value = 7
    assert code_of(lambda: prediction.Predict(versioned, timeout=10)) == (grpc.StatusCode.NOT_FOUND, "Servable not found for request: Specific(half_plus_two, 7)")
    labelled = predict_request("half_plus_two", x=x)
    labelled.model_spec.version_label = "canary"
    assert code_of(lambda: prediction.Predict(labelled, timeout=10)) == (grpc.StatusCode.INVALID_ARGUMENT, "Unrecognized servable version label: canary")
    assert code_of(lambda: prediction.Predict(predict_request("half_plus_two", "nope", x=x), timeout=10)) == (grpc.StatusCode.FAILED_PRECONDITION, 'Serving signature key "nope" not found.')
    wrong_dtype = tf.make_tensor_proto(np.array([b"a"]), dtype=tf.string)
    assert code_of(lambda: prediction.Predict(predict_request("half_plus_two", x=wrong_dtype), timeout=10)) == (grpc.StatusCode.INVALID_ARGUMENT, "Expects arg[0] to be float but string is provided")
    bad = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=2)]), tensor_content=b"\0\0\0")
    assert code_of(lambda: prediction.Predict(predict_request("half_plus_two", x=bad), timeout=10)) == (grpc.StatusCode.INVALID_ARGUMENT, "tensor parsing error: x")
    assert code_of(lambda: prediction.Predict(predict_request("half_plus_two", x=x, z=x), timeout=10)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "input size does not match signature: 2!=1 len({x,z}) != len({x}). Sent extra: {z}. Missing but required: {}.",
    )
    filtered = predict_request("half_plus_two", x=x)
    filtered.output_filter.append("w")
    assert code_of(lambda: prediction.Predict(filtered, timeout=10)) == (grpc.StatusCode.INVALID_ARGUMENT, "output tensor alias not found in signature: w Outputs expected to be in the set {y}.")
    long_name = "m" * 2000
    code, details = code_of(lambda: prediction.Predict(predict_request(long_name, x=x), timeout=10))
    assert code == grpc.StatusCode.NOT_FOUND and details.endswith("...TRUNCATED") and len(details) == 1024 + len("...TRUNCATED")
    empty = classification_pb2.ClassificationRequest()
    empty.model_spec.name = "tf1_methods"
    empty.model_spec.signature_name = "classify"
    assert code_of(lambda: prediction.Classify(empty, timeout=10)) == (grpc.StatusCode.INVALID_ARGUMENT, "Input is empty.")
    metadata = get_model_metadata_pb2.GetModelMetadataRequest()
    metadata.model_spec.name = "tf1_methods"
    assert code_of(lambda: prediction.GetModelMetadata(metadata, timeout=10)) == (grpc.StatusCode.INVALID_ARGUMENT, "GetModelMetadataRequest must specify at least one metadata_field")
    unknown = get_model_status_pb2.GetModelStatusRequest()
    unknown.model_spec.name = "nope"
    assert code_of(lambda: models.GetModelStatus(unknown, timeout=10)) == (grpc.StatusCode.NOT_FOUND, "Could not find any versions of model nope")
    custom = model_management_pb2.ReloadConfigRequest()
    custom.config.custom_model_config.type_url = "type.googleapis.com/x"
    assert code_of(lambda: models.HandleReloadConfigRequest(custom, timeout=10)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "ServerModelConfig type not supported by HandleReloadConfigRequest. Only ModelConfigList is currently supported",
    )


def test_undecodable_request_and_deadline(channel, prediction):
    raw = channel.unary_unary("/tensorflow.serving.PredictionService/Predict", request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as info:
        raw(b"\x0a\xff", timeout=10)
    assert info.value.code() == grpc.StatusCode.INTERNAL
    slow = predict_request("tf2_module", "slow", x=tf.make_tensor_proto(np.float32(4.0)))  # ~2 s of work
    assert code_of(lambda: prediction.Predict(slow, timeout=0.3))[0] == grpc.StatusCode.DEADLINE_EXCEEDED
    # The server is fine afterwards.
    ok = prediction.Predict(predict_request("half_plus_two", x=tf.make_tensor_proto(np.array([0.0], np.float32))), timeout=10)
    assert list(tf.make_ndarray(ok.outputs["y"])) == [2.0]
