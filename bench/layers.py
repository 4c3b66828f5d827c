#!/usr/bin/python3
"""`bench/run layers [--quick]`: whole layers and small models built from attn's modules against PyTorch's, side by
side in one run: a bidirectional LSTM layer and Transformer encoder layers (forward + backward, 2 threads, with
the peak memory of a training step), and the batch-1 latency of the two reference classifiers of
/work/shared/bench (1 thread), with the machine's limits (STREAM copy, sgemm) measured beside them. --quick leaves
out the slowest encoder shape, the layers at 1 thread and the training steps. Rows on stdout (see
bench/harness.py), progress and the target summary on stderr.
"""
import os
import time

import harness
from harness import Spec, log

TORCH_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch", "layers_torch.py")
HEADLINE_THREADS = 2
LSTM_SHAPE = (64, 64, 128, 128)  # B, T, input, hidden (bidirectional)
# B, L, d_model, heads (ff = 4 d, dropout 0). d 512 at L 512 runs at batch 16 on both sides: batch 64 is 4x the
# work (and 0.5 GiB per score matrix in PyTorch), minutes more for one figure.
ENCODER_SHAPES = ((64, 64, 128, 4), (64, 512, 128, 4), (64, 64, 512, 8), (16, 512, 512, 8))
LATENCY_TOKENS = 64
# attn_bench_tool subcommand, figure name, latency target (times faster than PyTorch)
CLASSIFIERS = (("bilstm-classifier", "bilstm_classifier", 3.0),
               ("transformer-classifier", "transformer_classifier", 2.0))


def both(minimum):
    """A target against PyTorch in both its configurations."""
    return (("torch_best", minimum), ("torch_installed", minimum))


def shape_tag(sizes, letters):
    return "".join("%s%d" % (c, v) for c, v in zip(letters, sizes))


def lstm_spec(threads, targets=(), peak_mem=False):
    name = "lstm_bidir_fwdbwd%s_%s" % ("_peak_rss" if peak_mem else "", shape_tag(LSTM_SHAPE, "BTIH"))
    if peak_mem:
        return Spec(name, "MiB", ("lstm",) + LSTM_SHAPE, ("backward", "peak-mem"), higher_is_better=False)
    return Spec(name + "_t%d" % threads, "ms", ("lstm",) + LSTM_SHAPE, ("backward",), higher_is_better=False,
                targets=targets)


def encoder_spec(shape, threads, targets=(), peak_mem=False):
    name = "encoder_layer_fwdbwd%s_%s" % ("_peak_rss" if peak_mem else "", shape_tag(shape, "BLdh"))
    if peak_mem:
        return Spec(name, "MiB", ("encoder-layer",) + shape, ("backward", "peak-mem"), higher_is_better=False)
    return Spec(name + "_t%d" % threads, "ms", ("encoder-layer",) + shape, ("backward",), higher_is_better=False,
                targets=targets)


def groups(quick):
    """(threads, specs) groups. attn and PyTorch measure one group after the other, so slow drift of the shared
    machine lands on both sides of a row."""
    t = HEADLINE_THREADS
    yield t, [lstm_spec(t, both(1.3))]
    for shape in ENCODER_SHAPES[:3] if quick else ENCODER_SHAPES:  # --quick: without the slowest
        yield t, [encoder_spec(shape, t, both(1.3))]
    yield 1, [Spec("%s_latency_B1T%d_t1" % (name, LATENCY_TOKENS), "ms", (cmd, 1, LATENCY_TOKENS),
                   higher_is_better=False, targets=both(minimum)) for cmd, name, minimum in CLASSIFIERS]
    if quick:
        return
    # Without targets: the layers at 1 thread, and a whole training step of each classifier (batch 64, length
    # 64, Adam) at 2 threads, the reference scripts' training figure.
    yield 1, [lstm_spec(1)] + [encoder_spec(shape, 1) for shape in ENCODER_SHAPES[:3]]
    yield t, [Spec("%s_train_step_B64T64_t%d" % (name, t), "ms", (cmd, 64, 64), ("backward",),
                   higher_is_better=False) for cmd, name, _ in CLASSIFIERS]


def main():
    quick, _ = harness.options()
    if quick:  # shorter timing samples, here and in the processes this starts
        os.environ.setdefault("ATTN_BENCH_SAMPLE_S", "0.1")
    start = time.monotonic()
    figs, all_specs, limits_at = harness.Figures(), [], set()
    for threads, specs in groups(quick):
        if threads not in limits_at:  # the machine's limits at each thread count the figures use
            harness.measure_limits(figs, threads, HEADLINE_THREADS)
            limits_at.add(threads)
        log("# == %s at %d thread(s) ==" % (", ".join(s.figure for s in specs), threads))
        # Like torch_best, attn runs with its threads spinning and sleeping while they wait, best of the two
        # (one thread has no one to wait for).
        harness.measure(figs, TORCH_SCRIPT, specs, threads,
                        attn_settings=harness.ATTN_WAIT_POLICIES if threads > 1 else None)
        all_specs += specs
        log("# %.0fs elapsed" % (time.monotonic() - start))
    # Peak memory of a training step: a fresh process per side that runs two steps and nothing else
    # (whole-process VmHWM, so each side's runtime libraries count too).
    peak = [lstm_spec(HEADLINE_THREADS, peak_mem=True)]
    peak += [encoder_spec(shape, HEADLINE_THREADS, peak_mem=True)
             for shape in (ENCODER_SHAPES[1:2] if quick else ENCODER_SHAPES)]
    for spec in peak:
        harness.measure(figs, TORCH_SCRIPT, [spec], HEADLINE_THREADS, all_configs=False)
    harness.summary(figs, [s for s in all_specs if s.targets])
    log("# layers suite done in %.0fs" % (time.monotonic() - start))


if __name__ == "__main__":
    main()
