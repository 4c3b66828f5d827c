#!/usr/bin/python3
"""`bench/run seq2seq [--quick]`: sequence-to-sequence models end to end and against PyTorch.

Quality (full run; the CLI `attn seq2seq train/test` on data from $ATTN_SHARED_DATA, else ../shared/data):
  Multi30k German->English (train 29k, validation 1,014, test2016 1,000): test BLEU (sacreBLEU's default, as
  `attn seq2seq test` computes it, beam 5) and training wall time, for `transformer` and `rnn-attn`, against
  the issue's targets (BLEU 36 in <= 60 minutes; 30);
  AESLC subject lines (body -> subject, references @ann0): ROUGE-1/2/L of `transformer --task summarize --copy`
  against the lead-sentence baseline (the body's first sentence) scored by `attn seq2seq score`.
Speed (side by side in one run, 2 threads): rnn-attn training target tokens/s (GRU + Bahdanau, 256/256,
  vocabularies of 8000, B 64, S = T = 20) against PyTorch's reference model, and beam-5 decoding sentences/s
  (batch 32, sources of 20, outputs forced to 20 tokens) of the default transformer against a PyTorch
  implementation of the same model (bench/torch/seq2seq_torch.py).
Each model trains within a 60-minute budget (`--max-minutes`; the transformer's leaves room for loading the data
and training the subword model, as its target counts them).
--quick: the speed rows and a 2-epoch Multi30k transformer on 5,000 pairs (no target).
--only PART[,PART]: run only these of speed, transformer, rnn, aeslc. Rows on stdout (see
bench/harness.py), progress and the target summary on stderr. Derived data is cached in build/bench-data/.
"""
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time

import harness
from harness import Spec, log

ATTN = os.environ.get("ATTN_CLI", os.path.join(harness.ROOT, "build", "attn"))
CACHE = os.path.join(harness.ROOT, "build", "bench-data")
TORCH_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch", "seq2seq_torch.py")
THREADS = 2

# Training flags per model (the defaults of `attn seq2seq train` where not given).
TRANSFORMER = ["--model", "transformer", "--epochs", "30", "--patience", "6", "--max-minutes", "58"]
RNN = ["--model", "rnn-attn", "--layers", "1", "--embed-dim", "256", "--hidden", "512", "--lr", "1e-3",
       "--untied-output", "--schedule", "constant", "--warmup", "200", "--dropout", "0.3", "--epochs", "20",
       "--patience", "4", "--max-minutes", "60"]
SUMMARIZE = ["--model", "transformer", "--task", "summarize", "--epochs", "20", "--patience", "4",
             "--max-source-length", "128", "--share-embeddings", "--copy", "--max-minutes", "60"]


def shared_data_dir():
    d = os.environ.get("ATTN_SHARED_DATA") or os.path.join(os.path.dirname(harness.ROOT), "shared", "data")
    if not os.path.isdir(d):
        sys.exit("seq2seq: no data directory %s (set ATTN_SHARED_DATA)" % d)
    return d


def run_cli(args, timeout):
    """`attn ARGS` at THREADS threads -> (stdout, seconds), or None after logging why it failed."""
    t0 = time.monotonic()
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), OMP_WAIT_POLICY="PASSIVE")
    try:
        p = subprocess.run([ATTN, "--threads", str(THREADS)] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        log("# FAILED attn %s: %s" % (" ".join(args), e))
        return None
    if p.returncode != 0:
        log("# FAILED (exit %d) attn %s\n%s" % (p.returncode, " ".join(args), p.stderr[-2000:]))
        return None
    for line in p.stderr.replace("\r", "\n").splitlines():
        if line.startswith(("epoch", "data:", "subwords:", "model:", "kept", "warning")) and "%" not in line:
            log("#   " + line)
    return p.stdout, time.monotonic() - t0


def train_and_test(name, train_args, test_args, work, timeout, beam=5):
    """Trains a model directory and scores it -> (metrics dict, training seconds) or (None, None). The training's
    epoch lines are logged (run_cli keeps them)."""
    model = os.path.join(work, name)
    harness.wait_quiet("attn seq2seq train " + name)
    log("# %s: attn seq2seq train %s" % (name, " ".join(train_args)))
    r = run_cli(["seq2seq", "train", "-o", model] + train_args, timeout)
    if not r:
        return None, None
    t = run_cli(["seq2seq", "test", model, "--json", "--beam", str(beam)] + test_args, 3600)
    if not t:
        return None, r[1]
    metrics = json.loads(t[0])
    log("# %s: %s after %.0f s of training" % (name, t[0].strip(), r[1]))
    return metrics, r[1]


def multi30k(data, quick):
    d = os.path.join(data, "multi30k")
    train = ["--src-train", os.path.join(d, "train.de.gz"), "--tgt-train", os.path.join(d, "train.en.gz")]
    if quick:  # a 5,000-pair slice
        os.makedirs(CACHE, exist_ok=True)
        paths = []
        for lang in ("de", "en"):
            path = os.path.join(CACHE, "multi30k-5k.%s" % lang)
            if not os.path.exists(path):
                out = subprocess.run("zcat %s | head -5000" % os.path.join(d, "train.%s.gz" % lang), shell=True,
                                     stdout=subprocess.PIPE, check=True).stdout
                with open(path + ".tmp", "wb") as f:
                    f.write(out)
                os.replace(path + ".tmp", path)
            paths.append(path)
        train = ["--src-train", paths[0], "--tgt-train", paths[1]]
    valid = ["--src-valid", os.path.join(d, "val.de.gz"), "--tgt-valid", os.path.join(d, "val.en.gz")]
    test = ["--src", os.path.join(d, "test_2016_flickr.de.gz"), "--ref", os.path.join(d, "test_2016_flickr.en.gz")]
    return train + valid, test


def aeslc(data):
    """AESLC as TSVs (body<TAB>subject; dev and test with the @ann0 reference), and the lead-sentence baseline's
    outputs for the test set; cached."""
    out = os.path.join(CACHE, "aeslc")
    paths = {part: os.path.join(out, part + ".tsv") for part in ("train", "dev", "test")}
    lead = os.path.join(out, "test.lead.txt")
    refs = os.path.join(out, "test.ref.txt")
    if all(os.path.exists(p) for p in list(paths.values()) + [lead, refs]):
        return paths, lead, refs
    log("# preparing AESLC in %s" % out)
    os.makedirs(out, exist_ok=True)
    rows = {part: [] for part in paths}
    with tarfile.open(os.path.join(data, "aeslc", "enron_subject_line.tar.xz")) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            m = re.search(r"/(train|dev|test)/[^/]+\.subject$", member.name)
            if not m or not member.isfile():
                continue
            text = tar.extractfile(member).read().decode("utf-8", "replace")
            sections = re.split(r"^@(subject|ann0|ann1|ann2)\s*$", text, flags=re.M)
            body = " ".join(sections[0].split())
            fields = dict(zip(sections[1::2], (" ".join(s.split()) for s in sections[2::2])))
            target = fields.get("subject" if m.group(1) == "train" else "ann0", "")
            if body and target:
                rows[m.group(1)].append((body, target))
    for part, path in paths.items():
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.writelines("%s\t%s\n" % (b.replace("\t", " "), t.replace("\t", " ")) for b, t in rows[part])
        os.replace(path + ".tmp", path)
    with open(lead, "w", encoding="utf-8") as f:
        for body, _ in rows["test"]:
            first = re.split(r"(?<=[.!?])\s+", body, maxsplit=1)[0]
            f.write(" ".join(first.split()[:30]) + "\n")  # a long first "sentence" is cut to 30 words
    with open(refs, "w", encoding="utf-8") as f:
        f.writelines(t + "\n" for _, t in rows["test"])
    log("# AESLC: %s pairs" % ", ".join("%s %d" % (p, len(r)) for p, r in rows.items()))
    return paths, lead, refs


def speed(figs):
    specs = [Spec("rnn_attn_train_B64S20T20_t2", "tokens/s", ("rnn-attn-train", 64, 20, 20),
                  targets=(("torch_best", 1.5),)),
             Spec("transformer_decode_beam5_B32S20L20_t2", "sentences/s", ("transformer-decode", 32, 20, 20, 5),
                  targets=(("torch_best", 2.0),))]
    harness.measure(figs, TORCH_SCRIPT, specs, THREADS, attn_settings=harness.ATTN_WAIT_POLICIES)
    return specs


def main():
    quick, values = harness.options(valued=("--only",))
    parts = {"speed", "transformer", "rnn", "aeslc"}
    if "--only" in values:
        chosen = set(values["--only"].split(","))
        if not chosen <= parts:
            sys.exit("seq2seq: --only takes a comma-separated list of %s" % ", ".join(sorted(parts)))
        parts = chosen
    if quick:
        os.environ.setdefault("ATTN_BENCH_SAMPLE_S", "0.1")
    start = time.monotonic()
    data = shared_data_dir()
    figs, checks = harness.Figures(), []
    harness.measure_limits(figs, THREADS, THREADS)
    specs = speed(figs) if "speed" in parts else []
    with tempfile.TemporaryDirectory(dir=os.path.join(harness.ROOT, "build")) as work:
        train, test = multi30k(data, quick)
        runs = [("multi30k_transformer", TRANSFORMER, 36.0, 3600, "transformer"), ("multi30k_rnn_attn", RNN, 30.0, None, "rnn")]
        runs = [r[:4] for r in runs if r[4] in parts and not (quick and r[4] == "rnn")]
        for name, flags, target, limit_s in runs:
            if quick:
                flags = flags + ["--epochs", "2"]
            metrics, seconds = train_and_test(name, train + flags, test, work, 4 * 3600)
            bleu = metrics["bleu"] if metrics else None
            figs.add("seq2seq:%s:test_bleu" % name, bleu, "target", target, "BLEU")
            figs.add("seq2seq:%s:train_time" % name, seconds, "limit" if limit_s else "measured",
                     limit_s or seconds, "s", higher_is_better=False)
            ok = bleu is not None and bleu >= target and (limit_s is None or seconds <= limit_s)
            checks.append((name, ok, "BLEU %s (>= %.0f)%s%s" % (harness.fmt(bleu), target,
                                                                 ", trained in %s s (<= %d s)" % (harness.fmt(seconds), limit_s) if limit_s else "",
                                                                 " [--quick: 2 epochs on 5k pairs]" if quick else "")))
        if not quick and "aeslc" in parts:
            paths, lead, refs = aeslc(data)
            metrics, seconds = train_and_test("aeslc_transformer", ["--train", paths["train"], "--valid", paths["dev"]] +
                                              SUMMARIZE, ["--tsv", paths["test"], "--no-repeat-ngram", "2"], work, 4 * 3600,
                                              beam=4)
            baseline = run_cli(["seq2seq", "score", lead, refs, "--json"], 600)
            base = json.loads(baseline[0]) if baseline else {}
            ok = metrics is not None and bool(base)
            for key in ("rouge1", "rouge2", "rougeL"):
                value = metrics.get(key) if metrics else None
                figs.add("seq2seq:aeslc:%s" % key, value, "lead", base.get(key), "F1")
                ok = ok and value is not None and value > base.get(key, 1)
            checks.append(("aeslc_transformer", ok, "ROUGE-1/2/L %s vs lead %s" % (
                "/".join(harness.fmt(metrics.get(k) if metrics else None) for k in ("rouge1", "rouge2", "rougeL")),
                "/".join(harness.fmt(base.get(k)) for k in ("rouge1", "rouge2", "rougeL")))))
    harness.summary(figs, specs)
    for name, ok, text in checks:
        log("%s %-40s %s" % ("PASS" if ok else "MISS", name, text))
    log("# seq2seq suite done in %.0fs" % (time.monotonic() - start))


if __name__ == "__main__":
    main()
