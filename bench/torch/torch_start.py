"""The start every PyTorch reference script shares: thread count, seed, and a log line of the configuration."""
import os

import torch

from harness import log


def start(argv):
    """argv without its `--threads N` (default 2); sets that many threads and seed 0, logs torch's configuration."""
    args, threads = list(argv), 2
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i:i + 2]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cap = [line.strip() for line in torch.__config__.show().splitlines() if "capability" in line]
    log("# torch %s, %d threads, %s | OPENBLAS_CORETYPE=%s OPENBLAS_NUM_THREADS=%s OMP_WAIT_POLICY=%s "
        "ATEN_CPU_CAPABILITY=%s GLIBC_TUNABLES=%s" % (
            torch.__version__, torch.get_num_threads(), cap[0].replace("- ", "") if cap else "?",
            *(os.environ.get(v, "unset") for v in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY",
                                                   "ATEN_CPU_CAPABILITY", "GLIBC_TUNABLES"))))
    return args
