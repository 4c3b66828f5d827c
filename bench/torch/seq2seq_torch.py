#!/usr/bin/python3
"""The PyTorch side of `bench/run seq2seq`'s speed rows (Debian python3-torch 1.13, CPU; run with /usr/bin/python3):
  rnn-attn-train:B:S:T
        One training step of the reference GRU encoder-decoder with Bahdanau attention (EncoderRNN /
        AttnDecoderRNN of /work/shared/bench/pytorch/torch_models.py, copied below: embed = hidden = 256,
        vocabularies of 8000, dropout 0.1, teacher forcing, NLL on log_softmax, Adam lr 1e-3), random pairs;
        target tokens/s.
  transformer-decode:B:S:L:BEAM
        Beam search with an encoder-decoder of nn.TransformerEncoder/DecoderLayer (d 256, 3 + 3 layers, 4 heads,
        ff 1024, pre-LN, vocabularies of 8000, tied output), random sources of S tokens, every output forced to L
        tokens. PyTorch's decoder layers have no key/value cache, so each step runs the decoder over the prefix,
        as PyTorch implementations (the tutorials', torchtext's) do; sentences/s.
Usage: OPENBLAS_NUM_THREADS=N /usr/bin/python3 seq2seq_torch.py --threads N SPEC...
Prints `SPEC<TAB>value<TAB>unit` per figure; waits for a quiet machine before each.
"""
import math
import os
import sys

import torch  # before bench/ joins the path: bench/torch/ must not shadow it
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import torch_start  # noqa: E402  (beside this script)
from harness import median_seconds, wait_quiet  # noqa: E402
from layers_torch import sinusoid  # noqa: E402  (beside this script)

VOCAB = 8000
SOS = 0


# Copied from /work/shared/bench/pytorch/torch_models.py (the reference anchors' definitions) --------------------
class EncoderRNN(nn.Module):
    def __init__(self, input_size, hidden_size, dropout_p=0.1):
        super().__init__()
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, inp):
        embedded = self.dropout(self.embedding(inp))
        output, hidden = self.gru(embedded)
        return output, hidden


class BahdanauAttention(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        self.Wa = nn.Linear(hidden_size, hidden_size)
        self.Ua = nn.Linear(hidden_size, hidden_size)
        self.Va = nn.Linear(hidden_size, 1)

    def forward(self, query, keys):
        scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
        scores = scores.squeeze(2).unsqueeze(1)
        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys)
        return context, weights


class AttnDecoderRNN(nn.Module):
    def __init__(self, hidden_size, output_size, dropout_p=0.1):
        super().__init__()
        self.embedding = nn.Embedding(output_size, hidden_size)
        self.attention = BahdanauAttention(hidden_size)
        self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, output_size)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, encoder_outputs, encoder_hidden, target_tensor):
        B = encoder_outputs.size(0)
        decoder_input = torch.empty(B, 1, dtype=torch.long).fill_(SOS)
        decoder_hidden = encoder_hidden
        outs = []
        for i in range(target_tensor.size(1)):
            out, decoder_hidden = self.forward_step(decoder_input, decoder_hidden, encoder_outputs)
            outs.append(out)
            decoder_input = target_tensor[:, i].unsqueeze(1)  # teacher forcing
        return F.log_softmax(torch.cat(outs, dim=1), dim=-1), decoder_hidden

    def forward_step(self, inp, hidden, encoder_outputs):
        embedded = self.dropout(self.embedding(inp))
        query = hidden.permute(1, 0, 2)
        context, _ = self.attention(query, encoder_outputs)
        output, hidden = self.gru(torch.cat((embedded, context), dim=2), hidden)
        return self.out(output), hidden
# ----------------------------------------------------------------------------------------------------------------


def rnn_attn_train(B, S, T):
    enc, dec = EncoderRNN(VOCAB, 256).train(), AttnDecoderRNN(256, VOCAB).train()
    eopt = torch.optim.Adam(enc.parameters(), lr=1e-3)
    dopt = torch.optim.Adam(dec.parameters(), lr=1e-3)
    data = [(torch.randint(1, VOCAB, (B, S)), torch.randint(1, VOCAB, (B, T))) for _ in range(8)]
    k = [0]

    def step():
        src, tgt = data[k[0] % len(data)]
        k[0] += 1
        eopt.zero_grad()
        dopt.zero_grad()
        eo, eh = enc(src)
        dout, _ = dec(eo, eh, tgt)
        F.nll_loss(dout.view(-1, dout.size(-1)), tgt.view(-1)).backward()
        eopt.step()
        dopt.step()
    return step, B * T, "tokens/s"


class TransformerSeq2Seq(nn.Module):
    def __init__(self, d=256, heads=4, ff=1024, layers=3, maxlen=1024):
        super().__init__()
        self.d = d
        self.src_emb, self.tgt_emb = nn.Embedding(VOCAB, d), nn.Embedding(VOCAB, d)
        self.register_buffer("pe", sinusoid(maxlen, d))
        enc = nn.TransformerEncoderLayer(d, heads, ff, dropout=0.1, batch_first=True, norm_first=True)
        dec = nn.TransformerDecoderLayer(d, heads, ff, dropout=0.1, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(enc, layers, norm=nn.LayerNorm(d), enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(dec, layers, norm=nn.LayerNorm(d))
        self.out_bias = nn.Parameter(torch.zeros(VOCAB))

    def embed(self, table, ids):
        return table(ids) * math.sqrt(self.d) + self.pe[: ids.shape[1]]

    def log_probs(self, memory, prefix):
        L = prefix.shape[1]
        mask = torch.triu(torch.full((L, L), float("-inf")), diagonal=1)
        h = self.decoder(self.embed(self.tgt_emb, prefix), memory, tgt_mask=mask)[:, -1]
        return F.log_softmax(F.linear(h, self.tgt_emb.weight, self.out_bias), dim=-1)


def beam_search(model, src, L, beam):
    """Batched beam search with every output forced to L tokens (eos masked out): rows are sentence-major beams."""
    B = src.shape[0]
    memory = model.encoder(model.embed(model.src_emb, src)).repeat_interleave(beam, dim=0)
    prefix = torch.full((B * beam, 1), 2, dtype=torch.long)
    scores = torch.zeros(B, beam)
    scores[:, 1:] = float("-inf")  # all beams start as the same hypothesis
    for _ in range(L):
        logp = model.log_probs(memory, prefix)
        logp[:, 3] = float("-inf")  # eos
        cand = (scores.view(-1, 1) + logp).view(B, beam * VOCAB)
        scores, idx = cand.topk(beam, dim=1)
        rows = (torch.arange(B).unsqueeze(1) * beam + idx // VOCAB).view(-1)
        prefix = torch.cat([prefix[rows], (idx % VOCAB).view(-1, 1)], dim=1)
    return prefix


def transformer_decode(B, S, L, beam):
    model = TransformerSeq2Seq().eval()
    src = torch.randint(4, VOCAB, (B, S))

    def step():
        with torch.inference_mode():
            beam_search(model, src, L, beam)
    return step, B, "sentences/s"


def main():
    args = torch_start.start(sys.argv[1:])
    for spec in args:
        kind, *rest = spec.split(":")
        sizes = [int(p) for p in rest]
        if kind == "rnn-attn-train":
            step, work, unit = rnn_attn_train(*sizes)
        elif kind == "transformer-decode":
            step, work, unit = transformer_decode(*sizes)
        else:
            sys.exit("seq2seq_torch.py: unknown figure kind %r" % kind)
        wait_quiet("torch " + spec)
        print("%s\t%.6g\t%s" % (spec, work / median_seconds(step), unit), flush=True)


if __name__ == "__main__":
    main()
