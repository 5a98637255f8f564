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
