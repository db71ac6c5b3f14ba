"""Writes the bytes TensorFlow itself serializes for tfserve's ConfigProto text fixtures.

Usage: ~/.cache/tfserve/venv/bin/python scripts/make-config-proto-goldens.py

For each test/fixtures/config-proto/<name>.pbtxt, writes <name>.bin: what
text_format.Parse(text, config_pb2.ConfigProto()).SerializeToString(deterministic=True) gives
(deterministic: map entries in key order, as C++ protobuf's deterministic serialization). Also writes
descriptor.json, every message and enum reachable from tensorflow.ConfigProto as this TensorFlow
defines it (field names, numbers, types, labels), which a test compares with src/proto/messages.ts.
`npm test` reads only the committed files and never needs Python.
"""
import glob
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from google.protobuf import descriptor as descriptor_lib  # noqa: E402
from google.protobuf import text_format  # noqa: E402
from tensorflow.core.protobuf import config_pb2  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FIXTURES = os.path.join(ROOT, "test", "fixtures", "config-proto")
# tfserve declares everything but this map's value type (AttrValue and the framework protos under it).
UNDECLARED = {"tensorflow.RewriterConfig.CustomGraphOptimizer": {"parameter_map"}}
TYPE_NAMES = {
    value: name[len("TYPE_"):].lower()
    for name, value in vars(descriptor_lib.FieldDescriptor).items()
    if name.startswith("TYPE_")
}


def describe(root):
    messages, enums = {}, {}

    def visit(message):
        if message.full_name in messages:
            return
        fields = {}
        messages[message.full_name] = fields
        for field in message.fields:
            name = field.name
            if name in UNDECLARED.get(message.full_name, ()):
                continue
            entry = {"id": field.number, "type": TYPE_NAMES[field.type]}
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
                entry = {"id": field.number, "keyType": TYPE_NAMES[key.type], "type": TYPE_NAMES[value.type]}
                field = value
            elif field.is_repeated:
                entry["repeated"] = True
            if field.message_type is not None:
                entry["type"] = field.message_type.full_name
                visit(field.message_type)
            if field.enum_type is not None:
                entry["type"] = field.enum_type.full_name
                enums[field.enum_type.full_name] = {v.name: v.number for v in field.enum_type.values}
            fields[name] = entry
    visit(root)
    return {"tensorflow": tf.__version__, "messages": messages, "enums": enums}


def main():
    for path in sorted(glob.glob(os.path.join(FIXTURES, "*.pbtxt"))):
        with open(path, encoding="utf-8") as f:
            message = text_format.Parse(f.read(), config_pb2.ConfigProto())
        with open(path[: -len(".pbtxt")] + ".bin", "wb") as f:
            f.write(message.SerializeToString(deterministic=True))
        print(f"{os.path.relpath(path, ROOT)}: {message.ByteSize()} bytes")
    with open(os.path.join(FIXTURES, "descriptor.json"), "w", encoding="utf-8") as f:
        json.dump(describe(config_pb2.ConfigProto.DESCRIPTOR), f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
