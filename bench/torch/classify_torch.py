#!/usr/bin/python3
"""The PyTorch side of `bench/run classify` (Debian python3-torch 1.13, CPU; run with /usr/bin/python3): training
throughput of the two text classifiers of the reference anchors (/work/shared/bench/pytorch/torch_models.py and
bench_torch_train.py, copied here with the same definitions):
  train:bilstm-attn    Embedding(30000,128) -> BiLSTM(128 per direction) -> additive attention pooling
                       (v^T tanh(W h + b), W 256x256) -> Linear(256, 4)
  train:transformer    Embedding(30000,128) * sqrt(128) + sinusoidal positions -> 2 x TransformerEncoderLayer(d 128,
                       4 heads, ff 512, dropout 0.1, relu, post-norm) -> mean over time -> Linear(128, 4)
Random token ids and labels, batch 64, length 64, Adam lr 1e-3, cross-entropy; tokens/s of the median of 9
samples of 4 optimizer steps each, after 3 warm-up steps.
Usage: OPENBLAS_NUM_THREADS=N /usr/bin/python3 classify_torch.py --threads N SPEC...
Prints `SPEC<TAB>value<TAB>unit` per figure; waits for a quiet machine before each.
"""
import math
import os
import statistics
import sys
import time

import torch  # before bench/ joins the path: bench/torch/ must not shadow it
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import log, wait_quiet  # noqa: E402

B, T, VOCAB, CLASSES = 64, 64, 30000, 4


class BiLSTMAttn(nn.Module):
    def __init__(self, vocab=VOCAB, emb=128, hid=128, ncls=CLASSES):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hid, batch_first=True, bidirectional=True)
        self.W = nn.Linear(2 * hid, 2 * hid)
        self.v = nn.Linear(2 * hid, 1, bias=False)
        self.fc = nn.Linear(2 * hid, ncls)

    def forward(self, x):
        h, _ = self.lstm(self.emb(x))                                         # [B,T,2H]
        a = torch.softmax(self.v(torch.tanh(self.W(h))).squeeze(-1), dim=1)  # [B,T]
        return self.fc(torch.bmm(a.unsqueeze(1), h).squeeze(1))


def sinusoid(maxlen, d):
    pos = torch.arange(maxlen, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(maxlen, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class TransformerCls(nn.Module):
    def __init__(self, vocab=VOCAB, d=128, nhead=4, ff=512, layers=2, ncls=CLASSES, maxlen=512):
        super().__init__()
        self.d = d
        self.emb = nn.Embedding(vocab, d)
        self.register_buffer("pe", sinusoid(maxlen, d))
        layer = nn.TransformerEncoderLayer(d, nhead, ff, dropout=0.1, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.fc = nn.Linear(d, ncls)

    def forward(self, x):
        h = self.emb(x) * math.sqrt(self.d) + self.pe[: x.shape[1]]
        return self.fc(self.enc(h).mean(dim=1))


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
    args = sys.argv[1:]
    threads = 2
    if "--threads" in args:
        i = args.index("--threads")
        threads = int(args[i + 1])
        del args[i:i + 2]
    torch.set_num_threads(threads)
    cap = [line.strip() for line in torch.__config__.show().splitlines() if "capability" in line]
    log("# torch %s, %d threads, %s | OPENBLAS_CORETYPE=%s OPENBLAS_NUM_THREADS=%s OMP_WAIT_POLICY=%s "
        "ATEN_CPU_CAPABILITY=%s GLIBC_TUNABLES=%s" % (
            torch.__version__, torch.get_num_threads(), cap[0].replace("- ", "") if cap else "?",
            *(os.environ.get(v, "unset") for v in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY",
                                                   "ATEN_CPU_CAPABILITY", "GLIBC_TUNABLES"))))
    for spec in args:
        kind, name = spec.split(":")
        if kind != "train" or name not in MODELS:
            sys.exit("classify_torch.py: unknown figure %r" % spec)
        wait_quiet("torch " + spec)
        print("%s\t%.6g\ttokens/s" % (spec, train_tokens_per_second(MODELS[name])), flush=True)


if __name__ == "__main__":
    main()
