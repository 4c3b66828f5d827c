#!/usr/bin/python3
"""`bench/run kernels [--quick]`: attn's softmax and fused attention kernels against PyTorch's softmax kernel and
matmul+softmax+matmul, side by side in one run, with the machine's limits (STREAM copy, sgemm) measured beside
them. Rows on stdout (see bench/harness.py), progress and the target summary on stderr.
"""
import os
import sys
import time

import harness
from harness import log

TORCH_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch", "kernels_torch.py")
HEADLINE_THREADS = 2
SGEMM_N = 2048
ROW_LENGTHS = (128, 512, 2048, 8192)
ATTENTION_SHAPES = ((32, 8, 128, 64), (8, 8, 512, 64), (1, 8, 2048, 64), (1, 12, 4096, 64))  # B, H, L, d
PEAK_MEM_SHAPES = ((1, 12, 2048, 64), (1, 12, 4096, 64))  # two lengths, so the growth with L shows


class Spec:
    """One figure measured on both sides: `parts` are the attn_bench_tool subcommand and sizes, `flags` its
    --options; kernels_torch.py takes the same as one `part:part:flag` argument. `targets` are (reference, minimum)
    pairs for the summary, the reference being a torch row or a limit figure."""

    def __init__(self, figure, unit, parts, flags=(), higher_is_better=True, targets=()):
        self.figure, self.unit, self.higher_is_better, self.targets = figure, unit, higher_is_better, targets
        self.attn_args = [str(p) for p in parts] + ["--" + f for f in flags]
        self.torch_arg = ":".join([str(p) for p in parts] + list(flags))


def limit_names(threads):
    sfx = "" if threads == HEADLINE_THREADS else "_t%d" % threads
    return "limit:stream_copy" + sfx, "limit:sgemm" + sfx


def groups(threads, quick):
    """Figure groups at one thread count. attn and PyTorch measure one group after the other, so slow drift
    of the shared machine lands on both sides of a row."""
    stream, sgemm = limit_names(threads)
    t = "_t%d" % threads
    softmax = []
    for n, size, targets in ((16 << 20, "16M", (("torch_best", 1.3), (stream, 0.8))),
                             (1 << 20, "1M", (("torch_best", 2.0),))):
        for L in ROW_LENGTHS:
            softmax.append(Spec("softmax_%s_L%d%s" % (size, L, t), "GB/s", ("softmax", n // L, L), targets=targets))
    yield softmax
    for (B, H, L, d) in ATTENTION_SHAPES[:3] if quick else ATTENTION_SHAPES:
        shape = "B%dH%dL%dd%d" % (B, H, L, d)
        group = []
        for causal in ((), ("causal",)):
            group.append(Spec("attention_fwd%s_%s%s" % ("_causal" if causal else "", shape, t), "GFLOP/s",
                              ("attention", B, H, L, d), causal, targets=(("torch_best", 1.5), (sgemm, 0.5))))
            group.append(Spec("attention_fwdbwd%s_%s%s" % ("_causal" if causal else "", shape, t), "GFLOP/s",
                              ("attention", B, H, L, d), causal + ("backward",), targets=(("torch_best", 1.5),)))
        yield group


def pick(rows, unit):
    """The last value in `unit` among (name, value, unit) rows, or None."""
    values = [v for (_, v, u) in rows if u == unit]
    return values[-1] if values else None


def measure(figs, specs, threads, all_configs=True):
    """attn figures one process each, then each PyTorch configuration over the whole group in one process;
    a reference is the best of its configurations (or just the first, without all_configs). Prints the rows."""
    attn = {s.figure: pick(harness.run_attn(s.attn_args, threads), s.unit) for s in specs}
    refs, by_ref = {}, harness.torch_configs(threads)
    if not all_configs:
        by_ref = {ref: configs[:1] for ref, configs in by_ref.items()}
    for ref_name, configs in by_ref.items():
        per_config = []
        for c in configs:
            rows = c.run(TORCH_SCRIPT, [s.torch_arg for s in specs])
            per_config.append((c.tag, {s.figure: pick([r for r in rows if r[0] == s.torch_arg], s.unit)
                                       for s in specs}))
        for s in specs:
            got = [(v[s.figure], tag) for tag, v in per_config if v[s.figure] is not None]
            if got:
                value, tag = (max if s.higher_is_better else min)(got)
                refs[(s.figure, ref_name)] = value
                if len(configs) > 1:
                    log("# %s %s: best of %d configurations is %s" % (s.figure, ref_name, len(configs), tag))
    for s in specs:
        for ref_name in by_ref:
            figs.add(s.figure, attn[s.figure], ref_name, refs.get((s.figure, ref_name)), s.unit, s.higher_is_better)


def measure_limits(figs, threads):
    stream, sgemm = limit_names(threads)
    figs.add_limit(stream, pick(harness.run_attn(["stream"], threads), "GB/s"), "GB/s")
    figs.add_limit(sgemm, pick(harness.run_attn(["sgemm", str(SGEMM_N)], threads), "GFLOP/s"), "GFLOP/s")


def summary(figs, specs):
    log("# summary: targets against torch_best and the limits measured in this run")
    for s in specs:
        attn = figs.attn(s.figure)
        checks, ok = [], attn is not None
        for ref, minimum in s.targets:
            if ref.startswith("limit:"):
                limit = figs.attn(ref)
                frac = attn / limit if attn and limit else None
                checks.append("%s of %s (>= %.0f%%)" % ("n/a" if frac is None else "%.0f%%" % (100 * frac), ref,
                                                          100 * minimum))
            else:
                row = figs.get(s.figure, ref)
                frac = row[3] if row else None
                checks.append("%s %s (>= %.1fx)" % ("n/a" if frac is None else "%.2fx" % frac, ref, minimum))
            ok = ok and frac is not None and frac >= minimum
        log("%s %-40s %s" % ("PASS" if ok else "MISS", s.figure, ", ".join(checks)))


def main():
    quick = "--quick" in sys.argv[1:]
    if quick:  # shorter timing samples, here and in the processes this starts
        os.environ.setdefault("ATTN_BENCH_SAMPLE_S", "0.1")
    start = time.monotonic()
    figs, all_specs = harness.Figures(), []
    for threads in (HEADLINE_THREADS,) if quick else (HEADLINE_THREADS, 1):
        log("# == %d thread(s) ==" % threads)
        measure_limits(figs, threads)
        for specs in groups(threads, quick):
            measure(figs, specs, threads)
            all_specs += specs
            log("# %.0fs elapsed" % (time.monotonic() - start))
    # Peak memory: a fresh process per side that runs one forward and nothing else (whole-process VmHWM, so
    # each side's runtime libraries count too). Thread settings do not change what a forward allocates.
    for shape in PEAK_MEM_SHAPES:
        spec = Spec("attention_fwd_peak_rss_B%dH%dL%dd%d" % shape, "MiB", ("attention-peak-mem",) + shape,
                    higher_is_better=False)
        measure(figs, [spec], HEADLINE_THREADS, all_configs=False)
    summary(figs, all_specs)
    log("# kernels suite done in %.0fs" % (time.monotonic() - start))


if __name__ == "__main__":
    main()
