#!/usr/bin/python3
"""The PyTorch side of `bench/run kernels` (Debian python3-torch 1.13, CPU; run with /usr/bin/python3), adapted
from the reference scripts bench_torch_softmax.py and bench_torch_attention.py with the same definitions:
  softmax:ROWS:L                 aten::_softmax.out over rows of L into a preallocated output (the kernel alone);
                                 GB/s counts 4 B read + 4 B written per element.
  attention:B:H:L:D[:causal][:backward]
                                 s = Q K^T / sqrt(d); causal: masked_fill(triu, -inf); out = softmax(s) V, float32
                                 [B,H,L,d]. Forward in inference mode, 4*B*H*L^2*d FLOPs; forward+backward of
                                 out.sum(), 12*B*H*L^2*d FLOPs; causal does (and is counted as) the same dense work.
  attention-peak-mem:B:H:L:D     peak RSS (MiB) of this process after one forward and nothing else.
Usage: OPENBLAS_NUM_THREADS=N /usr/bin/python3 kernels_torch.py --threads N SPEC...
Prints `SPEC<TAB>value<TAB>unit` per figure; waits for a quiet machine before each.
"""
import math
import os
import sys

import torch  # before bench/ joins the path: bench/torch/ must not shadow it

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import torch_start  # noqa: E402  (beside this script)
from harness import log, median_seconds, peak_rss_mib, wait_quiet  # noqa: E402


def emit(spec, value, unit):
    print("%s\t%.6g\t%s" % (spec, value, unit), flush=True)


def softmax(spec, rows, L):
    x = torch.randn(rows, L)
    y = torch.empty_like(x)
    s = median_seconds(lambda: torch.ops.aten._softmax.out(x, -1, False, out=y))
    emit(spec, s * 1e3, "ms")
    emit(spec, 8.0 * rows * L / s / 1e9, "GB/s")


def naive_attn(q, k, v, mask=None):
    s = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    if mask is not None:
        s = s.masked_fill(mask, float("-inf"))
    return torch.matmul(torch.softmax(s, dim=-1), v)


def attention(spec, B, H, L, d, causal=False, backward=False):
    q, k, v = (torch.randn(B, H, L, d, requires_grad=backward) for _ in range(3))
    mask = torch.ones(L, L, dtype=torch.bool).triu_(1) if causal else None
    if backward:
        def fn():
            naive_attn(q, k, v, mask).sum().backward()
            q.grad = k.grad = v.grad = None
        s = median_seconds(fn)
    else:
        with torch.inference_mode():
            s = median_seconds(lambda: naive_attn(q, k, v, mask))
    emit(spec, s * 1e3, "ms")
    emit(spec, (12.0 if backward else 4.0) * B * H * L * L * d / s / 1e9, "GFLOP/s")


def attention_peak_mem(spec, B, H, L, d):
    log("# torch peak-mem: baseline VmHWM %.1f MiB (torch imported)" % peak_rss_mib())
    with torch.inference_mode():
        q, k, v = (torch.randn(B, H, L, d) for _ in range(3))
        naive_attn(q, k, v)
    emit(spec, peak_rss_mib(), "MiB")


def main():
    args = torch_start.start(sys.argv[1:])
    for spec in args:
        kind, *rest = spec.split(":")
        sizes = [int(p) for p in rest if p.isdigit()]
        flags = [p for p in rest if not p.isdigit()]
        if kind == "attention-peak-mem":
            attention_peak_mem(spec, *sizes)  # measures memory, not time: no need for a quiet machine
            continue
        wait_quiet("torch " + spec)
        if kind == "softmax":
            softmax(spec, *sizes)
        elif kind == "attention":
            attention(spec, *sizes, causal="causal" in flags, backward="backward" in flags)
        else:
            sys.exit("kernels_torch.py: unknown figure %r" % spec)


if __name__ == "__main__":
    main()
