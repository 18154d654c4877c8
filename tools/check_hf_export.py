#!/usr/bin/env python3
"""Folders written by `ctxlab-cli export-hf` loaded back into Hugging Face transformers, with their
logits compared to CtxLab's own for the same ids. Runs where transformers is installed (the GPU
machine); uses the reference fixtures of tests/fixtures/hf.

    python3 tools/check_hf_export.py build/bin/ctxlab-cli /tmp/export-check

For each case: import a fixture model, optionally fine-tune it for a few steps with a rope
scaling (YaRN, linear + CREAM positions), export it (fp32 and bf16), load the export with
transformers (fp32, eager attention, on the CPU) and compare logits on the fixture's ids with
`ctxlab-cli logits` of the same run. Prints a table and exits 1 if any difference exceeds 1e-4."""
import argparse, json, os, shutil, subprocess, sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(os.path.dirname(HERE), "tests", "fixtures", "hf", "models")


def run(cli, *args):
    out = subprocess.run([cli, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"ctxlab-cli {' '.join(args)}: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1]) if "--json" in args else out.stdout


def read_ids(path):
    with open(path) as f:
        return [[int(x) for x in line.split()] for line in f if line.strip()]


def hf_logits(folder, seqs):
    from transformers import AutoModelForCausalLM
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, attn_implementation="eager")
    except TypeError:
        model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32, attn_implementation="eager")
    model.eval()
    out = {}
    by_len = {}
    for s in seqs:
        by_len.setdefault(len(s), []).append(s)
    with torch.no_grad():
        for T, group in by_len.items():
            out[T] = model(input_ids=torch.tensor(group)).logits.float().numpy()
    return out, type(model).__name__, getattr(model.config, "rope_parameters", None) or getattr(model.config, "rope_scaling", None)


def ctx_logits(cli, db, run_id, ids_file, work, tag):
    out = os.path.join(work, f"{tag}.npy")
    files = run(cli, "logits", "--run", str(run_id), "--db", db, "--ids", ids_file, "--out", out, "--json")["files"]
    res = {}
    for f in files:
        a = np.load(f)
        res[a.shape[1]] = a
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cli")
    ap.add_argument("work")
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    db = os.path.join(args.work, "check.db")
    cli = args.cli
    tiny_train = {"data": {"builtin_docs": 8, "builtin_doc_tokens": 800},
                  "train": {"seq_len": 32, "batch_size": 2, "steps": 5, "warmup": 1, "lr": 1e-3, "threads": 4},
                  "eval": {"enabled": False}}
    cases = [
        ("llama-gqa", None, None, "fp32"),
        ("llama-gqa", "yarn", {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64}, "fp32"),
        ("llama-gqa", "yarn", {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64}, "bf16"),
        ("llama-gqa", "cream", {"rope_type": "linear", "factor": 2.0}, "fp32"),
        ("llama-gqa", "llama3", {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                 "original_max_position_embeddings": 32}, "fp32"),
        ("qwen2-tied", None, None, "fp32"),
        ("mistral", None, None, "fp32"),
    ]
    rows, worst_all = [], 0.0
    for i, (fixture, method, rope, dtype) in enumerate(cases):
        src = os.path.join(MODELS, fixture)
        if fixture == "qwen2-tied":  # no tokenizer in the fixture: give it one that fits
            src = os.path.join(args.work, "qwen2-src")
            shutil.copytree(os.path.join(MODELS, fixture), src)
            shutil.copy(os.path.join(MODELS, "..", "tokenizers", "bytelevel-qwen2", "tokenizer.json"), src)
        base = run(cli, "import", src, "--db", db, "--name", f"{fixture}-{i}", "--json")["run_id"]
        run_id = base
        if method:
            cfg = dict(tiny_train, name=f"{method}-{i}", init={"run": base}, rope_scaling=rope)
            if method == "cream":
                cfg["train"] = dict(cfg["train"], positions={"type": "cream", "factor": 2})
            path = os.path.join(args.work, f"cfg-{i}.json")
            with open(path, "w") as f:
                json.dump(cfg, f)
            run_id = run(cli, "train", "--config", path, "--db", db, "--json")["run_id"]
        out = os.path.join(args.work, f"export-{i}")
        run(cli, "export-hf", "--run", str(run_id), "--db", db, out, "--dtype", dtype, "--json")
        # CtxLab's side: the exported folder imported again (bf16 rounding included), so both sides
        # compute with exactly the weights in the files.
        again = run(cli, "import", out, "--db", db, "--name", f"reimport-{i}", "--json")["run_id"]
        ids_file = os.path.join(MODELS, fixture, "ids.txt")
        seqs = read_ids(ids_file)
        ours = ctx_logits(cli, db, again, ids_file, args.work, f"ours-{i}")
        theirs, cls, rope_cfg = hf_logits(out, seqs)
        diffs = {T: float(np.abs(ours[T] - theirs[T]).max()) for T in theirs}
        worst = max(diffs.values())
        worst_all = max(worst_all, worst)
        rows.append((fixture, method or "-", dtype, cls, json.dumps(rope_cfg, sort_keys=True)[:60], diffs, worst))
    print(f"{'fixture':12} {'method':8} {'dtype':5} {'loaded by transformers as':26} {'max |diff| per length':40} ok")
    for fixture, method, dtype, cls, rope_cfg, diffs, worst in rows:
        d = ", ".join(f"{T}: {v:.2e}" for T, v in sorted(diffs.items()))
        print(f"{fixture:12} {method:8} {dtype:5} {cls:26} {d:40} {'yes' if worst < 1e-4 else 'NO'}")
    print(f"worst difference {worst_all:.2e} (limit 1e-4)")
    return 0 if worst_all < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
