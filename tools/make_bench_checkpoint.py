#!/usr/bin/env python3
"""A random-weight Hugging Face folder of Llama-3.2-1B's shape (d 2048, 16 layers, 32 heads, 8 KV
heads, ffn 8192, vocab 128256, tied embeddings; 1.24 B parameters) in bf16, for `ctxlab-cli bench
--load`. Nothing is downloaded; transformers writes the folder exactly as it would publish one.

    python3 tools/make_bench_checkpoint.py /tmp/llama-1b-random"""
import argparse, os, time

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=16)
    args = ap.parse_args()
    t0 = time.time()
    cfg = LlamaConfig(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=args.layers,
                      num_attention_heads=32, num_key_value_heads=8, head_dim=64, max_position_embeddings=131072,
                      rms_norm_eps=1e-5, tie_word_embeddings=True, bos_token_id=128000, eos_token_id=128001,
                      rope_parameters={"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                       "high_freq_factor": 4.0, "original_max_position_embeddings": 8192,
                                       "rope_theta": 500000.0})
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = LlamaForCausalLM(cfg).to(torch.bfloat16)
    model.save_pretrained(args.out)
    n = sum(p.numel() for p in model.parameters())
    size = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"{args.out}: {n / 1e9:.3f} B parameters, {size / 1e9:.2f} GB, {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
