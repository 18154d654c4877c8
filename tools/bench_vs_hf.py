#!/usr/bin/env python3
"""CtxLab's `bench --shape` beside Hugging Face transformers on the same GPU, in one call: the same
Llama shapes, random tokens, AdamW with fused kernels, bf16, SDPA attention; transformers eager
and torch.compile, peft for the LoRA shape. Prints tokens/s, TFLOP/s, MFU, peak memory and the
ratio of CtxLab to the better transformers figure.

    python3 tools/bench_vs_hf.py build-gpu/bin/ctxlab-cli [--shapes s85m-2k,m350m-8k,l1b-32k-lora]
        [--precisions bf16,bf16-weights] [--hf-modes "bf16 weights,fp32 master"] [--no-compile]

transformers runs bf16 two ways: weights in bf16 ("bf16 weights", as the issue's figures were
measured) and fp32 weights under autocast ("fp32 master", what CtxLab's train.precision bf16 does);
CtxLab runs its bf16 (autocast) and bf16-weights (bf16 copies for the passes, fp32 masters for
AdamW) precisions. The ratio is CtxLab's faster against transformers' faster. FLOPs per token: 6 x (layer + head parameters) + 6 x layers x d x T."""
import argparse, json, subprocess, sys, time

import torch

SHAPES = {
    "s85m-2k": dict(d=768, layers=12, heads=12, kv=12, ffn=2048, vocab=32000, T=2048, B=8, tie=False, lora=False, ckpt=False),
    "m350m-8k": dict(d=1024, layers=24, heads=16, kv=16, ffn=2816, vocab=32000, T=8192, B=2, tie=False, lora=False, ckpt=False),
    "l1b-32k-lora": dict(d=2048, layers=16, heads=32, kv=8, ffn=8192, vocab=128256, T=32768, B=1, tie=True, lora=True, ckpt=True),
}
PEAK = 989.0


def flops_per_token(s, model):
    body = sum(p.numel() for n, p in model.named_parameters() if "embed_tokens" not in n and "lora_" not in n
               and "lm_head" not in n)
    return 6 * (body + s["vocab"] * s["d"]) + 6 * s["layers"] * s["d"] * s["T"]


def hf_run(name, mode, compile_, steps):
    from transformers import LlamaConfig, LlamaForCausalLM
    s = SHAPES[name]
    cfg = LlamaConfig(vocab_size=s["vocab"], hidden_size=s["d"], intermediate_size=s["ffn"], num_hidden_layers=s["layers"],
                      num_attention_heads=s["heads"], num_key_value_heads=s["kv"], max_position_embeddings=s["T"],
                      tie_word_embeddings=s["tie"], attn_implementation="sdpa")
    torch.manual_seed(1)
    model = LlamaForCausalLM(cfg).cuda()
    if mode == "bf16 weights":
        model = model.to(torch.bfloat16)
    if s["ckpt"]:
        model.gradient_checkpointing_enable()
    if s["lora"]:
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                                                 modules_to_save=None))
        for n, p in model.named_parameters():
            if "embed_tokens" in n or "norm" in n:
                p.requires_grad_(True)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.1, fused=True)
    fwd = torch.compile(model) if compile_ else model
    tok = torch.randint(0, s["vocab"], (s["B"], s["T"] + 1), device="cuda")
    x, y = tok[:, :-1].contiguous(), tok[:, 1:].contiguous()

    def step():
        opt.zero_grad(set_to_none=True)
        if mode == "fp32 master":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logits = fwd(input_ids=x).logits
        else:
            logits = fwd(input_ids=x).logits
        loss = torch.nn.functional.cross_entropy(logits.float().view(-1, logits.size(-1)), y.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.time()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    tps = steps * s["B"] * s["T"] / (time.time() - t0)
    tf = flops_per_token(s, model) * tps / 1e12
    peak = torch.cuda.max_memory_allocated() / 2**30
    del model, opt, fwd
    torch.cuda.empty_cache()
    return dict(tokens_per_s=tps, tflops=tf, mfu=tf / PEAK, peak_gib=peak)


def ctx_run(cli, name, steps, precision):
    out = subprocess.run([cli, "bench", "--shape", name, "--device", "cuda", "--precision", precision, "--steps", str(steps),
                          "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        return dict(error=out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(name, what, r):
    if "error" in r:
        print(f"{name:13} {what:50} error: {r['error']}")
    elif "ratio" in r:
        print(f"{name:13} {what:50} {r['ratio']:10.2f}x")
    else:
        print(f"{name:13} {what:50} {r['tokens_per_s']:10.0f} {r['tflops']:8.1f} {100 * r['mfu']:5.1f}% {r['peak_gib']:9.1f}")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cli")
    ap.add_argument("--shapes", default="s85m-2k,m350m-8k,l1b-32k-lora")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--precisions", default="bf16,bf16-weights", help="CtxLab's precisions to run")
    ap.add_argument("--hf-modes", default="bf16 weights,fp32 master",
                    help="transformers' modes ('bf16 weights' gives the ratio's reference)")
    args = ap.parse_args()
    names = {"bf16": "CtxLab bf16 (autocast, fp32 weights)",
             "bf16-weights": "CtxLab bf16-weights (bf16 copies, fp32 master)"}
    modes = args.hf_modes.split(",")
    print(f"{'shape':13} {'run':50} {'tokens/s':>10} {'TFLOP/s':>8} {'MFU':>6} {'peak GiB':>9}")

    class Rows(list):  # each row is printed as it arrives (a cut-off run keeps what it measured)
        def append(self, row):
            super().append(row)
            show(*row)

    rows = Rows()
    for name in args.shapes.split(","):
        ours = {}
        for precision in args.precisions.split(","):
            what = names[precision]
            r = ctx_run(args.cli, name, args.steps, precision)
            rows.append((name, what, r))
            if "tokens_per_s" in r and r["tokens_per_s"] > ours.get("tokens_per_s", 0):
                ours = r
        best = 0.0
        variants = [(mode, False) for mode in modes]
        if not SHAPES[name]["lora"] and not args.no_compile and "bf16 weights" in modes:
            variants.append(("bf16 weights", True))
        for mode, comp in variants:
            try:
                r = hf_run(name, mode, comp, args.steps)
                best = max(best, r["tokens_per_s"]) if mode == "bf16 weights" else best
            except Exception as e:  # an OOM or a compile failure is a result too
                r = dict(error=repr(e)[:120])
                torch.cuda.empty_cache()
            rows.append((name, f"transformers {'compile' if comp else 'eager'}, {mode}", r))
        if "tokens_per_s" in ours and best > 0:
            rows.append((name, "ratio best CtxLab / best transformers", dict(ratio=ours["tokens_per_s"] / best)))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
