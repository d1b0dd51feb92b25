"""The same BERT classifier training/eval step as whittle's, in PyTorch eager mode.

Used by bench/throughput to compare against LibTorch C++ in the same run.
transformers is not available offline, so the model is written out with the
same operations Hugging Face's BertForSequenceClassification uses.
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F
from torch import nn


class Layer(nn.Module):
    def __init__(self, hidden, heads, ffn, p):
        super().__init__()
        self.heads, self.head = heads, hidden // heads
        self.q, self.k, self.v = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.attn_out, self.ln1 = nn.Linear(hidden, hidden), nn.LayerNorm(hidden, eps=1e-12)
        self.ffn_in, self.ffn_out = nn.Linear(hidden, ffn), nn.Linear(ffn, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=1e-12)
        self.drop = nn.Dropout(p)

    def forward(self, x, mask):
        b, n, _ = x.shape
        split = lambda t: t.view(b, n, self.heads, self.head).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head) + mask
        ctx = (self.drop(scores.softmax(-1)) @ v).transpose(1, 2).reshape(b, n, -1)
        x = self.ln1(x + self.drop(self.attn_out(ctx)))
        return self.ln2(x + self.drop(self.ffn_out(F.gelu(self.ffn_in(x)))))


class Bert(nn.Module):
    def __init__(self, vocab=30522, hidden=128, layers=2, heads=2, ffn=512, p=0.1):
        super().__init__()
        self.words, self.positions = nn.Embedding(vocab, hidden), nn.Embedding(512, hidden)
        self.types, self.ln = nn.Embedding(2, hidden), nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList(Layer(hidden, heads, ffn, p) for _ in range(layers))
        self.pooler, self.classifier, self.drop = nn.Linear(hidden, hidden), nn.Linear(hidden, 2), nn.Dropout(p)

    def forward(self, ids, attention):
        n = ids.shape[1]
        x = self.drop(self.ln(self.words(ids) + self.positions.weight[:n] + self.types.weight[0]))
        mask = (1.0 - attention[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, mask)
        return self.classifier(self.drop(torch.tanh(self.pooler(x[:, 0]))))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=512)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Bert()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.0)
    ids = torch.randint(1000, 30000, (args.batch, args.length))
    attention = torch.ones_like(ids)
    labels = torch.randint(0, 2, (args.batch,))

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(ids, attention), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    for _ in range(2):
        train_step()
    start = time.perf_counter()
    for _ in range(args.steps):
        train_step()
    train_seconds = time.perf_counter() - start

    model.eval()
    with torch.inference_mode():
        model(ids, attention)
        start = time.perf_counter()
        for _ in range(args.steps):
            model(ids, attention)
        eval_seconds = time.perf_counter() - start
    tokens = args.batch * args.length * args.steps
    print(json.dumps({"train_tokens_per_second": tokens / train_seconds,
                      "eval_tokens_per_second": tokens / eval_seconds}))


if __name__ == "__main__":
    main()
