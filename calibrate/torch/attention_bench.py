#!/usr/bin/env python3
"""Fused attention timings for moesim's measurement format (docs/calibration.md).

What moesim-calibrate's cuBLAS stand-ins cannot show: attention as serving engines run
it, through PyTorch's scaled_dot_product_attention with a fused kernel (FlashAttention
where PyTorch has it for the shape), plus the QKV and output projections, BF16:
  * attention_prefill: one sequence of N new tokens, causal (shape causal: 1, fused: 1);
  * attention_decode: B sequences, one new token each, over `context` cached tokens
    (shape fused: 1), K and V cached per KV head (grouped-query attention).
Timing: CUDA events around batches of calls after a warm-up, median / p10 / p90 /
min / max over repetitions; projection weights rotated across enough copies to stream
more than twice the L2. Needs a CUDA GPU and PyTorch >= 2.5 (enable_gqa); exits 2
with a message otherwise. Usage: attention_bench.py -o file.jsonl [--quick]
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpu import capture, event_times_ms, require_cuda  # noqa: E402


def stats(per_call):
    s = sorted(per_call)
    n = len(s)
    at = lambda q: s[int(q * (n - 1) + 0.5)]
    return {"median": round(s[n // 2], 3), "min": round(s[0], 3), "max": round(s[-1], 3), "p10": round(at(0.1), 3),
            "p90": round(at(0.9), 3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch = require_cuda("attention_bench")
    try:
        import torch.nn.functional as F
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError as e:
        print(f"attention_bench: PyTorch >= 2.5 is needed ({e})", file=sys.stderr)
        return 2
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(0)
    name = props.name
    l2 = getattr(props, "L2_cache_size", 50 << 20)
    repetitions = 3 if args.quick else 11
    gen = torch.Generator(device=dev).manual_seed(1)

    def rand(*shape):
        return (torch.rand(*shape, device=dev, dtype=torch.float32, generator=gen) - 0.5).mul_(0.1).to(torch.bfloat16)

    def time_calls(body, calls):
        """Per-call statistics of `calls` calls of body(i), replayed from one CUDA graph
        (as serving engines run decode: no Python or launch gaps between kernels);
        eager, with those gaps, where capture fails. Returns (stats, how)."""
        calls_of = lambda: [body(i) for i in range(calls)]  # noqa: E731
        try:
            graph = capture(torch, calls_of)
            run, how = graph.replay, "CUDA graph replay"
        except RuntimeError:
            torch.cuda.synchronize()
            run, how = calls_of, "eager"
        per_call = [1e3 * ms / calls for ms in event_times_ms(torch, run, repetitions)]
        return stats(per_call), how

    # Which fused kernel serves a shape: the first of these that accepts it.
    backends = [("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION),
                ("efficient", SDPBackend.EFFICIENT_ATTENTION)]

    def pick_backend(q, k, v, causal):
        for label, backend in backends:
            try:
                with sdpa_kernel([backend]):
                    F.scaled_dot_product_attention(q, k, v, is_causal=causal, enable_gqa=True)
                return label, backend
            except RuntimeError:
                continue
        raise RuntimeError("no fused attention kernel accepts this shape")

    partial = args.output + ".partial"
    out = open(partial, "w")
    out.write(json.dumps({"header": {"device": name, "sms": props.multi_processor_count, "memory_bytes": props.total_memory,
                                     "l2_bytes": l2, "torch": torch.__version__, "cuda_runtime": torch.version.cuda,
                                     "timestamp": int(time.time()), "tool": "calibrate/torch/attention_bench.py"}}) + "\n")
    # (d_model, heads, kv_heads, head_dim): Mixtral / Phi-3.5, Qwen3-30B, Llama-4.
    shapes = [(4096, 32, 8, 128), (2048, 32, 4, 128), (5120, 40, 8, 128)]
    if args.quick:
        shapes = shapes[:1]
    for d, h, kv, hd in shapes:
        q_width, kv_width = h * hd, kv * hd
        weight_bytes = 2 * (d * (q_width + 2 * kv_width) + q_width * d)
        sets = max(1, min(8, -(-2 * l2 // weight_bytes)))
        w_qkv = [rand(d, q_width + 2 * kv_width) for _ in range(sets)]
        w_o = [rand(q_width, d) for _ in range(sets)]
        shape = {"d_model": d, "heads": h, "kv_heads": kv, "head_dim": hd}

        def write(op, extra_shape, tokens, timed, backend):
            t, how = timed
            line = {"op": op, "device": name, "dtype": "bf16", "shape": {**shape, **extra_shape}, "tokens": tokens,
                    "time_us": t, "source": f"calibrate/torch/attention_bench.py, torch sdpa {backend}, {how}"}
            out.write(json.dumps(line) + "\n")
            out.flush()

        def split(qkv, rows):
            q = qkv[:, :q_width].view(rows, h, hd).transpose(0, 1).unsqueeze(0)
            k = qkv[:, q_width:q_width + kv_width].view(rows, kv, hd).transpose(0, 1).unsqueeze(0)
            v = qkv[:, q_width + kv_width:].view(rows, kv, hd).transpose(0, 1).unsqueeze(0)
            return q, k, v

        for n in ([128, 1024] if args.quick else [128, 256, 512, 1024, 2048, 4096, 8192]):
            x = rand(n, d)
            label, backend = pick_backend(*split(x @ w_qkv[0], n), True)

            def prefill(i):
                q, k, v = split(x @ w_qkv[i % sets], n)
                with sdpa_kernel([backend]):
                    o = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
                return o.squeeze(0).transpose(0, 1).reshape(n, q_width) @ w_o[i % sets]

            write("attention_prefill", {"causal": 1, "fused": 1}, n, time_calls(prefill, 20 if n <= 1024 else 5), label)
        for context in ([512, 8192] if args.quick else [512, 2048, 8192]):
            for b in ([1, 64] if args.quick else [1, 4, 16, 64, 256]):
                x = rand(b, d)
                k_cache = rand(b, kv, context, hd)
                v_cache = rand(b, kv, context, hd)
                label, backend = pick_backend(rand(b, h, 1, hd), k_cache, v_cache, False)

                def decode(i):
                    q = (x @ w_qkv[i % sets])[:, :q_width].reshape(b, h, 1, hd)
                    with sdpa_kernel([backend]):
                        o = F.scaled_dot_product_attention(q, k_cache, v_cache, is_causal=False, enable_gqa=True)
                    return o.reshape(b, q_width) @ w_o[i % sets]

                write("attention_decode", {"context": context, "fused": 1}, b, time_calls(decode, 20), label)
                del k_cache, v_cache
        del w_qkv, w_o
        torch.cuda.empty_cache()
    out.close()
    os.replace(partial, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
