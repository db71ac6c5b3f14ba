"""Regenerates test/fixtures/images/: a small drawn test image and the arrays PIL and TensorFlow make of it.

The image (97x61, chosen so that neither side divides the target sizes) is drawn here with PIL: colour
gradients, saturated shapes and thin lines, the cases where resize filters and grey conversions differ
most. It is written as a lossless PNG and a quality-90 JPEG. The references are what a Python training
pipeline would feed a model:
  pil.*    Image.open -> convert('L' | 'RGB') -> resize((w, h), Image.BILINEAR)   (uint8, PIL's usual path)
  pil_grey_native   convert('L') at the original size: PIL's ITU-R 601-2 luma alone, no resize
  pil_rgb_native    convert('RGB') at the original size (JPEG only: libjpeg-turbo's decode vs sharp's)
  pil_grey_128x80_* enlarging both axes, BILINEAR and BICUBIC (PNG only)
  tf.*     tf.io.decode_png -> tf.image.resize(..., 'bilinear', antialias=False|True)  (float32, 0..255)
           grey: tf.image.resize then tf.image.rgb_to_grayscale (weights 0.2989, 0.587, 0.114)
Arrays are stored as base64 of their raw little-endian bytes with dtype and HWC shape, so the fixture
stays small. test/image/preprocess.test.ts compares tfserve's sharp preprocessing with them.

Run: ~/.cache/tfserve/venv/bin/python scripts/make-image-fixtures.py   (numpy, pillow, tensorflow-cpu)
"""

import base64
import io
import json
import os

import numpy as np
from PIL import Image, ImageDraw

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "images")
WIDTH, HEIGHT = 97, 61


def draw_scene() -> Image.Image:
    x = np.arange(WIDTH, dtype=np.float64)[None, :]
    y = np.arange(HEIGHT, dtype=np.float64)[:, None]
    rgb = np.empty((HEIGHT, WIDTH, 3), dtype=np.uint8)
    rgb[..., 0] = np.rint(255 * x / (WIDTH - 1)).repeat(HEIGHT, 0)
    rgb[..., 1] = np.rint(255 * y / (HEIGHT - 1)).repeat(WIDTH, 1)
    rgb[..., 2] = np.rint(127.5 + 127.5 * np.sin(x / 7.0) * np.cos(y / 5.0))
    image = Image.fromarray(rgb, "RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle((6, 8, 30, 27), fill=(255, 0, 0))
    draw.ellipse((40, 12, 70, 42), fill=(0, 0, 255), outline=(255, 255, 0), width=3)
    draw.polygon([(75, 50), (95, 35), (90, 58)], fill=(0, 255, 0))
    for i in range(0, WIDTH, 6):
        draw.line((i, 48, i + 3, 60), fill=(255, 255, 255), width=1)
    draw.line((0, 0, WIDTH - 1, HEIGHT - 1), fill=(0, 0, 0), width=1)
    return image


def array_entry(array: np.ndarray) -> dict:
    if array.ndim == 2:
        array = array[..., None]
    array = np.ascontiguousarray(array)
    return {
        "dtype": str(array.dtype),
        "shape": list(array.shape),
        "b64": base64.b64encode(array.astype(array.dtype.newbyteorder("<")).tobytes()).decode("ascii"),
    }


def pil_references(path: str, lossless: bool) -> dict:
    with Image.open(path) as image:
        image.load()
        grey = image.convert("L")
        rgb = image.convert("RGB")
        out = {
            "pil_grey_native": array_entry(np.asarray(grey)),
            "pil_grey_64x64": array_entry(np.asarray(grey.resize((64, 64), Image.BILINEAR))),
            "pil_rgb_32x32": array_entry(np.asarray(rgb.resize((32, 32), Image.BILINEAR))),
        }
        if lossless:
            out["pil_grey_128x80_linear"] = array_entry(np.asarray(grey.resize((128, 80), Image.BILINEAR)))
            out["pil_grey_128x80_cubic"] = array_entry(np.asarray(grey.resize((128, 80), Image.BICUBIC)))
        else:
            out["pil_rgb_native"] = array_entry(np.asarray(rgb))
        return out


def tf_references(path: str) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    with open(path, "rb") as f:
        decoded = tf.io.decode_image(f.read(), channels=3, expand_animations=False)
    pixels = tf.cast(decoded, tf.float32)
    out = {}
    for antialias in (False, True):
        suffix = "antialias" if antialias else "plain"
        rgb32 = tf.image.resize(pixels, [32, 32], method="bilinear", antialias=antialias)
        grey64 = tf.image.rgb_to_grayscale(tf.image.resize(pixels, [64, 64], method="bilinear", antialias=antialias))
        out[f"tf_rgb_32x32_{suffix}"] = array_entry(rgb32.numpy().astype(np.float32))
        out[f"tf_grey_64x64_{suffix}"] = array_entry(grey64.numpy().astype(np.float32))
    return out


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    scene = draw_scene()
    png_path = os.path.join(OUT, "scene.png")
    jpeg_path = os.path.join(OUT, "scene.jpg")
    scene.save(png_path, optimize=True)
    # 4:2:0 chroma subsampling is what most cameras and encoders write; decoders upsample it differently.
    scene.save(jpeg_path, quality=90, subsampling=2)

    references = {
        "about": "Written by scripts/make-image-fixtures.py; arrays are HWC, base64 of little-endian bytes.",
        "size": [WIDTH, HEIGHT],
        "png": {**pil_references(png_path, True), **tf_references(png_path)},
        "jpeg": pil_references(jpeg_path, False),
    }
    with open(os.path.join(OUT, "scene.reference.json"), "w") as f:
        json.dump(references, f, indent=1)
        f.write("\n")
    for name in ("scene.png", "scene.jpg", "scene.reference.json"):
        print(f"{name}: {os.path.getsize(os.path.join(OUT, name))} bytes")


if __name__ == "__main__":
    main()
