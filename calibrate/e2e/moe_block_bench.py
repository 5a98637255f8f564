#!/usr/bin/env python3
"""Real-GPU end-to-end timings of an MoE model for moesim's e2e check (docs/calibration.md,
"End-to-end check on a real GPU").

Builds the first `--layers` decoder layers of a catalog model at its true shapes with
random BF16 weights — embedding, per layer RMSNorm + grouped-query attention (QKV and
output projections, PyTorch's fused scaled_dot_product_attention) + RMSNorm + router +
top-k experts (SwiGLU, run one after another as an engine without a grouped-GEMM kernel
does, which is what moesim's expert stage sums), final norm and LM head — and times, for
each batch size B and prompt length P:
  * prefill: B requests of P tokens in one iteration (causal attention per request);
  * decode: one step of B requests over P cached tokens;
both replayed from a CUDA graph (as serving engines run decode: no Python or launch gaps
between kernels — moesim models the GPU's work, not the host's).
Routing, fixed before timing: each token's top-k distinct experts are drawn from a seeded
generator, uniformly or (--routing PATH) in proportion to a shipped per-layer expert
popularity (Fiddler's Mixtral-8x7B MMLU counts, traces/data/mixtral-8x7b-popularity):
the gate's GEMM runs, its choice is replaced by the drawn one. Every token's experts
are written as a compact routing trace (.moert, one per configuration, beside the
output), which compare.py replays in moesim: both sides route the same tokens to the
same experts.
Writes JSON Lines (header first); compare.py runs moesim on the same configurations.
Needs a CUDA GPU and PyTorch >= 2.5; exits 2 with a message otherwise.

usage: moe_block_bench.py -o e2e.jsonl [--model qwen3-30b-a3b] [--layers 4]
                          [--batches 1,8,32] [--prompts 128,512] [--routing uniform|PATH] [--quick]
"""
import argparse
import json
import os
import sys
import time

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "calibrate", "torch"))
from gpu import capture, event_times_ms, require_cuda  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moert  # noqa: E402


def popularity(path, layers, experts):
    """Per-layer expert counts summed over one popularity JSON or every *.json under a
    folder (as moesim's marginals routing reads them)."""
    files = [path] if os.path.isfile(path) else sorted(
        os.path.join(root, name) for root, _, names in os.walk(path) for name in names if name.endswith(".json"))
    if not files:
        raise ValueError(f"{path}: no popularity JSON files")
    total = None
    for name in files:
        with open(name) as f:
            table = json.load(f)["expert_popularity"]
        if len(table) < layers or any(len(row) != experts for row in table):
            raise ValueError(f"{name}: expected at least {layers} layers of {experts} expert counts")
        total = [list(row) for row in table] if total is None else [[a + b for a, b in zip(r, s)] for r, s in zip(total, table)]
    return total[:layers]


def stats(samples):
    s = sorted(samples)
    n = len(s)
    return {"median": round(s[n // 2], 4), "min": round(s[0], 4), "max": round(s[-1], 4)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--model", default="qwen3-30b-a3b")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--prompts", default="128,512")
    parser.add_argument("--routing", default="uniform", help="uniform, or a popularity JSON file or folder")
    parser.add_argument("--quick", action="store_true", help="one configuration, 3 repetitions")
    args = parser.parse_args()
    torch = require_cuda("moe_block_bench")
    import torch.nn.functional as F
    model_path = os.path.join(REPO, "models", "data", "models", args.model + ".json")
    if not os.path.exists(model_path):
        print(f"moe_block_bench: unknown model '{args.model}' (no {model_path})", file=sys.stderr)
        return 2
    with open(model_path) as f:
        cfg = json.load(f)
    d, vocab = cfg["d_model"], cfg["vocab"]
    att, moe = cfg["attention"], cfg["moe"]
    # The block built here is every layer MoE, no shared expert, grouped-query attention.
    if moe.get("first_moe_layer", 0) != 0 or moe.get("moe_layer_step", 1) != 1 or moe.get("shared_experts", 0) or \
            not {"heads", "kv_heads", "head_dim"} <= set(att):
        print(f"moe_block_bench: {args.model} has dense layers, shared experts or another attention; "
              "this bench builds all-MoE GQA models (qwen3-30b-a3b, olmoe-1b-7b, mixtral-8x7b, phi-3.5-moe)", file=sys.stderr)
        return 2
    heads, kv_heads, head_dim = att["heads"], att["kv_heads"], att["head_dim"]
    experts, top_k, d_ff = moe["experts"], moe["top_k"], moe["expert_ffn"]
    layers = max(1, min(args.layers, cfg["layers"]))
    try:
        weights = None if args.routing == "uniform" else popularity(args.routing, layers, experts)
    except (OSError, ValueError, KeyError) as e:
        print(f"moe_block_bench: --routing: {e}", file=sys.stderr)
        return 2
    batches = [1] if args.quick else [int(x) for x in args.batches.split(",")]
    prompts = [128] if args.quick else [int(x) for x in args.prompts.split(",")]
    repetitions = 3 if args.quick else 7
    dev = torch.device("cuda")
    gen = torch.Generator(device=dev).manual_seed(1)
    torch.manual_seed(1)

    def rand(*shape):
        return (torch.rand(*shape, device=dev, dtype=torch.float32, generator=gen) - 0.5).mul_(0.1).to(torch.bfloat16)

    embed = rand(vocab, d)
    lm_head = rand(d, vocab)
    blocks = []
    for _ in range(layers):
        blocks.append({"wqkv": rand(d, (heads + 2 * kv_heads) * head_dim), "wo": rand(heads * head_dim, d),
                       "router": rand(d, experts), "w_gu": [rand(d, 2 * d_ff) for _ in range(experts)],
                       "w_down": [rand(d_ff, d) for _ in range(experts)]})

    def rms(x):
        return x * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-6).to(x.dtype)

    def routing(tokens, layer):
        """Top-k distinct experts per token ([tokens, top_k]): uniform, or successive draws
        in proportion to the layer's popularity."""
        if weights is None:
            return torch.rand(tokens, experts, device=dev, generator=gen).topk(top_k, dim=-1).indices
        w = torch.tensor(weights[layer], dtype=torch.float32, device=dev).expand(tokens, experts)
        return torch.multinomial(w, top_k, replacement=False, generator=gen)

    def rows_of(choice):
        """Per expert, the token rows it serves."""
        return [(choice == e).any(-1).nonzero().squeeze(-1) for e in range(experts)]

    def moe_layer(b, x, rows):
        torch.matmul(x, b["router"])  # the gate's GEMM runs; its choice is replaced by `rows`
        out = torch.zeros_like(x)
        for e, idx in enumerate(rows):
            if idx.numel() == 0:
                continue
            h = x.index_select(0, idx) @ b["w_gu"][e]
            gate, up = h.chunk(2, dim=-1)
            out.index_add_(0, idx, (F.silu(gate) * up) @ b["w_down"][e])
        return out

    def attention(b, x, batch, new, cache, start):
        """x: batch*new rows. cache: (k, v) of [batch, kv_heads, capacity, head_dim]; the new
        keys and values go at positions start .. start+new."""
        qkv = (x @ b["wqkv"]).view(batch, new, heads + 2 * kv_heads, head_dim).transpose(1, 2)
        q, k, v = qkv.split([heads, kv_heads, kv_heads], dim=1)
        cache[0][:, :, start:start + new] = k
        cache[1][:, :, start:start + new] = v
        keys, values = cache[0][:, :, :start + new], cache[1][:, :, :start + new]
        o = F.scaled_dot_product_attention(q, keys, values, is_causal=(new > 1), enable_gqa=True)
        return o.transpose(1, 2).reshape(batch * new, heads * head_dim) @ b["wo"]

    def forward(tokens, batch, new, caches, start, rows):
        x = embed.index_select(0, tokens)
        for i, b in enumerate(blocks):
            x = x + attention(b, rms(x), batch, new, caches[i], start)
            x = x + moe_layer(b, rms(x), rows[i])
        last = rms(x).view(batch, new, d)[:, -1]
        return last @ lm_head

    def timed(run):
        return stats(event_times_ms(torch, run, repetitions))

    props = torch.cuda.get_device_properties(0)
    lines = [{"header": {"source": "calibrate/e2e/moe_block_bench.py", "device": props.name, "model": args.model,
                         "layers": layers, "torch": torch.__version__, "cuda": torch.version.cuda,
                         "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                         "routing": args.routing, "experts": "one after another (no grouped GEMM)"}}]
    trace_folder = args.output + ".routing"
    os.makedirs(trace_folder, exist_ok=True)
    for batch in batches:
        for prompt in prompts:
            caches = [(torch.zeros(batch, kv_heads, prompt + 1, head_dim, device=dev, dtype=torch.bfloat16),
                       torch.zeros(batch, kv_heads, prompt + 1, head_dim, device=dev, dtype=torch.bfloat16))
                      for _ in range(layers)]
            tokens = torch.randint(0, vocab, (batch * prompt,), device=dev, generator=gen)
            prefill_choice = [routing(batch * prompt, layer) for layer in range(layers)]
            rows = [rows_of(c) for c in prefill_choice]
            with torch.no_grad():
                prefill_graph = capture(torch, lambda: forward(tokens, batch, prompt, caches, 0, rows))
                prefill = timed(prefill_graph.replay)
                del prefill_graph
                step_tokens = torch.randint(0, vocab, (batch,), device=dev, generator=gen)
                step_choice = [routing(batch, layer) for layer in range(layers)]
                step_rows = [rows_of(c) for c in step_choice]
                graph = capture(torch, lambda: forward(step_tokens, batch, 1, caches, prompt, step_rows))
                decode = timed(graph.replay)
            # Request i: its P prompt tokens (rows i·P ..) and its decode token (row i).
            prefill_ids = [c.view(batch, prompt * top_k).tolist() for c in prefill_choice]
            step_ids = [c.view(batch, top_k).tolist() for c in step_choice]
            trace = f"b{batch}-p{prompt}.moert"
            moert.write(os.path.join(trace_folder, trace), args.model, layers, experts, top_k,
                        [[(prompt, [prefill_ids[l][i] for l in range(layers)]), (1, [step_ids[l][i] for l in range(layers)])]
                         for i in range(batch)], f"calibrate/e2e/moe_block_bench.py routing ({args.routing})")
            lines.append({"model": args.model, "layers": layers, "device": props.name, "batch": batch, "prompt": prompt,
                          "prefill_ms": prefill, "decode_step_ms": decode, "decode_context": prompt,
                          "routing_trace": os.path.join(os.path.basename(trace_folder), trace)})
            print(f"B={batch} P={prompt}: prefill {prefill['median']:.3f} ms, decode step {decode['median']:.3f} ms", flush=True)
            del caches, graph
            torch.cuda.empty_cache()
    partial = args.output + ".partial"
    with open(partial, "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    os.replace(partial, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
