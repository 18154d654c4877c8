#!/usr/bin/env python3
"""Writes N hostile variants of run configs for scripts/stress: values replaced by extreme numbers,
wrong types, paths to devices, FIFOs and folders, keys dropped, added or repeated, text cut or
garbled. Deterministic for a seed. Usage: mutate_configs.py OUT_DIR N SEED SPECIAL_DIR SEED.json..."""
import copy
import json
import os
import random
import sys


def hostile_values(special):
    return [
        0, -1, 1, 2, 3, 7, 64, 2**31, 2**31 - 1, 2**53, 2**63 - 1, -2**63, 2**64, 10**30,
        0.5, -0.0, 1e-320, 1e308, -1e308, 3.14159, float("nan"), float("inf"),
        "", "x", "builtin:longrange", "builtin:nope", "cpu", "cuda", "cuda:7", "rope", "yarn",
        "/dev/zero", "/dev/null", "/", special["fifo"], special["dir"], special["binary"],
        special["tiny"], special["empty"], "a" * 5000, "\u0000", "\ud7ff\u00e9",
        True, False, None, [], [0], [2**63 - 1], [1, 1, 1], ["nonoverlap", "nonoverlap"],
        [16, 16, 32], {}, {"type": "yarn"}, {"type": "rope", "theta": 0}, {"run": 1},
        {"checkpoint": special["binary"]}, {"hf": special["dir"]},
    ]


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, prefix + (i,))


def get(node, path):
    for p in path:
        node = node[p]
    return node


def mutate_tree(cfg, rng, values):
    cfg = copy.deepcopy(cfg)
    pick = lambda: copy.deepcopy(rng.choice(values))  # never share a container between configs
    for _ in range(rng.randint(1, 4)):
        all_paths = [p for p in paths(cfg) if p]
        if not all_paths:
            return pick()
        path = rng.choice(all_paths)
        parent = get(cfg, path[:-1])
        op = rng.random()
        if op < 0.6:
            parent[path[-1]] = pick()
        elif op < 0.75 and isinstance(parent, dict):
            del parent[path[-1]]
        elif op < 0.9 and isinstance(parent, dict):
            parent[rng.choice(["extra", "lenghts", "seq_len", "type", "steps", "_given"])] = pick()
        else:
            parent[path[-1]] = {"nested": parent[path[-1]]}
    return cfg


def to_text(cfg, rng):
    text = json.dumps(cfg, allow_nan=True)  # NaN / Infinity: not JSON, must be refused
    op = rng.random()
    if op < 0.05 and len(text) > 2:
        text = text[: rng.randint(0, len(text) - 1)]  # cut
    elif op < 0.10:
        i = rng.randint(0, len(text))
        text = text[:i] + rng.choice(["}", "{", ",", '"', "1e999", "\\", "\x00", "\xff"]) + text[i:]
    elif op < 0.15 and text.startswith("{"):
        text = '{"seed": 1, "seed": 2, ' + text[1:]  # a repeated key
    elif op < 0.18:
        text = "[" * rng.randint(60, 400) + "]" * rng.randint(0, 400)
    return text


def main():
    out, n, seed, special_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    seeds = [json.load(open(p)) for p in sys.argv[5:]]
    special = {k: os.path.join(special_dir, k) for k in ["fifo", "dir", "binary", "tiny", "empty"]}
    values = hostile_values(special)
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        text = to_text(mutate_tree(rng.choice(seeds), rng, values), rng)
        with open(os.path.join(out, "cfg-%05d.json" % i), "w", encoding="utf-8", errors="surrogatepass") as f:
            f.write(text)


if __name__ == "__main__":
    main()
