"""Reads and writes float32 safetensors files without the safetensors package (torch 1.13 has none).

Layout (the format's specification): 8-byte little-endian header length, a JSON header of
{name: {dtype, shape, data_offsets}} plus "__metadata__", padded with spaces to a multiple of 8, then the data.
"""
import json
import struct

import numpy as np


def write(path, tensors, metadata):
    """Writes {name: array-like} as F32, names sorted, offsets contiguous."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        array = np.array(tensors[name], dtype="<f4", order="C")  # keeps 0-d shapes (ascontiguousarray would not)
        data = array.tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read(path):
    """Returns {name: float32 array} of a file written by write()."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name != "__metadata__":
            a, b = info["data_offsets"]
            out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype="<f4").reshape(info["shape"])
    return out
