#!/usr/bin/env python3
"""The default small CtxLab model written in plain PyTorch, timed the way `ctxlab-cli bench` times
it (batch 16 x 128 random byte tokens, AdamW step with clipping), for a side-by-side speed ratio.
Same architecture: pre-norm LayerNorm blocks, fused qkv without bias, RoPE (half split) on q and k,
causal attention through the same ATen kernel, GELU MLP (4x), tied head, vocabulary 259."""
import argparse, json, os, time

import torch
import torch.nn as nn
import torch.nn.functional as F

SIZES = {"tiny": (2, 128, 4), "small": (4, 256, 4), "base": (6, 384, 6), "medium": (8, 512, 8)}


def attend(q, k, v):
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    return torch.ops.aten._scaled_dot_product_attention(q, k, v, None, 0.0, False, True)[0]


def rope(x, cos, sin):
    half = cos.shape[-1]
    a, b = x[..., :half], x[..., half:2 * half]
    return torch.cat([a * cos - b * sin, b * cos + a * sin], -1)


class Block(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h, self.dh = h, d // h
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.wqkv = nn.Linear(d, 3 * d, bias=False)
        self.wo = nn.Linear(d, d, bias=False)
        self.up = nn.Linear(d, 4 * d, bias=False)
        self.down = nn.Linear(4 * d, d, bias=False)

    def forward(self, x, cos, sin):
        B, T, D = x.shape
        q, k, v = self.wqkv(self.ln1(x)).view(B, T, 3, self.h, self.dh).permute(2, 0, 3, 1, 4)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        x = x + self.wo(attend(q, k, v).transpose(1, 2).flatten(2))
        return x + self.down(F.gelu(self.up(self.ln2(x))))


class LM(nn.Module):
    def __init__(self, layers, d, h, vocab=259):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(Block(d, h) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        dh = d // h
        self.register_buffer("inv", 10000.0 ** (-torch.arange(0, dh // 2, dtype=torch.float) * 2 / dh))

    def forward(self, tokens, positions):
        ang = positions.float().unsqueeze(-1) * self.inv
        cos, sin = ang.cos().unsqueeze(1), ang.sin().unsqueeze(1)
        x = self.tok(tokens)
        for b in self.blocks:
            x = b(x, cos, sin)
        return self.ln_f(x) @ self.tok.weight.t()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="small")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    rows = []
    B, T = 16, 128
    for name in args.sizes.split(","):
        layers, d, h = SIZES[name]
        torch.manual_seed(1)
        m = LM(layers, d, h)
        opt = torch.optim.AdamW(m.parameters(), lr=3e-4, weight_decay=0.1)
        tok = torch.randint(0, 256, (B, T + 1))
        pos = torch.arange(T, dtype=torch.float).expand(B, T)
        x, y = tok[:, :T], tok[:, 1:]

        def step():
            opt.zero_grad()
            loss = F.cross_entropy(m(x, pos).flatten(0, 1), y.flatten())
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
            opt.step()

        for _ in range(3):
            step()
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step()
        tps = args.steps * B * T / (time.perf_counter() - t0)
        rows.append({"size": name, "train_tokens_per_s": tps, "threads": torch.get_num_threads()})
    print(json.dumps({"torch": torch.__version__, "rows": rows}))


if __name__ == "__main__":
    main()
