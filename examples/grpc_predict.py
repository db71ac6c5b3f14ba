# grpc_predict.py — with `npx tfserve` running: python examples/grpc_predict.py
# (pip install tensorflow-serving-api grpcio; scripts/interop.mjs's venv has them)
import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

with grpc.insecure_channel("localhost:8500") as channel:
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "half_plus_two"
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array([1.0, 2.0, 5.0], dtype=np.float32)))
    response = stub.Predict(request, timeout=10)
    print(tf.make_ndarray(response.outputs["y"]), response.model_spec.version.value)
    # [2.5 3.  4.5] 1
