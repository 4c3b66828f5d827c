#!/usr/bin/python3
"""`bench/run classify [--quick]`: the text-classification tool `attn classify` against fastText (accuracy and
training time on SST-2, IMDB and ChnSentiCorp) and PyTorch (training throughput of the same two models), side by
side in one run. Rows on stdout (see bench/harness.py), progress and the target summary on stderr.

Data: $ATTN_SHARED_DATA, else ../shared/data next to the repository; what is derived from it (IMDB extracted,
fastText's input files, the synthetic throughput data) is cached in build/bench-data/.
"""
import gzip
import html
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import unicodedata

import harness
from harness import log

ATTN = os.environ.get("ATTN_CLI", os.path.join(harness.ROOT, "build", "attn"))
CACHE = os.path.join(harness.ROOT, "build", "bench-data")
TORCH_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch", "classify_torch.py")
THREADS = 2
# The long trainings run with OpenMP threads that sleep while they wait: on a machine shared with other jobs,
# threads that spin hold the core their partner needs and slow training several times; on a quiet one the
# difference is small. (The throughput figures take the better of both.)
ACCURACY_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
# Bump when the fastText preprocessing or the synthetic data change, so that stale cached files are not used.
CACHE_VERSION = "1"


class DataSet:
    """One accuracy benchmark. attn reads the original files itself (`read` = its reader flags); fastText gets the
    same examples as `__label__L tokens` lines, tokenised as attn's default cleaning and tokenizer do. `neural`
    are the `attn classify train` flags of the neural model (`quick_neural` under --quick), `fasttext` the
    fastText flags of /work/shared/bench/README.md."""

    def __init__(self, name, train, test, read, fasttext, neural, target, quick_neural=(), time_limit_s=None,
                 seeds=(1,)):
        self.name, self.train, self.test, self.read = name, train, test, read
        self.fasttext, self.neural, self.quick_neural = fasttext, neural, quick_neural
        self.target, self.time_limit_s = target, time_limit_s  # accuracy (%) and training time the target asks for
        # The neural model is trained once per seed and its figures are the means: one run is too noisy to judge
        # a small dev set by (one standard deviation: 1.2 points on SST-2's 872 sentences, 0.9 on ChnSentiCorp's).
        self.seeds = seeds


def data_sets(data):
    """The neural flags are the best of the settings tried on each set."""
    imdb = os.path.join(CACHE, "aclImdb")
    return [
        DataSet("sst2", os.path.join(data, "sst2", "train.tsv.gz"), os.path.join(data, "sst2", "dev.tsv"), [],
                ["-wordNgrams", "1", "-epoch", "5"],
                ["--model", "bilstm-attn", "--pool", "attention-max", "--max-length", "64", "--embed-dim", "128",
                 "--hidden", "128", "--dropout", "0.5", "--embed-dropout", "0.3", "--epochs", "5", "--patience", "0",
                 "--lr", "2e-3", "--batch-size", "64", "--valid-fraction", "0.05", "--ensemble", "7"],
                85.0, quick_neural=["--epochs", "2", "--ensemble", "1"], seeds=(1, 2, 3)),
        # Whole reviews (800 tokens keep 97% of them entire; the mean is 270).
        DataSet("imdb", os.path.join(imdb, "train"), os.path.join(imdb, "test"), [],
                ["-wordNgrams", "2", "-epoch", "10", "-lr", "0.25"],
                ["--model", "bilstm-attn", "--max-length", "800", "--embed-dim", "256", "--hidden", "192",
                 "--max-vocab", "0", "--dropout", "0.5", "--embed-dropout", "0.3", "--word-dropout", "0.1",
                 "--epochs", "6", "--patience", "0", "--lr", "2e-3", "--schedule", "cosine", "--batch-size", "64",
                 "--valid-fraction", "0.1"],
                90.5, time_limit_s=20 * 60),
        # The encoder pretrained as a language model on the training texts (predicting the 2,000 most frequent
        # pieces), then trained at a high learning rate with little dropout and a moving average of the
        # parameters; seven such networks averaged.
        DataSet("chnsenticorp", os.path.join(data, "chnsenticorp", "train.tsv.gz"),
                os.path.join(data, "chnsenticorp", "dev.tsv"), [],
                ["-wordNgrams", "3", "-epoch", "10", "-lr", "0.5"],
                ["--model", "bilstm-attn", "--tokenizer", "sentencepiece", "--max-length", "256", "--embed-dim",
                 "128", "--hidden", "128", "--pretrain-epochs", "6", "--pretrain-vocab", "2000", "--dropout", "0.1",
                 "--embed-dropout", "0", "--epochs", "5", "--patience", "0", "--lr", "1e-2", "--ema", "0.99",
                 "--batch-size", "32", "--valid-fraction", "0.1", "--ensemble", "7"],
                92.5, seeds=(1, 2, 3)),
    ]


def shared_data_dir():
    d = os.environ.get("ATTN_SHARED_DATA") or os.path.join(os.path.dirname(harness.ROOT), "shared", "data")
    if not os.path.isdir(d):
        sys.exit("classify: no data directory %s (set ATTN_SHARED_DATA)" % d)
    return d


def extract_imdb(data):
    """aclImdb.tar.xz -> build/bench-data/aclImdb, once (extracted next to it first, then renamed)."""
    dest = os.path.join(CACHE, "aclImdb")
    if os.path.isdir(dest):
        return
    log("# extracting IMDB into %s" % dest)
    os.makedirs(CACHE, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=CACHE)
    with tarfile.open(os.path.join(data, "imdb", "aclImdb.tar.xz")) as tar:
        tar.extractall(tmp)
    os.rename(os.path.join(tmp, "aclImdb"), dest)
    shutil.rmtree(tmp)


# --- fastText's input: attn's default cleaning and `words` tokenizer, redone in Python ---------------------------

_TAG = re.compile(r"<[^>]*>")
_CJK = re.compile("[\u2e80-\u2fdf\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_TOKEN = re.compile(r"\w+(?:['\u2019-]\w+)*|[^\w\s]")


def tokens(text):
    """Markup removed, entities decoded, NFKC, lower case; runs of letters and digits (with inner - and ') are
    words, every other character and every CJK character a token of its own."""
    text = unicodedata.normalize("NFKC", html.unescape(_TAG.sub(" ", text))).lower()
    return _TOKEN.findall(_CJK.sub(r" \g<0> ", text))


def read_examples(path):
    """(label, text) pairs of a TSV with a header (columns `label` and `sentence` or `text_a`), plain or .gz, or of
    a folder per label."""
    if os.path.isdir(path):
        out = []
        for label in sorted(os.listdir(path)):
            folder = os.path.join(path, label)
            for f in sorted(os.listdir(folder)):
                with open(os.path.join(folder, f), encoding="utf-8") as fh:
                    out.append((label, fh.read()))
        return out
    with (gzip.open if path.endswith(".gz") else open)(path, "rt", encoding="utf-8") as fh:
        rows = [line.rstrip("\n").split("\t") for line in fh if line.strip()]
    header = rows[0]
    label = header.index("label")
    text = header.index("sentence") if "sentence" in header else header.index("text_a")
    return [(r[label], r[text]) for r in rows[1:]]


def fasttext_file(path, out, shuffle):
    """Writes `__label__L tokens` lines for the examples of `path` (shuffled: fastText reads in file order, and
    label-sorted data trains it badly); cached."""
    if os.path.exists(out):
        return out
    examples = read_examples(path)
    if shuffle:
        random.Random(1).shuffle(examples)
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        for label, text in examples:
            fh.write("__label__%s %s\n" % (label, " ".join(tokens(text))))
    os.replace(tmp, out)
    return out


# --- running the two sides -----------------------------------------------------------------------------------------

def run_timed(cmd, timeout, env=None):
    """Runs cmd (with `env` added to the environment) -> (stdout, stderr, wall seconds), or None after logging why
    it failed."""
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                           env=dict(os.environ, OMP_NUM_THREADS=str(THREADS), **(env or {})))
    except (OSError, subprocess.TimeoutExpired) as e:
        log("# FAILED %s: %s" % (" ".join(cmd), e))
        return None
    seconds = time.monotonic() - t0
    if p.returncode != 0:
        log("# FAILED (exit %d) %s\n%s" % (p.returncode, " ".join(cmd), p.stderr[-2000:]))
        return None
    return p.stdout, p.stderr, seconds


def run_fasttext(ds, work):
    """fastText trained on the whole training file -> (test accuracy %, training seconds)."""
    train = fasttext_file(ds.train, os.path.join(CACHE, "fasttext-v%s-%s.train.txt" % (CACHE_VERSION, ds.name)), True)
    test = fasttext_file(ds.test, os.path.join(CACHE, "fasttext-v%s-%s.test.txt" % (CACHE_VERSION, ds.name)), False)
    model = os.path.join(work, "fasttext-" + ds.name)
    harness.wait_quiet("fasttext " + ds.name)
    r = run_timed(["fasttext", "supervised", "-input", train, "-output", model, "-thread", str(THREADS),
                   "-verbose", "0"] + ds.fasttext, 3600)
    t = run_timed(["fasttext", "test", model + ".bin", test], 600) if r else None
    if not t:
        return None, None
    accuracy = float(re.search(r"^P@1\s+(\S+)", t[0], re.M).group(1)) * 100
    log("# fasttext %s %s: %.2f%% in %.1f s" % (ds.name, " ".join(ds.fasttext), accuracy, r[2]))
    return accuracy, r[2]


def with_flags(flags, changes):
    """flags with the values of `changes` (--name value pairs) put in place of the same flags' values."""
    out = list(flags)
    for name, value in zip(changes[::2], changes[1::2]):
        if name in out:
            out[out.index(name) + 1] = value
        else:
            out += [name, value]
    return out


def attn_cmd(verb, *args):
    return [ATTN, "--threads", str(THREADS), "classify", verb] + list(args)


_THROUGHPUT = re.compile(r"training ([\d.]+) examples/s(?:, ([\d.]+) tokens/s)?")


def attn_train(train, output, flags, timeout, env=None):
    """`attn classify train` -> (wall seconds, examples/s, tokens/s), the epoch lines logged; None on failure.
    examples/s and tokens/s count the time in training steps (forward, backward, clipping, update)."""
    r = run_timed(attn_cmd("train", train, "-o", output, "--json") + flags, timeout, env)
    if not r:
        return None
    for line in r[1].replace("\r", "\n").splitlines():
        if line.startswith("epoch") and ": train loss" in line or line.startswith(("data:", "tfidf:", "model:")):
            log("#   " + line)
    m = _THROUGHPUT.search(r[1])
    return r[2], float(m.group(1)) if m else None, float(m.group(2)) if m and m.group(2) else None


def attn_test(model, test):
    r = run_timed(attn_cmd("test", model, test, "--json"), 1800)
    return json.loads(r[0])["accuracy"] * 100 if r else None


def run_attn(ds, work, model_flags, tag, timeout):
    """Trains on the training file and scores the model on the test file -> (accuracy %, seconds, examples/s).
    tfidf trains on the whole training file (its --valid is the test file, only scored: tfidf has no epochs to
    pick); neural models hold out part of it for picking the best epoch, and the test file stays unseen."""
    out = os.path.join(work, "%s-%s" % (ds.name, tag))
    tfidf = "tfidf" in model_flags
    flags = ds.read + model_flags + (["--valid", ds.test] if tfidf else [])
    harness.wait_quiet("attn %s %s" % (ds.name, tag))
    log("# attn %s %s: %s" % (ds.name, tag, " ".join(flags)))
    r = attn_train(ds.train, out, flags, timeout, ACCURACY_ENV)
    if not r:
        return None, None, None
    accuracy = attn_test(out, ds.test)
    log("# attn %s %s: %s%% in %.1f s" % (ds.name, tag, harness.fmt(accuracy), r[0]))
    return accuracy, r[0], r[1]


# --- training throughput, attn's CLI against PyTorch --------------------------------------------------------------

THROUGHPUT_FLAGS = ["--max-length", "64", "--min-count", "1", "--max-vocab", "30000", "--embed-dim", "128",
                    "--hidden", "128", "--batch-size", "64", "--epochs", "1", "--patience", "0", "--embed-dropout", "0"]
# The reference models: the Transformer has dropout 0.1 in its layers, the BiLSTM none.
THROUGHPUT_MODELS = {"bilstm-attn": ["--model", "bilstm-attn", "--dropout", "0"],
                     "transformer": ["--model", "transformer", "--layers", "2", "--heads", "4", "--ff-dim", "512",
                                     "--dropout", "0.1"]}


def synthetic_data(examples):
    """Random sentences of exactly 64 words drawn from 30000 distinct ones, 4 random labels (the reference's
    random token ids), in fastText format; a small file to validate on. Cached."""
    paths = [os.path.join(CACHE, "synthetic-v%s-T64-%s.txt" % (CACHE_VERSION, part)) for part in ("train", "valid")]
    if all(os.path.exists(p) for p in paths):
        return paths
    os.makedirs(CACHE, exist_ok=True)
    rng = random.Random(0)
    words = ["w%d" % i for i in range(30000)]
    for path, n in zip(paths, (examples, 64)):
        with open(path + ".tmp", "w") as fh:
            for _ in range(n):
                fh.write("__label__%d %s\n" % (rng.randrange(4), " ".join(rng.choice(words) for _ in range(64))))
        os.replace(path + ".tmp", path)
    return paths


def measure_throughput(figs, work, quick):
    """attn: one epoch of the CLI over 100 batches (50 with --quick), tokens/s of the time spent in training steps
    (optimizer updates included, as in PyTorch's figure), median of 3 runs, the better of OpenMP threads that spin
    and that sleep while they wait (as torch_best has the choice). PyTorch: classify_torch.py in each
    configuration; a reference is the best of its configurations."""
    train, valid = synthetic_data(100 * 64)
    steps = 50 if quick else 100
    if quick:
        train_quick = train.replace("-train.txt", "-train-quick.txt")
        with open(train) as src, open(train_quick, "w") as dst:
            dst.writelines(line for _, line in zip(range(steps * 64), src))
        train = train_quick
    attn = {}
    for name, flags in THROUGHPUT_MODELS.items():
        best = None
        for policy, env in harness.ATTN_WAIT_POLICIES:
            values = []
            for _ in range(3):
                harness.wait_quiet("attn train %s" % name)
                r = attn_train(train, os.path.join(work, "throughput-%s" % name),
                               ["--valid", valid] + THROUGHPUT_FLAGS + flags, 900, env)
                if r and r[2]:
                    values.append(r[2])
            if values:
                value = statistics.median(values)
                log("# attn train %s (%s): %.0f tokens/s (median of %s)" % (
                    name, policy, value, ", ".join("%.0f" % v for v in values)))
                best = max(best or 0, value)
        attn[name] = best
    refs = {}
    for ref_name, configs in harness.torch_configs(THREADS).items():
        for c in configs:
            for spec, value, unit in c.run(TORCH_SCRIPT, ["train:" + n for n in THROUGHPUT_MODELS]):
                name = spec.split(":")[1]
                log("# torch %s %s: %.0f %s" % (c.tag, name, value, unit))
                refs[(name, ref_name)] = max(value, refs.get((name, ref_name), 0))
    figures = []
    for name in THROUGHPUT_MODELS:
        figure = "classify:train_%s_B64T64" % name
        for ref_name in ("torch_installed", "torch_best"):
            figs.add(figure, attn[name], ref_name, refs.get((name, ref_name)), "tokens/s")
        figures.append(figure)
    return figures


# --- the accuracy figures ------------------------------------------------------------------------------------------

def measure_data_set(figs, ds, work, quick):
    """Rows: neural accuracy and training time against fastText's, neural examples/s (against nothing), tfidf
    accuracy and time against fastText's. Returns the target checks [(figure, ok, text)]."""
    ft_acc, ft_s = run_fasttext(ds, work)
    tf_acc, tf_s, _ = run_attn(ds, work, ["--model", "tfidf"], "tfidf", 1800)
    flags = with_flags(ds.neural, ds.quick_neural if quick else [])
    runs = [run_attn(ds, work, flags + ["--seed", str(seed)], "neural-seed%d" % seed, 3 * 3600)
            for seed in (ds.seeds[:1] if quick else ds.seeds)]
    nn_acc, nn_s, nn_eps = (statistics.mean(v) if None not in v else None for v in zip(*runs))
    if len(runs) > 1:
        log("# attn %s neural: mean %s%% over seeds %s (%s)" % (ds.name, harness.fmt(nn_acc), ds.seeds, ", ".join(
            harness.fmt(r[0]) for r in runs)))
    kind = flags[flags.index("--model") + 1]
    p = "classify:%s:" % ds.name
    figs.add(p + "accuracy", nn_acc, "fasttext", ft_acc, "%")
    figs.add(p + "train_time", nn_s, "fasttext", ft_s, "s", higher_is_better=False)
    figs.add(p + "train_examples_per_s", nn_eps, "measured", nn_eps, "examples/s")
    figs.add(p + "tfidf_accuracy", tf_acc, "fasttext", ft_acc, "%")
    figs.add(p + "tfidf_train_time", tf_s, "fasttext", ft_s, "s", higher_is_better=False)
    checks = []
    ok = nn_acc is not None and nn_acc >= ds.target
    text = "%s %s%% (>= %.1f%%)%s" % (kind, harness.fmt(nn_acc), ds.target,
                                      " mean of %d seeds" % len(runs) if len(runs) > 1 else "")
    if ds.time_limit_s:
        ok = ok and nn_s is not None and nn_s <= ds.time_limit_s
        text += ", trained in %s s (<= %d s)" % (harness.fmt(nn_s), ds.time_limit_s)
    checks.append((p + "accuracy", ok, text + (" [--quick: fewer epochs]" if quick and ds.quick_neural else "")))
    # tfidf: within 1 point of fastText, in at most twice its time.
    ok = tf_acc is not None and ft_acc is not None and tf_acc >= ft_acc - 1.0 and tf_s <= 2 * ft_s
    checks.append((p + "tfidf_accuracy", ok, "%s%% vs fastText %s%% (>= -1 point), %s s vs %s s (<= 2x)" % (
        harness.fmt(tf_acc), harness.fmt(ft_acc), harness.fmt(tf_s), harness.fmt(ft_s))))
    return checks


def main():
    quick, _ = harness.options()
    start = time.monotonic()
    data = shared_data_dir()
    os.makedirs(CACHE, exist_ok=True)
    figs, checks = harness.Figures(), []
    log("# fastText's input: attn's default cleaning and tokenizer redone in Python (markup removed, NFKC, lower "
        "case, punctuation and CJK characters split off), training files shuffled")
    with tempfile.TemporaryDirectory(dir=CACHE) as work:
        sets = data_sets(data)
        for ds in sets[:1] if quick else sets:
            if ds.name == "imdb":
                extract_imdb(data)
            checks += measure_data_set(figs, ds, work, quick)
            log("# %.0fs elapsed" % (time.monotonic() - start))
        throughput = measure_throughput(figs, work, quick)
    log("# summary: targets (throughput against both PyTorch configurations)")
    for figure, ok, text in checks:
        log("%s %-40s %s" % ("PASS" if ok else "MISS", figure, text))
    for figure in throughput:
        checks = []
        ok = True
        for ref_name, minimum in (("torch_best", 1.5), ("torch_installed", 3.0)):
            row = figs.get(figure, ref_name)
            ratio = row[3] if row else None
            ok = ok and ratio is not None and ratio >= minimum
            checks.append("%s %s (>= %.1fx)" % ("n/a" if ratio is None else "%.2fx" % ratio, ref_name, minimum))
        log("%s %-40s %s" % ("PASS" if ok else "MISS", figure, ", ".join(checks)))
    log("# classify suite done in %.0fs" % (time.monotonic() - start))


if __name__ == "__main__":
    main()
