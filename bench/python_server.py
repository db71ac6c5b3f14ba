"""The Python server users write by hand, for bench/server.mjs: FastAPI + uvicorn + the SavedModel
through TensorFlow, answering TF Serving's row format (`instances` -> `predictions`) on the same URL.

Usage: python_server.py <port> <name>=<export_dir> [<name>=<export_dir> ...]
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI, HTTPException  # noqa: E402
from pydantic import BaseModel  # noqa: E402

app = FastAPI()
models = {}


class PredictRequest(BaseModel):
    instances: list
    signature_name: str = "serving_default"


@app.post("/v1/models/{name}:predict")
def predict(name: str, request: PredictRequest):
    # A plain `def` route: FastAPI runs it in its thread pool and TensorFlow releases the GIL.
    try:
        fn = models[name].signatures[request.signature_name]
    except KeyError:
        raise HTTPException(status_code=404, detail=f"unknown model or signature {name}")
    (key, spec), = fn.structured_input_signature[1].items()
    x = tf.constant(np.asarray(request.instances, dtype=spec.dtype.as_numpy_dtype))
    outputs = fn(**{key: x})
    if len(outputs) == 1:
        (value,) = outputs.values()
        return {"predictions": value.numpy().tolist()}
    columns = {k: v.numpy().tolist() for k, v in outputs.items()}
    return {"predictions": [dict(zip(columns, row)) for row in zip(*columns.values())]}


def main():
    port = int(sys.argv[1])
    for pair in sys.argv[2:]:
        name, export_dir = pair.split("=", 1)
        models[name] = tf.saved_model.load(export_dir)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
