#!/usr/bin/python3
"""The PyTorch side of `bench/run layers` (Debian python3-torch 1.13, CPU; run with /usr/bin/python3). Models and
measurement follow the reference scripts torch_models.py, bench_torch_latency.py and bench_torch_train.py:
  lstm:B:T:I:H[:backward][:peak-mem]
        nn.LSTM(I, H, batch_first=True, bidirectional=True) on x [B, T, I]; forward in inference mode, or forward
        + out.sum().backward() into x and the weights (gradients set to None after each step).
  encoder-layer:B:L:D:HEADS[:backward][:peak-mem]
        nn.TransformerEncoderLayer(D, HEADS, 4D, dropout=0, batch_first=True) (post-LN, relu), timed the same way;
        inference mode in eval takes PyTorch's fused fast path.
  bilstm-classifier:B:T[:backward], transformer-classifier:B:T[:backward]
        BiLSTMAttn and TransformerCls below on random token ids: eval + inference mode (latency), or one training
        step (cross-entropy on random labels, backward, Adam lr 1e-3, zero_grad(set_to_none=True)).
  peak-mem: instead of a time, the peak RSS (MiB) of this process after two steps (run it in a fresh process).
Usage: OPENBLAS_NUM_THREADS=N /usr/bin/python3 layers_torch.py --threads N SPEC...
Prints `SPEC<TAB>value<TAB>unit` per figure; waits for a quiet machine before each.
"""
import math
import os
import sys

import torch  # before bench/ joins the path: bench/torch/ must not shadow it
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import torch_start  # noqa: E402  (beside this script)
from harness import median_seconds, peak_rss_mib, wait_quiet  # noqa: E402

VOCAB, CLASSES = 30000, 4


# Copied from /work/shared/bench/pytorch/torch_models.py (the reference anchors' definitions) --------------------
class BiLSTMAttn(nn.Module):
    def __init__(self, vocab=30000, emb=128, hid=128, ncls=4):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hid, batch_first=True, bidirectional=True)
        self.W = nn.Linear(2 * hid, 2 * hid)
        self.v = nn.Linear(2 * hid, 1, bias=False)
        self.fc = nn.Linear(2 * hid, ncls)

    def forward(self, x):
        h, _ = self.lstm(self.emb(x))                                   # [B,T,2H]
        a = torch.softmax(self.v(torch.tanh(self.W(h))).squeeze(-1), dim=1)  # [B,T]
        pooled = torch.bmm(a.unsqueeze(1), h).squeeze(1)                # [B,2H]
        return self.fc(pooled)


def sinusoid(maxlen, d):
    pos = torch.arange(maxlen, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(maxlen, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)
    return pe


class TransformerCls(nn.Module):
    def __init__(self, vocab=30000, d=128, nhead=4, ff=512, layers=2, ncls=4, maxlen=512):
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
# ----------------------------------------------------------------------------------------------------------------


def emit(spec, value, unit):
    print("%s\t%.6g\t%s" % (spec, value, unit), flush=True)


def layer_step(module, x, backward):
    """The step a layer figure times (see the module docstring); returns it as a function."""
    if not backward:
        module.eval()

        def fn():
            with torch.inference_mode():
                module(x)
        return fn
    module.train()

    def fn():
        out = module(x)
        (out[0] if isinstance(out, tuple) else out).sum().backward()
        module.zero_grad(set_to_none=True)
        x.grad = None
    return fn


def classifier_step(model, B, T, backward):
    x = torch.randint(0, VOCAB, (B, T))
    if not backward:
        model.eval()

        def fn():
            with torch.inference_mode():
                model(x)
        return fn
    model.train()
    y = torch.randint(0, CLASSES, (B,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()

    def fn():
        opt.zero_grad(set_to_none=True)
        lossf(model(x), y).backward()
        opt.step()
    return fn


def make_step(kind, sizes, backward):
    if kind == "lstm":
        B, T, I, H = sizes
        return layer_step(nn.LSTM(I, H, batch_first=True, bidirectional=True),
                          torch.randn(B, T, I, requires_grad=backward), backward)
    if kind == "encoder-layer":
        B, L, D, heads = sizes
        layer = nn.TransformerEncoderLayer(D, heads, 4 * D, dropout=0.0, batch_first=True)
        return layer_step(layer, torch.randn(B, L, D, requires_grad=backward), backward)
    if kind == "bilstm-classifier":
        return classifier_step(BiLSTMAttn(), *sizes, backward)
    if kind == "transformer-classifier":
        return classifier_step(TransformerCls(), *sizes, backward)
    sys.exit("layers_torch.py: unknown figure kind %r" % kind)


def main():
    args = torch_start.start(sys.argv[1:])
    for spec in args:
        kind, *rest = spec.split(":")
        sizes = [int(p) for p in rest if p.isdigit()]
        flags = [p for p in rest if not p.isdigit()]
        step = make_step(kind, sizes, "backward" in flags)
        if "peak-mem" in flags:  # memory, not time: no need for a quiet machine
            step()
            step()
            emit(spec, peak_rss_mib(), "MiB")
            continue
        wait_quiet("torch " + spec)
        emit(spec, median_seconds(step) * 1e3, "ms")


if __name__ == "__main__":
    main()
