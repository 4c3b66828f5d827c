#!/usr/bin/python3
"""The PyTorch side of `bench/run classify` (Debian python3-torch 1.13, CPU; run with /usr/bin/python3): training
throughput of the two text classifiers of the reference anchors (/work/shared/bench/pytorch/torch_models.py and
bench_torch_train.py; the models are layers_torch.py's copies):
  train:bilstm-attn    Embedding(30000,128) -> BiLSTM(128 per direction) -> additive attention pooling
                       (v^T tanh(W h + b), W 256x256) -> Linear(256, 4)
  train:transformer    Embedding(30000,128) * sqrt(128) + sinusoidal positions -> 2 x TransformerEncoderLayer(d 128,
                       4 heads, ff 512, dropout 0.1, relu, post-norm) -> mean over time -> Linear(128, 4)
Random token ids and labels, batch 64, length 64, Adam lr 1e-3, cross-entropy; tokens/s of the median of 9
samples of 4 optimizer steps each, after 3 warm-up steps.
Usage: OPENBLAS_NUM_THREADS=N /usr/bin/python3 classify_torch.py --threads N SPEC...
Prints `SPEC<TAB>value<TAB>unit` per figure; waits for a quiet machine before each.
"""
import os
import statistics
import sys
import time

import torch  # before bench/ joins the path: bench/torch/ must not shadow it
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import torch_start  # noqa: E402  (beside this script)
from harness import wait_quiet  # noqa: E402
from layers_torch import BiLSTMAttn, TransformerCls  # noqa: E402  (beside this script)

B, T, VOCAB, CLASSES = 64, 64, 30000, 4


MODELS = {"bilstm-attn": BiLSTMAttn, "transformer": TransformerCls}


def train_tokens_per_second(model_fn, samples=9, steps_per_sample=4, warmup=3):
    torch.manual_seed(0)
    model = model_fn().train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    data = [(torch.randint(0, VOCAB, (B, T)), torch.randint(0, CLASSES, (B,))) for _ in range(8)]

    def step(i):
        x, y = data[i % len(data)]
        opt.zero_grad(set_to_none=True)
        lossf(model(x), y).backward()
        opt.step()

    for i in range(warmup):
        step(i)
    per, k = [], 0
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(steps_per_sample):
            step(k)
            k += 1
        per.append((time.perf_counter() - t0) / steps_per_sample)
    return B * T / statistics.median(per)


def main():
    args = torch_start.start(sys.argv[1:])
    for spec in args:
        kind, name = spec.split(":")
        if kind != "train" or name not in MODELS:
            sys.exit("classify_torch.py: unknown figure %r" % spec)
        wait_quiet("torch " + spec)
        print("%s\t%.6g\ttokens/s" % (spec, train_tokens_per_second(MODELS[name])), flush=True)


if __name__ == "__main__":
    main()
