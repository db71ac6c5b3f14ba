#!/bin/sh
# The container's entrypoint, with tensorflow/serving's contract so that this image can replace it:
# the model is MODEL_BASE_PATH/MODEL_NAME (default /models/model), gRPC on 8500, REST on 8501, and any
# arguments are appended, so a later flag overrides these (`--rest_api_port=8080`, `--model_config_file=...`).
#
# `exec` replaces this shell with tfserve, so tfserve is PID 1 and receives the SIGTERM that
# `docker stop` and Kubernetes send; it drains requests in flight and exits 0. A shell left in between
# would not forward the signal (tensorflow/serving's image runs its server under such a bash script).
set -eu

MODEL_NAME="${MODEL_NAME:-model}"
MODEL_BASE_PATH="${MODEL_BASE_PATH:-/models}"
# The package root is the folder above this script's, in the image (/app) and in a checkout alike.
root="$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)"

exec node "$root/bin/tfserve.js" \
  --port=8500 \
  --rest_api_port=8501 \
  --model_name="$MODEL_NAME" \
  --model_base_path="$MODEL_BASE_PATH/$MODEL_NAME" \
  "$@"
