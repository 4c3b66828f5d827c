#!/usr/bin/python3
"""`bench/run kernels [--quick]`: attn's softmax and fused attention kernels against PyTorch's softmax kernel and
matmul+softmax+matmul, side by side in one run, with the machine's limits (STREAM copy, sgemm) measured beside
them. Rows on stdout (see bench/harness.py), progress and the target summary on stderr.
"""
import os
import time

import harness
from harness import log

TORCH_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch", "kernels_torch.py")
HEADLINE_THREADS = 2
ROW_LENGTHS = (128, 512, 2048, 8192)
ATTENTION_SHAPES = ((32, 8, 128, 64), (8, 8, 512, 64), (1, 8, 2048, 64), (1, 12, 4096, 64))  # B, H, L, d
PEAK_MEM_SHAPES = ((1, 12, 2048, 64), (1, 12, 4096, 64))  # two lengths, so the growth with L shows


def groups(threads, quick):
    """Figure groups at one thread count. attn and PyTorch measure one group after the other, so slow drift
    of the shared machine lands on both sides of a row."""
    stream, sgemm = harness.limit_names(threads, HEADLINE_THREADS)
    t = "_t%d" % threads
    softmax = []
    for n, size, targets in ((16 << 20, "16M", (("torch_best", 1.3), (stream, 0.8))),
                             (1 << 20, "1M", (("torch_best", 2.0),))):
        for L in ROW_LENGTHS:
            softmax.append(harness.Spec("softmax_%s_L%d%s" % (size, L, t), "GB/s", ("softmax", n // L, L),
                                        targets=targets))
    yield softmax
    for (B, H, L, d) in ATTENTION_SHAPES[:3] if quick else ATTENTION_SHAPES:
        shape = "B%dH%dL%dd%d" % (B, H, L, d)
        group = []
        for causal in ((), ("causal",)):
            group.append(harness.Spec("attention_fwd%s_%s%s" % ("_causal" if causal else "", shape, t), "GFLOP/s",
                                      ("attention", B, H, L, d), causal,
                                      targets=(("torch_best", 1.5), (sgemm, 0.5))))
            group.append(harness.Spec("attention_fwdbwd%s_%s%s" % ("_causal" if causal else "", shape, t), "GFLOP/s",
                                      ("attention", B, H, L, d), causal + ("backward",),
                                      targets=(("torch_best", 1.5),)))
        yield group


def main():
    quick, _ = harness.options()
    if quick:  # shorter timing samples, here and in the processes this starts
        os.environ.setdefault("ATTN_BENCH_SAMPLE_S", "0.1")
    start = time.monotonic()
    figs, all_specs = harness.Figures(), []
    for threads in (HEADLINE_THREADS,) if quick else (HEADLINE_THREADS, 1):
        log("# == %d thread(s) ==" % threads)
        harness.measure_limits(figs, threads, HEADLINE_THREADS)
        for specs in groups(threads, quick):
            harness.measure(figs, TORCH_SCRIPT, specs, threads)
            all_specs += specs
            log("# %.0fs elapsed" % (time.monotonic() - start))
    # Peak memory: a fresh process per side that runs one forward and nothing else (whole-process VmHWM, so
    # each side's runtime libraries count too). Thread settings do not change what a forward allocates.
    for shape in PEAK_MEM_SHAPES:
        spec = harness.Spec("attention_fwd_peak_rss_B%dH%dL%dd%d" % shape, "MiB", ("attention-peak-mem",) + shape,
                            higher_is_better=False)
        harness.measure(figs, TORCH_SCRIPT, [spec], HEADLINE_THREADS, all_configs=False)
    harness.summary(figs, all_specs)
    log("# kernels suite done in %.0fs" % (time.monotonic() - start))


if __name__ == "__main__":
    main()
