#!/usr/bin/env python3
"""PyTorch's own data parallel (DistributedDataParallel over NCCL) with transformers on one of the
`bench --shape` Llama shapes: the reference CtxLab's distributed bench is compared with. Run it under
torchrun; rank 0 prints global tokens/s, MFU per GPU and peak memory per rank as one JSON line.

    torchrun --nproc_per_node 2 tools/bench_ddp_hf.py [--shape m350m-8k] [--mode "bf16 weights"]

Modes as tools/bench_vs_hf.py: "bf16 weights" (the issue's reference figures) or "fp32 master"
(fp32 weights under bf16 autocast, what CtxLab's train.precision bf16 does). Random tokens, fused
AdamW, SDPA attention, DDP's default 25 MiB buckets. Assumes one GPU per rank (LOCAL_RANK)."""
import argparse, json, os, sys, time

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_vs_hf import PEAK, SHAPES, flops_per_token  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="m350m-8k")
    ap.add_argument("--mode", default="bf16 weights", choices=["bf16 weights", "fp32 master"])
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    s = SHAPES[args.shape]
    local = int(os.environ.get("LOCAL_RANK", "0"))
    torch.cuda.set_device(local)
    dist.init_process_group("nccl", device_id=torch.device("cuda", local))
    rank, world = dist.get_rank(), dist.get_world_size()

    from transformers import LlamaConfig, LlamaForCausalLM
    cfg = LlamaConfig(vocab_size=s["vocab"], hidden_size=s["d"], intermediate_size=s["ffn"], num_hidden_layers=s["layers"],
                      num_attention_heads=s["heads"], num_key_value_heads=s["kv"], max_position_embeddings=s["T"],
                      tie_word_embeddings=s["tie"], attn_implementation="sdpa")
    torch.manual_seed(1)
    model = LlamaForCausalLM(cfg).cuda()
    if args.mode == "bf16 weights":
        model = model.to(torch.bfloat16)
    if s["ckpt"]:
        model.gradient_checkpointing_enable()
    model.train()
    ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local])
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.1, fused=True)
    g = torch.Generator(device="cuda").manual_seed(1000 + rank)
    tok = torch.randint(0, s["vocab"], (s["B"], s["T"] + 1), device="cuda", generator=g)
    x, y = tok[:, :-1].contiguous(), tok[:, 1:].contiguous()

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=args.mode == "fp32 master"):
            logits = ddp(input_ids=x).logits
        loss = torch.nn.functional.cross_entropy(logits.float().view(-1, logits.size(-1)), y.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    dist.barrier()
    t0 = time.time()
    for _ in range(args.steps):
        loss = step()
    torch.cuda.synchronize()
    dist.barrier()
    tps = args.steps * s["B"] * s["T"] * world / (time.time() - t0)
    tf_gpu = flops_per_token(s, model) * tps / world / 1e12
    peak = torch.tensor([torch.cuda.max_memory_allocated() / 2**30], device="cuda")
    peaks = [torch.zeros_like(peak) for _ in range(world)]
    dist.all_gather(peaks, peak)
    if rank == 0:
        print(json.dumps(dict(shape=args.shape, runner=f"transformers DDP, {args.mode}", world=world, tokens_per_s=tps,
                              tflops_per_gpu=tf_gpu, mfu_per_gpu=tf_gpu / PEAK,
                              peak_gib_per_rank=[round(p.item(), 2) for p in peaks], loss=loss.item())))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
