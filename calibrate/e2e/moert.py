"""Writes moesim's compact routing format (.moert, version 1; docs/traces.md) from
Python: the e2e bench records the exact expert of every token it timed, so that
moesim replays the same routing (`"routing": {"kind": "trace"}`). Pure Python, no GPU."""
import os
import struct

MARKER = 0x51455252  # "RREQ"


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def _str(text):
    raw = text.encode()
    return struct.pack("<I", len(raw)) + raw


def write(path, model, layers, experts, top_k, requests, attribution):
    """requests: list of steps per request; a step is (tokens, ids) with ids[layer] a flat
    list of tokens × top_k expert ids, token-major. Written to a temporary file, renamed."""
    id_format = "B" if experts <= 256 else "H"
    partial = path + ".partial"
    with open(partial, "wb") as f:
        f.write(b"MOERTRC1" + struct.pack("<I", 1) + _str(model) + struct.pack("<IIII", layers, experts, top_k, 0) +
                _str(attribution))
        for request_id, steps in enumerate(requests):
            body = struct.pack("<QI", request_id, len(steps))
            for tokens, ids in steps:
                if len(ids) != layers:
                    raise ValueError(f"request {request_id}: {len(ids)} layers of ids, expected {layers}")
                body += struct.pack("<I", tokens)
                for layer_ids in ids:
                    if len(layer_ids) != tokens * top_k or any(not 0 <= e < experts for e in layer_ids):
                        raise ValueError(f"request {request_id}: expected {tokens} × top-{top_k} ids below {experts}")
                    body += struct.pack(f"<{len(layer_ids)}{id_format}", *layer_ids)
            f.write(struct.pack("<I", MARKER) + body + struct.pack("<Q", fnv1a64(body)))
    os.replace(partial, path)
