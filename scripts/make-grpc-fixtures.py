"""Writes test/fixtures/grpc/: TF Serving gRPC messages serialized by the official Python stubs, and
what TensorFlow itself makes of them, for test/proto/*.test.ts to check tfserve's protos against.

Usage:
  python3 -m venv ~/.cache/tfserve/venv-interop
  ~/.cache/tfserve/venv-interop/bin/pip install tensorflow-cpu==2.21.0 grpcio python-rapidjson
  ~/.cache/tfserve/venv-interop/bin/pip install --no-deps tensorflow-serving-api==2.21.0 tritonclient==2.73.0
  ~/.cache/tfserve/venv-interop/bin/python scripts/make-grpc-fixtures.py

(--no-deps: tensorflow-serving-api asks for the full `tensorflow` wheel, tensorflow-cpu is the same
code; tritonclient pins an older ml-dtypes than TensorFlow's, which its protobuf stubs do not use.)

Outputs, all small and committed:
- <name>.bin: one serialized message each (PredictRequest with tensor_content made by
  tf.make_tensor_proto, with typed fields and half_val, ClassificationRequest with
  example_list_with_context, MultiInference, metadata with the SignatureDefMap Any, status, reload,
  PredictionLogs, KServe v2 messages made by tritonclient).
- expected.json: per fixture, what its tensors are according to TensorFlow's C++ Tensor::FromProto
  (tf.io.parse_tensor) as raw little-endian bytes, the serialized Examples TF Serving feeds, the
  TensorProto bytes TF Serving writes for each output (AsProtoField and AsProtoTensorContent), and a
  table of edge-case TensorProtos with the C++ parser's verdict.
- descriptors.json: every field, enum value and method of the official descriptors of the messages
  tfserve declares, to compare proto/*.proto with field by field.
"""
import base64
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from google.protobuf import descriptor as pb_descriptor  # noqa: E402
from tensorflow.core.example import example_pb2, feature_pb2  # noqa: E402
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2  # noqa: E402
from tensorflow.core.protobuf import config_pb2, meta_graph_pb2, saved_model_pb2  # noqa: E402
from tensorflow_serving.apis import (  # noqa: E402
    classification_pb2, get_model_metadata_pb2, get_model_status_pb2, inference_pb2, input_pb2,
    logging_pb2, model_management_pb2, model_pb2, model_service_pb2, predict_pb2, prediction_log_pb2,
    prediction_service_pb2, regression_pb2, session_service_pb2, status_pb2)
from tensorflow_serving.config import (  # noqa: E402
    file_system_storage_path_source_pb2, logging_config_pb2, model_server_config_pb2)
from tritonclient.grpc import service_pb2 as triton_pb2  # noqa: E402
import tritonclient.grpc as triton  # noqa: E402
from tritonclient.grpc import _utils as triton_utils  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "grpc")
b64 = lambda b: base64.b64encode(bytes(b)).decode("ascii")  # noqa: E731

DTYPES = {
    types_pb2.DT_FLOAT: ("float32", tf.float32), types_pb2.DT_DOUBLE: ("float64", tf.float64),
    types_pb2.DT_HALF: ("float16", tf.float16), types_pb2.DT_BFLOAT16: ("bfloat16", tf.bfloat16),
    types_pb2.DT_INT8: ("int8", tf.int8), types_pb2.DT_INT16: ("int16", tf.int16),
    types_pb2.DT_INT32: ("int32", tf.int32), types_pb2.DT_INT64: ("int64", tf.int64),
    types_pb2.DT_UINT8: ("uint8", tf.uint8), types_pb2.DT_UINT16: ("uint16", tf.uint16),
    types_pb2.DT_UINT32: ("uint32", tf.uint32), types_pb2.DT_UINT64: ("uint64", tf.uint64),
    types_pb2.DT_BOOL: ("bool", tf.bool), types_pb2.DT_STRING: ("string", tf.string),
}
expected = {}


def write(name, message):
    # Deterministic: map entries sorted by key, so that a rerun writes the same bytes.
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        f.write(message.SerializeToString(deterministic=True))


def shape_proto(dims):
    return tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims])


def parsed(proto, out_type):
    """What TensorFlow's C++ Tensor::FromProto makes of `proto`: dtype, shape, data (raw LE bytes or strings)."""
    value = tf.io.parse_tensor(proto.SerializeToString(), out_type)
    name = DTYPES[out_type.as_datatype_enum][0]
    array = value.numpy()
    if name == "string":
        data = [b64(s) for s in array.reshape(-1)]
    else:
        data = b64(np.ascontiguousarray(array).tobytes())
    return {"dtype": name, "shape": list(array.shape), "data": data}


def tensors_of(protos):
    return {alias: parsed(p, DTYPES[p.dtype][1]) for alias, p in protos.items()}


def typed(dtype, dims, **values):
    proto = tensor_pb2.TensorProto(dtype=dtype, **values)
    proto.tensor_shape.CopyFrom(shape_proto(dims))
    return proto


def model_spec(name, version=None, label=None, signature=""):
    spec = model_pb2.ModelSpec(name=name, signature_name=signature)
    if version is not None:
        spec.version.value = version
    if label is not None:
        spec.version_label = label
    return spec


# --- Predict ---------------------------------------------------------------------------------------

def predict_content():
    request = predict_pb2.PredictRequest(model_spec=model_spec("half_plus_two", 3, signature="serving_default"))
    inputs = {
        "x": tf.make_tensor_proto(np.array([[1.5, -2, 3], [4, 5, 6.25]], np.float32)),
        "f64": tf.make_tensor_proto(np.array([1e300, -0.5], np.float64)),
        "i64": tf.make_tensor_proto(np.array([2**60, -5, 7], np.int64)),
        "u8": tf.make_tensor_proto(np.array([[0, 255], [7, 128]], np.uint8)),
        "f16": tf.make_tensor_proto(np.array([1.5, -2, 65504], np.float16)),
        "bf16": tf.make_tensor_proto(np.array([1.5, -3], tf.bfloat16.as_numpy_dtype)),
        "b": tf.make_tensor_proto(np.array([True, False, True])),
        "s": tf.make_tensor_proto([b"hello", b"", "w\u00f6rld".encode()]),
        "scalar": tf.make_tensor_proto(np.float32(2.5)),
    }
    for alias, proto in inputs.items():
        request.inputs[alias].CopyFrom(proto)
    request.output_filter.extend(["y", "z"])
    write("predict_request_content", request)
    expected["predict_request_content"] = {
        "model_spec": {"name": "half_plus_two", "version": 3, "signature_name": "serving_default"},
        "output_filter": ["y", "z"],
        "inputs": tensors_of(inputs),
    }


TYPED_INPUTS = {
    "float32": typed(types_pb2.DT_FLOAT, [2, 2], float_val=[1.5, -2.25, 3e38, -0.0]),
    "float64": typed(types_pb2.DT_DOUBLE, [3], double_val=[1e-300, 2.5, -7]),
    "int8": typed(types_pb2.DT_INT8, [3], int_val=[-128, 127, 300]),
    "int16": typed(types_pb2.DT_INT16, [2], int_val=[-32768, 70000]),
    "int32": typed(types_pb2.DT_INT32, [3], int_val=[-2147483648, 2147483647, 0]),
    "uint8": typed(types_pb2.DT_UINT8, [3], int_val=[0, 255, -1]),
    "uint16": typed(types_pb2.DT_UINT16, [2], int_val=[65535, 1]),
    "int64": typed(types_pb2.DT_INT64, [3], int64_val=[-(2**63), 2**63 - 1, -1]),
    "uint32": typed(types_pb2.DT_UINT32, [2], uint32_val=[2**32 - 1, 5]),
    "uint64": typed(types_pb2.DT_UINT64, [2], uint64_val=[2**64 - 1, 2**40]),
    "bool": typed(types_pb2.DT_BOOL, [3], bool_val=[True, False, True]),
    "float16": typed(types_pb2.DT_HALF, [2], half_val=[0x3E00, 0xC000]),
    "bfloat16": typed(types_pb2.DT_BFLOAT16, [2], half_val=[0x3FC0, 0xC040]),
    "string": typed(types_pb2.DT_STRING, [2], string_val=[b"\x00\xffbytes", b"b"]),
    "repeat_last": typed(types_pb2.DT_INT32, [2, 3], int_val=[1, 2]),
    "zeros": typed(types_pb2.DT_FLOAT, [3]),
    "scalar": typed(types_pb2.DT_INT64, [], int64_val=[42]),
    "empty": typed(types_pb2.DT_FLOAT, [0, 4]),
}


def predict_typed():
    request = predict_pb2.PredictRequest(model_spec=model_spec("m", label="stable"))
    for alias, proto in TYPED_INPUTS.items():
        request.inputs[alias].CopyFrom(proto)
    write("predict_request_typed", request)
    expected["predict_request_typed"] = {
        "model_spec": {"name": "m", "version_label": "stable", "signature_name": ""},
        "inputs": tensors_of(TYPED_INPUTS),
    }


# What TF Serving writes for each output (Tensor::AsProtoField): every value in the dtype's field.
FIELD_OF = {
    "float32": "float_val", "float64": "double_val", "float16": "half_val", "bfloat16": "half_val",
    "int8": "int_val", "int16": "int_val", "int32": "int_val", "uint8": "int_val", "uint16": "int_val",
    "int64": "int64_val", "uint32": "uint32_val", "uint64": "uint64_val", "bool": "bool_val",
    "string": "string_val",
}

OUTPUTS = {
    "float32": np.array([[0.5, -1], [3.25, 1e-30]], np.float32),
    "float64": np.array([1e300, -2.5], np.float64),
    "float16": np.array([1.5, -2, 0], np.float16),
    "bfloat16": np.array([1.5, -3], tf.bfloat16.as_numpy_dtype),
    "int8": np.array([-128, 5, 127], np.int8),
    "int16": np.array([-300, 300], np.int16),
    "int32": np.array([[-1, 0, 2147483647]], np.int32),
    "uint8": np.array([0, 200, 255], np.uint8),
    "uint16": np.array([65535, 0], np.uint16),
    "int64": np.array([-(2**63), 2**40, -1], np.int64),
    "uint32": np.array([2**32 - 1, 0, 300], np.uint32),
    "uint64": np.array([2**64 - 1, 1], np.uint64),
    "bool": np.array([[True], [False]]),
    "string": np.array([b"abc", b"", b"\xff" * 200], object),
    "scalar": np.float32(7.5),
    "empty": np.zeros([0, 3], np.float32),
}


def as_proto_field(name, array):
    array = np.asarray(array)
    dtype_name = "float32" if name in ("scalar", "empty") else name
    tf_dtype = {v[0]: k for k, v in DTYPES.items()}[dtype_name]
    proto = tensor_pb2.TensorProto(dtype=tf_dtype)
    proto.tensor_shape.CopyFrom(shape_proto(list(array.shape)))
    flat = array.reshape(-1)
    if flat.size:
        if dtype_name in ("float16", "bfloat16"):
            values = [int(v) for v in flat.view(np.uint16)]
        elif dtype_name == "string":
            values = [bytes(v) for v in flat]
        else:
            values = flat.tolist()
        getattr(proto, FIELD_OF[dtype_name]).extend(values)
    return dtype_name, proto


def as_proto_tensor_content(dtype_name, array):
    array = np.asarray(array)
    proto = tensor_pb2.TensorProto(dtype={v[0]: k for k, v in DTYPES.items()}[dtype_name])
    proto.tensor_shape.CopyFrom(shape_proto(list(array.shape)))
    flat = array.reshape(-1)
    if flat.size == 0:
        return proto
    if dtype_name == "string":
        # TensorFlow's EncodeStringList: the varint32 lengths, then the bytes.
        lengths = b"".join(varint(len(bytes(v))) for v in flat)
        proto.tensor_content = lengths + b"".join(bytes(v) for v in flat)
    else:
        proto.tensor_content = np.ascontiguousarray(array).tobytes()
    return proto


def varint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def predict_response():
    response = predict_pb2.PredictResponse(model_spec=model_spec("half_plus_two", 3, signature="serving_default"))
    outputs = {}
    for name, array in OUTPUTS.items():
        dtype_name, proto = as_proto_field(name, array)
        response.outputs[name].CopyFrom(proto)
        content = as_proto_tensor_content(dtype_name, array)
        # The C++ parser agrees that both forms hold the same tensor.
        assert parsed(proto, DTYPES[proto.dtype][1]) == parsed(content, DTYPES[proto.dtype][1]), name
        outputs[name] = {
            "tensor": parsed(proto, DTYPES[proto.dtype][1]),
            "as_proto_field": b64(proto.SerializeToString()),
            "as_proto_tensor_content": b64(content.SerializeToString()),
        }
    # The numeric tensor_content form is the one TensorFlow's own C++ writes (SerializeTensor).
    for name in ("float32", "int64", "bool", "scalar"):
        serialized = tf.io.serialize_tensor(tf.constant(OUTPUTS[name])).numpy()
        assert b64(serialized) == outputs[name]["as_proto_tensor_content"], name
    write("predict_response", response)
    expected["predict_response"] = {
        "model_spec": {"name": "half_plus_two", "version": 3, "signature_name": "serving_default"},
        "outputs": outputs,
    }


# --- Edge cases of Tensor::FromProto ---------------------------------------------------------------

def from_proto_cases():
    D = types_pb2
    cases = {
        "fewer values repeat the last": (typed(D.DT_FLOAT, [4], float_val=[1, 2]), tf.float32),
        "extra values are ignored": (typed(D.DT_FLOAT, [2], float_val=[1, 2, 3]), tf.float32),
        "no values give zeros": (typed(D.DT_INT64, [2]), tf.int64),
        "another dtype's field is ignored": (typed(D.DT_FLOAT, [2], int_val=[5]), tf.float32),
        "tensor_content wins over a typed field": (typed(D.DT_INT32, [1], tensor_content=b"\x07\0\0\0", int_val=[9]), tf.int32),
        "zero elements ignore tensor_content": (typed(D.DT_FLOAT, [0], tensor_content=b"abcd"), tf.float32),
        "tensor_content of the wrong size": (typed(D.DT_FLOAT, [2], tensor_content=b"abcd"), tf.float32),
        "negative dimension": (typed(D.DT_FLOAT, [-1], float_val=[1]), tf.float32),
        "DT_INVALID": (typed(D.DT_INVALID, [1]), tf.float32),
        "int_val truncates to int8": (typed(D.DT_INT8, [2], int_val=[300, -129]), tf.int8),
        "int_val truncates to uint8": (typed(D.DT_UINT8, [2], int_val=[300, -1]), tf.uint8),
        "int_val truncates to uint16": (typed(D.DT_UINT16, [2], int_val=[70000, -1]), tf.uint16),
        "half_val keeps the low 16 bits": (typed(D.DT_HALF, [2], half_val=[0x3C00, 0x13C00]), tf.float16),
        "bool_val fewer values": (typed(D.DT_BOOL, [3], bool_val=[True, False]), tf.bool),
        "bool tensor_content": (typed(D.DT_BOOL, [2], tensor_content=bytes([1, 0])), tf.bool),
        "bool tensor_content byte 2": (typed(D.DT_BOOL, [2], tensor_content=bytes([2, 0])), tf.bool),
        "string_val fewer values": (typed(D.DT_STRING, [3], string_val=[b"a", b"b"]), tf.string),
        "string_val none": (typed(D.DT_STRING, [2]), tf.string),
        "string tensor_content": (typed(D.DT_STRING, [3], tensor_content=bytes([2, 0, 3]) + b"abxyz"), tf.string),
        "string tensor_content too short": (typed(D.DT_STRING, [3], tensor_content=bytes([2, 0, 3]) + b"abxy"), tf.string),
        "string tensor_content too long": (typed(D.DT_STRING, [3], tensor_content=bytes([2, 0, 3]) + b"abxyzq"), tf.string),
        "uint64 all bits": (typed(D.DT_UINT64, [1], uint64_val=[2**64 - 1]), tf.uint64),
        "a dimension of 2^40 squared": (typed(D.DT_FLOAT, [2**40, 2**40]), tf.float32),
        "a scalar": (typed(D.DT_DOUBLE, [], double_val=[2.5]), tf.float64),
    }
    unknown_rank = typed(D.DT_FLOAT, [2], float_val=[1])
    unknown_rank.tensor_shape.unknown_rank = True
    cases["unknown_rank with dims is ignored"] = (unknown_rank, tf.float32)
    # Two tensor_shape fields and two float_val runs on the wire merge, as protobuf merges them.
    merged = typed(D.DT_FLOAT, [2], float_val=[1]).SerializeToString() + typed(D.DT_FLOAT, [3], float_val=[2, 3]).SerializeToString()
    # Unpacked floats (wire type 5), which a parser must accept for a packed field.
    unpacked = typed(D.DT_FLOAT, [3]).SerializeToString() + b"\x2d" + np.float32(4).tobytes() + b"\x2d" + np.float32(5).tobytes()
    table = []
    for name, (proto, out_type) in cases.items():
        table.append(case(name, proto.SerializeToString(), out_type))
    table.append(case("repeated fields merge", merged, tf.float32))
    table.append(case("unpacked float_val", unpacked, tf.float32))
    expected["from_proto_cases"] = table


def case(name, serialized, out_type):
    try:
        value = tf.io.parse_tensor(serialized, out_type)
        proto = tensor_pb2.TensorProto.FromString(serialized)
        result = parsed(proto, out_type) if value.shape.num_elements() < 2**20 else None
        return {"name": name, "proto": b64(serialized), "ok": True, "tensor": result}
    except tf.errors.InvalidArgumentError:
        return {"name": name, "proto": b64(serialized), "ok": False}


# --- Classify / Regress / MultiInference -----------------------------------------------------------

def example(**features):
    ex = example_pb2.Example()
    for key, value in features.items():
        feature = ex.features.feature[key]
        if isinstance(value[0], bytes):
            feature.bytes_list.value.extend(value)
        elif isinstance(value[0], float):
            feature.float_list.value.extend(value)
        else:
            feature.int64_list.value.extend(value)
    return ex


def examples_fixtures():
    context = example(lang=[b"en"], bias=[0.5])
    examples = [example(x=[1.0, 2.5], id=[7]), example(x=[-3.0], lang=[b"fr"], id=[-(2**40)])]
    request = classification_pb2.ClassificationRequest(model_spec=model_spec("tf1", signature="classify_x_to_y"))
    request.input.example_list_with_context.examples.extend(examples)
    request.input.example_list_with_context.context.CopyFrom(context)
    write("classification_request", request)
    ctx = context.SerializeToString(deterministic=True)
    expected["classification_request"] = {
        "model_spec": {"name": "tf1", "signature_name": "classify_x_to_y"},
        "examples": [b64(ctx + ex.SerializeToString(deterministic=True)) for ex in examples],
    }
    response = classification_pb2.ClassificationResponse(model_spec=model_spec("tf1", 1, signature="classify_x_to_y"))
    for scores in ([("a", 0.25), ("b", 0.75)], [("a", 1.0), ("b", 0.0)]):
        c = response.result.classifications.add()
        for label, score in scores:
            c.classes.add(label=label, score=score)
    write("classification_response", response)

    request = regression_pb2.RegressionRequest(model_spec=model_spec("tf1", 1))
    request.input.example_list.examples.extend(examples)
    write("regression_request", request)
    expected["regression_request"] = {
        "model_spec": {"name": "tf1", "version": 1, "signature_name": ""},
        "examples": [b64(ex.SerializeToString(deterministic=True)) for ex in examples],
    }
    response = regression_pb2.RegressionResponse(model_spec=model_spec("tf1", 1, signature="serving_default"))
    for value in (2.5, -1.0, 0.0):
        response.result.regressions.add(value=value)
    write("regression_response", response)

    request = inference_pb2.MultiInferenceRequest()
    request.tasks.add(model_spec=model_spec("tf1", signature="classify_x_to_y"), method_name="tensorflow/serving/classify")
    request.tasks.add(model_spec=model_spec("tf1", signature="regress_x_to_y"), method_name="tensorflow/serving/regress")
    request.input.example_list.examples.extend(examples)
    write("multi_inference_request", request)
    expected["multi_inference_request"] = {
        "tasks": [
            {"model_spec": {"name": "tf1", "signature_name": "classify_x_to_y"}, "method_name": "tensorflow/serving/classify"},
            {"model_spec": {"name": "tf1", "signature_name": "regress_x_to_y"}, "method_name": "tensorflow/serving/regress"},
        ],
        "examples": [b64(ex.SerializeToString(deterministic=True)) for ex in examples],
    }
    response = inference_pb2.MultiInferenceResponse()
    first = response.results.add(model_spec=model_spec("tf1", 1, signature="classify_x_to_y"))
    first.classification_result.classifications.add().classes.add(label="", score=0.5)
    second = response.results.add(model_spec=model_spec("tf1", 1, signature="regress_x_to_y"))
    second.regression_result.regressions.add(value=3.5)
    write("multi_inference_response", response)


# --- Metadata / Status / Reload --------------------------------------------------------------------

def metadata_fixtures():
    request = get_model_metadata_pb2.GetModelMetadataRequest(model_spec=model_spec("tf1", 1))
    request.metadata_field.append("signature_def")
    write("get_model_metadata_request", request)
    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(ROOT, "test", "fixtures", "models", "tf1_methods", "1", "saved_model.pb"), "rb") as f:
        saved.ParseFromString(f.read())
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for key in sorted(saved.meta_graphs[0].signature_def):
        signature_map.signature_def[key].CopyFrom(saved.meta_graphs[0].signature_def[key])
    response = get_model_metadata_pb2.GetModelMetadataResponse(model_spec=model_spec("tf1", 1))
    response.metadata["signature_def"].Pack(signature_map, deterministic=True)
    write("get_model_metadata_response", response)
    expected["get_model_metadata_response"] = {"type_url": response.metadata["signature_def"].type_url}

    request = get_model_status_pb2.GetModelStatusRequest(model_spec=model_spec("tf1", 2))
    write("get_model_status_request", request)
    response = get_model_status_pb2.GetModelStatusResponse()
    response.model_version_status.add(version=2, state=get_model_status_pb2.ModelVersionStatus.AVAILABLE, status=status_pb2.StatusProto())
    response.model_version_status.add(
        version=1, state=get_model_status_pb2.ModelVersionStatus.END,
        status=status_pb2.StatusProto(error_code=5, error_message="Could not find SavedModel .pb or .pbtxt"))
    write("get_model_status_response", response)

    config = model_server_config_pb2.ModelServerConfig()
    a = config.model_config_list.config.add(name="a", base_path="/models/a", model_platform="tensorflow")
    a.model_version_policy.specific.versions.extend([1, 2])
    a.version_labels["stable"] = 1
    a.version_labels["huge"] = 2**62
    a.logging_config.log_collector_config.type = "T"
    a.logging_config.sampling_config.sampling_rate = 0.25
    b = config.model_config_list.config.add(name="b", base_path="/models/b", model_platform="tensorflow")
    b.model_version_policy.latest.num_versions = 2
    c = config.model_config_list.config.add(name="c", base_path="/models/c", model_type=model_server_config_pb2.TENSORFLOW)
    c.model_version_policy.all.SetInParent()
    request = model_management_pb2.ReloadConfigRequest(config=config)
    request.metric_names.append("/tensorflow/serving/model_warmup_latency")
    write("reload_config_request", request)
    response = model_management_pb2.ReloadConfigResponse(status=status_pb2.StatusProto())
    response.metric.add(name="/tensorflow/serving/model_warmup_latency", int64_value_increase=3)
    write("reload_config_response", response)
    custom = model_management_pb2.ReloadConfigRequest()
    custom.config.custom_model_config.Pack(status_pb2.StatusProto())
    write("reload_config_request_custom", custom)


# --- PredictionLog ---------------------------------------------------------------------------------

def prediction_logs():
    with open(os.path.join(OUT, "predict_request_content.bin"), "rb") as f:
        request = predict_pb2.PredictRequest.FromString(f.read())
    with open(os.path.join(OUT, "predict_response.bin"), "rb") as f:
        response = predict_pb2.PredictResponse.FromString(f.read())
    log = prediction_log_pb2.PredictionLog()
    log.log_metadata.model_spec.CopyFrom(model_spec("half_plus_two", 3))
    log.log_metadata.sampling_config.sampling_rate = 1.0
    log.log_metadata.saved_model_tags.append("serve")
    log.log_metadata.timestamp_secs = 1790000000
    log.predict_log.request.CopyFrom(request)
    log.predict_log.response.CopyFrom(response)
    write("prediction_log_predict", log)

    log = prediction_log_pb2.PredictionLog()
    with open(os.path.join(OUT, "classification_request.bin"), "rb") as f:
        log.classify_log.request.ParseFromString(f.read())
    write("prediction_log_classify", log)

    # RunOptions and RunMetadata are opaque to tfserve: their bytes must pass through unchanged.
    log = prediction_log_pb2.PredictionLog()
    run = log.session_run_log
    run.request.model_spec.CopyFrom(model_spec("m"))
    run.request.feed.add(name="x:0", tensor=tf.make_tensor_proto(np.array([1, 2], np.float32)))
    run.request.fetch.append("y:0")
    run.request.options.CopyFrom(config_pb2.RunOptions(trace_level=config_pb2.RunOptions.FULL_TRACE, timeout_in_ms=500))
    run.response.tensor.add(name="y:0", tensor=tf.make_tensor_proto(np.array([3.0], np.float32)))
    run.response.metadata.session_metadata.name = "m"
    write("prediction_log_session_run", log)


# --- KServe v2 (tritonclient) ----------------------------------------------------------------------

def kserve_fixtures():
    x = triton.InferInput("x", [1, 3], "FP32")
    x.set_data_from_numpy(np.array([[1.5, -2, 3]], np.float32))
    s = triton.InferInput("s", [2], "BYTES")
    s.set_data_from_numpy(np.array([b"ab", b"xyz"], object))
    request = triton_utils._get_inference_request(
        model_name="half_plus_two", inputs=[x, s], model_version="1", request_id="r1",
        outputs=[triton.InferRequestedOutput("y")], sequence_id=0, sequence_start=False,
        sequence_end=False, priority=3, timeout=None, parameters={"scale": 0.5, "tag": "t", "on": True})
    write("kserve_model_infer_request", request)
    response = triton_pb2.ModelInferResponse(model_name="half_plus_two", model_version="1", id="r1")
    response.outputs.add(name="y", datatype="FP32", shape=[1, 3])
    response.raw_output_contents.append(np.array([[2.75, 1, 3.5]], np.float32).tobytes())
    write("kserve_model_infer_response", response)
    metadata = triton_pb2.ModelMetadataResponse(name="half_plus_two", versions=["1"], platform="tensorflow_savedmodel")
    metadata.inputs.add(name="x", datatype="FP32", shape=[-1, 3])
    metadata.outputs.add(name="y", datatype="FP32", shape=[-1, 3])
    write("kserve_model_metadata_response", metadata)


# --- Descriptors -----------------------------------------------------------------------------------

TYPE_NAMES = {v: k[5:].lower() for k, v in vars(pb_descriptor.FieldDescriptor).items() if k.startswith("TYPE_")}


def field_info(f):
    kind = f.message_type.full_name if f.message_type else f.enum_type.full_name if f.enum_type else TYPE_NAMES[f.type]
    info = {"number": f.number, "type": kind, "repeated": f.is_repeated}
    if f.containing_oneof is not None:
        info["oneof"] = f.containing_oneof.name
    return info


# The upstream files proto/ has counterparts of; of meta_graph.proto only TensorInfo and SignatureDef.
MIRRORED_FILES = {
    "tensorflow/core/framework/types.proto", "tensorflow/core/framework/tensor_shape.proto",
    "tensorflow/core/framework/resource_handle.proto", "tensorflow/core/framework/tensor.proto",
    "tensorflow/core/example/feature.proto", "tensorflow/core/example/example.proto",
    "tensorflow/core/protobuf/meta_graph.proto", "tensorflow/core/protobuf/named_tensor.proto",
    "xla/tsl/protobuf/error_codes.proto", "grpc_service.proto",
}


def mirrored(fd, full_name):
    if fd.name == "tensorflow/core/protobuf/meta_graph.proto":
        return full_name.startswith(("tensorflow.TensorInfo", "tensorflow.SignatureDef"))
    if fd.name == "tensorflow/core/framework/types.proto":
        return full_name == "tensorflow.DataType"
    return fd.name in MIRRORED_FILES or fd.name.startswith("tensorflow_serving/")


def describe(files):
    messages, enums, services = {}, {}, {}

    def walk_message(m):
        if m.GetOptions().map_entry or not mirrored(m.file, m.full_name):
            return
        messages[m.full_name] = {f.name: field_info(f) for f in m.fields}
        for e in m.enum_types:
            enums[e.full_name] = {v.name: v.number for v in e.values}
        for n in m.nested_types:
            walk_message(n)

    seen = set()

    def walk_file(fd):
        if fd.name in seen:
            return
        seen.add(fd.name)
        for dep in fd.dependencies:
            walk_file(dep)
        for m in fd.message_types_by_name.values():
            walk_message(m)
        for e in fd.enum_types_by_name.values():
            if mirrored(fd, e.full_name):
                enums[e.full_name] = {v.name: v.number for v in e.values}
        for s in fd.services_by_name.values():
            services[s.full_name] = {mm.name: [mm.input_type.full_name, mm.output_type.full_name] for mm in s.methods}

    for fd in files:
        walk_file(fd)
    return {"messages": messages, "enums": enums, "services": services}


def descriptors():
    files = [m.DESCRIPTOR for m in (
        prediction_service_pb2, model_service_pb2, prediction_log_pb2, session_service_pb2, logging_pb2,
        input_pb2, file_system_storage_path_source_pb2, logging_config_pb2, meta_graph_pb2, feature_pb2)]
    ours = describe(files)
    triton_all = describe([triton_pb2.DESCRIPTOR])
    kserve_services = {"inference.GRPCInferenceService": triton_all["services"]["inference.GRPCInferenceService"]}
    # Only what the KServe v2 proto declares of Triton's larger file.
    kserve = {
        "messages": {k: v for k, v in triton_all["messages"].items() if k.split(".")[1] in KSERVE_MESSAGES},
        "enums": {},
        "services": kserve_services,
    }
    with open(os.path.join(OUT, "descriptors.json"), "w") as f:
        json.dump({"tensorflow_serving": ours, "kserve": kserve}, f, indent=1, sort_keys=True)
        f.write("\n")


KSERVE_MESSAGES = {
    "ServerLiveRequest", "ServerLiveResponse", "ServerReadyRequest", "ServerReadyResponse", "ModelReadyRequest",
    "ModelReadyResponse", "ServerMetadataRequest", "ServerMetadataResponse", "ModelMetadataRequest",
    "ModelMetadataResponse", "ModelInferRequest", "ModelInferResponse", "InferParameter", "InferTensorContents",
}


def main():
    os.makedirs(OUT, exist_ok=True)
    predict_content()
    predict_typed()
    predict_response()
    from_proto_cases()
    examples_fixtures()
    metadata_fixtures()
    prediction_logs()
    kserve_fixtures()
    descriptors()
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
