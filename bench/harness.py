"""Shared plumbing of the side-by-side suites behind bench/run (Python 3 stdlib only; run with /usr/bin/python3):
waiting for a quiet machine, the timing scheme both sides use, the PyTorch configurations, running attn's
bench tool and a PyTorch script, figures measured on both sides (Spec, measure), printing figure rows in the
DESIGN.md contract and the PASS/MISS summary.
"""
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# bench/run builds it here; ATTN_BENCH_TOOL points elsewhere (a development build) when running a suite by hand.
BENCH_TOOL = os.environ.get("ATTN_BENCH_TOOL", os.path.join(ROOT, "build", "attn_bench_tool"))
TORCH_PYTHON = "/usr/bin/python3"  # Debian's interpreter: the one that sees python3-torch
# Longest wait for a quiet machine before each measurement (seconds); 0 skips the wait.
QUIET_MAX_S = float(os.environ.get("ATTN_BENCH_QUIET_MAX_S", "60"))
# glibc malloc serves every size from the heap and never trims it, so big tensors are recycled instead of being
# mmap'ed and page-faulted afresh on every call (see /work/shared/bench/pytorch/profiles.sh).
HEAP_TUNABLES = "glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=17179869184"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def options(valued=()):
    """The suite's command line -> (quick, {option: value}) for `--quick` and the options named in `valued`
    (each taking one value); anything else exits with a usage line."""
    args, quick, values = sys.argv[1:], False, {}
    while args:
        a = args.pop(0)
        if a == "--quick":
            quick = True
        elif a in valued and args:
            values[a] = args.pop(0)
        else:
            sys.exit("usage: %s [--quick]%s" % (os.path.basename(sys.argv[0]), "".join(" [%s VALUE]" % v for v in valued)))
    return quick, values


def _cpu_times():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[3] + v[4]


def cpu_busy(seconds=0.5):
    """Fraction of all CPUs busy (any process) over `seconds`."""
    t0, i0 = _cpu_times()
    time.sleep(seconds)
    t1, i1 = _cpu_times()
    return 1.0 - (i1 - i0) / max(1, t1 - t0)


def wait_quiet(what=""):
    """Waits (up to QUIET_MAX_S) until the CPUs are < 15% busy: the machine is shared, and another job on the
    same two cores would halve a figure. Says so on stderr when it had to wait or gave up."""
    if QUIET_MAX_S <= 0:
        return
    start = time.monotonic()
    while True:
        busy = cpu_busy()
        waited = time.monotonic() - start
        if busy < 0.15:
            if waited > 1:
                log("# waited %.0fs for a quiet machine before %s" % (waited, what))
            return
        if waited >= QUIET_MAX_S:
            log("# WARNING: machine still %.0f%% busy after %.0fs; measuring %s anyway" % (100 * busy, waited, what))
            return
        time.sleep(2)


def median_seconds(fn):
    """Median seconds per call of fn(), the scheme attn_bench_tool uses too: a warm-up call, a timed call that
    sizes the samples, then samples that each run fn enough times to last >= ATTN_BENCH_SAMPLE_S (0.25 s;
    --quick sets 0.1): 7 of them, fewer for calls that take over 0.2 s (5) or 1 s (3) on their own, so the
    largest shapes stay affordable."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = time.perf_counter() - t0
    iters = max(1, min(10000, int(float(os.environ.get("ATTN_BENCH_SAMPLE_S", "0.25")) / max(one, 1e-7))))
    repeats = 7 if one < 0.2 else 5 if one < 1.0 else 3
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        samples.append((time.perf_counter() - t0) / iters)
    return statistics.median(samples)


def peak_rss_mib():
    """VmHWM (peak resident set) of this process in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _parse_rows(text):
    """`name<TAB>value<TAB>unit` lines -> [(name, value, unit)]; '#' lines and anything else are ignored."""
    rows = []
    for line in text.splitlines():
        f = line.split("\t")
        if len(f) >= 3 and not line.startswith("#"):
            try:
                rows.append((f[0], float(f[1]), f[2]))
            except ValueError:
                pass
    return rows


def _run(cmd, env_changes, timeout=900):
    """Runs cmd with env_changes applied (None unsets a variable); stderr passes through. Returns parsed rows,
    or [] after logging why when it fails, so one broken figure does not end the suite."""
    env = dict(os.environ)
    for k, v in env_changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    try:
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=sys.stderr, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        log("# FAILED %s: %s" % (" ".join(cmd), e))
        return []
    if p.returncode != 0:
        log("# FAILED (exit %d) %s" % (p.returncode, " ".join(cmd)))
    return _parse_rows(p.stdout)


def run_attn(args, threads, env=None):
    """One attn_bench_tool invocation at `threads` threads (plus `env` changes) -> [(name, value, unit)]."""
    wait_quiet("attn " + " ".join(args))
    return _run([BENCH_TOOL, "--threads", str(threads)] + args, dict(env or {}, OMP_NUM_THREADS=str(threads)))


# attn's own settings, for suites that give attn the choice torch_best has between OpenMP threads that spin while
# they wait (the default: fastest on a quiet machine) and threads that sleep (far faster when other jobs share
# the cores, as on a busy shared machine: a spinning thread holds the core its partner needs to finish).
ATTN_WAIT_POLICIES = (("spin", {}), ("passive", {"OMP_WAIT_POLICY": "PASSIVE"}))


class TorchConfig:
    """One PyTorch process setup: environment changes plus torch's intra-op thread count."""

    def __init__(self, tag, threads, env):
        self.tag, self.threads, self.env = tag, threads, env

    def run(self, script, args):
        """Runs a bench/torch script (which waits for quiet itself, before each figure) -> [(name, value, unit)]."""
        log("# torch %s: %s %s" % (self.tag, os.path.basename(script), " ".join(args)))
        return _run([TORCH_PYTHON, script, "--threads", str(self.threads)] + args, self.env)


def _has_avx512():
    with open("/proc/cpuinfo") as f:
        return any(line.startswith("flags") and " avx512f" in line for line in f)


def torch_configs(threads):
    """{reference_name: [TorchConfig]}: a figure's reference is the best value over the list.
    torch_installed: the environment as it is (OpenBLAS sized to the same thread count).
    torch_best: OPENBLAS_CORETYPE unset (OpenBLAS picks the CPU's own kernels), ATen's AVX-512 kernels where
    the CPU has them, heap recycling; with 2 threads, the best of both pools at 2 / the same with sleeping
    OpenMP threads / OpenBLAS at 1 (no two spinning pools on two cores)."""
    best_env = {"OPENBLAS_CORETYPE": None, "GLIBC_TUNABLES": HEAP_TUNABLES,
                "ATEN_CPU_CAPABILITY": "avx512" if _has_avx512() else None}
    t = str(threads)
    best = [TorchConfig("best_t%s" % t, threads, dict(best_env, OPENBLAS_NUM_THREADS=t))]
    if threads > 1:
        best += [TorchConfig("best_t%s_passive" % t, threads, dict(best_env, OPENBLAS_NUM_THREADS=t,
                                                                      OMP_WAIT_POLICY="PASSIVE")),
                 TorchConfig("best_t%sob1" % t, threads, dict(best_env, OPENBLAS_NUM_THREADS="1"))]
    return {"torch_installed": [TorchConfig("installed_t%s" % t, threads, {"OPENBLAS_NUM_THREADS": t})],
            "torch_best": best}


def fmt(x):
    return "nan" if x is None or x != x else "%.2f" % x


class Figures:
    """Collects figures and prints each row as soon as it is complete:
    figure<TAB>attn<TAB>reference_name<TAB>reference<TAB>unit<TAB>ratio, ratio > 1 meaning attn is better."""

    def __init__(self):
        self.rows = {}  # (figure, reference_name) -> (attn, reference, unit, ratio)

    def add(self, figure, attn, reference_name, reference, unit, higher_is_better=True):
        ok = attn is not None and reference is not None and attn > 0 and reference > 0
        ratio = (attn / reference if higher_is_better else reference / attn) if ok else None
        self.rows[(figure, reference_name)] = (attn, reference, unit, ratio)
        print("\t".join([figure, fmt(attn), reference_name, fmt(reference), unit, fmt(ratio)]), flush=True)

    def add_limit(self, figure, value, unit):
        """A machine limit: reference_name `measured`, the same value as reference, ratio 1 (no comparison)."""
        self.add(figure, value, "measured", value, unit)

    def get(self, figure, reference_name):
        return self.rows.get((figure, reference_name))

    def attn(self, figure):
        for (f, _), r in self.rows.items():
            if f == figure:
                return r[0]
        return None


def limit_names(threads, headline):
    """The machine-limit figures at `threads`: suffixed _tN unless at the suite's headline thread count."""
    sfx = "" if threads == headline else "_t%d" % threads
    return "limit:stream_copy" + sfx, "limit:sgemm" + sfx


def measure_limits(figs, threads, headline, sgemm_n=2048):
    """STREAM-style copy (GB/s) and attn's BLAS sgemm at n = sgemm_n (GFLOP/s), as limit rows."""
    stream, sgemm = limit_names(threads, headline)
    figs.add_limit(stream, pick(run_attn(["stream"], threads), "GB/s"), "GB/s")
    figs.add_limit(sgemm, pick(run_attn(["sgemm", str(sgemm_n)], threads), "GFLOP/s"), "GFLOP/s")


class Spec:
    """One figure measured on both sides: `parts` are the attn_bench_tool subcommand and sizes, `flags` its
    --options; the suite's bench/torch script takes the same as one `part:part:flag` argument. `targets` are
    (reference, minimum) pairs for the summary, the reference being a torch row or a limit figure."""

    def __init__(self, figure, unit, parts, flags=(), higher_is_better=True, targets=()):
        self.figure, self.unit, self.higher_is_better, self.targets = figure, unit, higher_is_better, targets
        self.attn_args = [str(p) for p in parts] + ["--" + f for f in flags]
        self.torch_arg = ":".join([str(p) for p in parts] + list(flags))


def pick(rows, unit):
    """The last value in `unit` among (name, value, unit) rows, or None."""
    values = [v for (_, v, u) in rows if u == unit]
    return values[-1] if values else None


def measure(figs, script, specs, threads, all_configs=True, attn_settings=None):
    """attn figures one process each, then each PyTorch configuration over the whole group in one process of
    `script` (a bench/torch script); a reference is the best of its configurations (or just the first, without
    all_configs). attn_settings: (tag, env) pairs to time attn under, keeping the best (default: as it is).
    Prints the rows."""
    attn = {}
    for s in specs:
        got = []
        for tag, env in attn_settings or (("default", {}),):
            value = pick(run_attn(s.attn_args, threads, env), s.unit)
            if value is not None:
                got.append((value, tag))
        attn[s.figure] = (max if s.higher_is_better else min)(got)[0] if got else None
        if len(got) > 1:
            log("# %s attn: %s" % (s.figure, ", ".join("%s %.4g" % (tag, v) for v, tag in got)))
    refs, by_ref = {}, torch_configs(threads)
    if not all_configs:
        by_ref = {ref: configs[:1] for ref, configs in by_ref.items()}
    for ref_name, configs in by_ref.items():
        per_config = []
        for c in configs:
            rows = c.run(script, [s.torch_arg for s in specs])
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


def summary(figs, specs):
    """PASS or MISS per figure with targets, on stderr."""
    log("# summary: targets against PyTorch (torch_best, torch_installed) and the limits measured in this run")
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
