#!/usr/bin/env python3
"""Where the GPU time of a profiled bench goes: reads the Chrome trace that
`CTXLAB_PROFILE=trace.json ctxlab-cli bench --shape NAME` (or torch.profiler in Python) writes and
prints GPU kernel time by category and the top kernels, plus how busy the GPU was over the span.

Usage: tools/profile_summary.py TRACE.json [--top N]
"""
import json
import re
import sys
from collections import defaultdict

CATEGORIES = [
    ("attention", r"flash|fmha|attention|sdpa|cudnn.*(mha|attn)"),
    ("gemm", r"gemm|cutlass|sm90_xmma|nvjet|cublas|matmul|splitK"),
    ("optimizer", r"adam|fused_adamw|multi_tensor|foreach"),
    ("norm", r"rms|layer_norm|norm_kernel"),
    ("reduce", r"reduce|softmax|logsumexp|sum_kernel"),
    ("copy/cast", r"copy|cast|convert|fill|cat|Memcpy|Memset"),
    ("elementwise", r"elementwise|vectorized|unrolled|pointwise"),
]


def category(name):
    for cat, pattern in CATEGORIES:
        if re.search(pattern, name, re.I):
            return cat
    return "other"


def main():
    path = sys.argv[1]
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 25
    with open(path) as f:
        trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    kernels = [e for e in events if e.get("ph") == "X" and e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")]
    if not kernels:
        sys.exit(f"{path}: no GPU kernels in the trace")
    start = min(e["ts"] for e in kernels)
    end = max(e["ts"] + e["dur"] for e in kernels)
    busy = sum(e["dur"] for e in kernels)
    by_cat, by_name, count = defaultdict(float), defaultdict(float), defaultdict(int)
    for e in kernels:
        by_cat[category(e["name"])] += e["dur"]
        by_name[e["name"]] += e["dur"]
        count[e["name"]] += 1
    span = end - start
    print(f"span {span / 1e3:.1f} ms, kernels {busy / 1e3:.1f} ms ({100 * busy / span:.1f} % busy), "
          f"{len(kernels)} launches")
    print(f"{'category':<14} {'ms':>9} {'share':>7}")
    for cat, t in sorted(by_cat.items(), key=lambda kv: -kv[1]):
        print(f"{cat:<14} {t / 1e3:9.2f} {100 * t / busy:6.1f}%")
    print(f"\n{'ms':>9} {'calls':>6}  kernel (top {top})")
    for name, t in sorted(by_name.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{t / 1e3:9.2f} {count[name]:6d}  {name[:150]}")


if __name__ == "__main__":
    main()
