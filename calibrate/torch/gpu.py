"""What the PyTorch benchmarks share: PyTorch with a visible CUDA GPU, or exit 2."""
import sys


def require_cuda(tool):
    """The torch module when PyTorch is installed and sees a CUDA GPU; otherwise print
    what is missing, prefixed by `tool`, and exit 2 (the project's bad-environment code)."""
    try:
        import torch
    except ImportError as e:
        print(f"{tool}: PyTorch is needed ({e})", file=sys.stderr)
        sys.exit(2)
    if not torch.cuda.is_available():
        print(f"{tool}: no CUDA GPU is visible; run it on a machine with an NVIDIA GPU", file=sys.stderr)
        sys.exit(2)
    return torch


def capture(torch, body):
    """body() captured in a CUDA graph after one warm-up run on a side stream (cuBLAS
    workspaces and lazy allocations happen outside the capture). Replaying the graph
    runs the GPU's work without Python or launch gaps, as serving engines run decode.
    Raises RuntimeError when the body cannot be captured."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        body()
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        body()
    return graph


def event_times_ms(torch, run, repetitions):
    """Milliseconds of each of `repetitions` calls of run(), timed with CUDA events after
    one untimed call."""
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    run()
    torch.cuda.synchronize()
    out = []
    for _ in range(repetitions):
        start.record()
        run()
        stop.record()
        stop.synchronize()
        out.append(start.elapsed_time(stop))
    return out
