"""TensorFlow's own Python signature call, for bench/run.mjs.

Usage: python_predict.py <export_dir> <signature> <input_key> <iterations> <dims...>
Prints the median and the mean microseconds per call of `model.signatures[signature](**{input_key: x})` with a
float32 input filled with 0.5, after a warm-up, then the number of GPUs TensorFlow sees. BENCH_DEVICE
(say "/GPU:0" or "/CPU:0") pins the call to one device, as bench/gpu.mjs compares both.
"""
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main() -> None:
    export_dir, signature, input_key, iterations = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    dims = [int(d) for d in sys.argv[5:]]
    device = os.environ.get("BENCH_DEVICE")
    if device:
        with tf.device(device):
            run(export_dir, signature, input_key, iterations, dims)
    else:
        run(export_dir, signature, input_key, iterations, dims)


def run(export_dir: str, signature: str, input_key: str, iterations: int, dims: list) -> None:
    fn = tf.saved_model.load(export_dir).signatures[signature]
    x = tf.constant(np.full(dims, 0.5, dtype=np.float32))
    for _ in range(iterations // 10 + 1):
        fn(**{input_key: x})
    calls = []
    start = time.perf_counter()
    for _ in range(iterations):
        before = time.perf_counter()
        fn(**{input_key: x})
        calls.append(time.perf_counter() - before)
    mean = (time.perf_counter() - start) / iterations
    calls.sort()
    print(f"{calls[iterations // 2] * 1e6:.3f} {mean * 1e6:.3f} {len(tf.config.list_physical_devices('GPU'))}")


if __name__ == "__main__":
    main()
