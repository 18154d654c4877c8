#!/usr/bin/env python3
"""Fidelity fixtures: the authors' reference code, run on fixed inputs, for tests/*/test_fidelity*.

What it writes (one JSON file per method under --out, plus report.json):
  clex.json        CLEX ODE (DAMO-NLP-SG/CLEX, CLEX/clex_layer.py) solved by torchdiffeq's fixed-step
                   rk4 (step 0.01) for random weights: z(t), t = 1..16, on the inference grid and on
                   the training grid [1, t]; and the training positions that the layer's forward
                   draws (t and ids), as statistics of many draws.
  cream.json       CREAM's src/train.py::CREAM (bigai-nlco/CREAM) ids, layouts, scales, text offsets.
  pose.json        PoSE's src/train_pose.py::train_preprocess_function_pose (dwzhu-pku/PoSE).
  randpos.json     randomized positions: google-deepmind/randomized_positional_encodings
                   models/positional_encodings.py::noisy_fixed_positional_encodings (JAX), and the
                   RandPos baselines of PoSE (train_preprocess_function_randomized) and CREAM (RandPos).
  e2llm.json       E2-LLM has no released code: METHODS.md §4 (Eq. 5-7) transcribed below.
  irpe.json        microsoft/Cream iRPE/DeiT-with-iRPE/irpe.py: piecewise_index buckets and the iRPE
                   module (bias and contextual, on q and k) in 1-D (height 1, width L).
  shortformer.json a PIA forward with a cache, written from the paper and ofirpress/shortformer commit
                   aa6786f (fairseq/modules/transformer_layer.py, sinusoidal_positional_embedding.py),
                   for small random weights; and the staged schedule of the README's commands.

Their code is never copied into this repository: --ref names a folder holding the files above (laid
out as <ref>/clex/clex_layer.py, <ref>/cream/train.py, <ref>/pose/train_pose.py,
<ref>/randpos/positional_encodings.py, <ref>/irpe/irpe.py). Functions are taken out of those files
with `ast` and run unchanged; only imports they do not need are stubbed (wandb, haiku, easydict), and
Python 3.12's `random.randint` gets the float arguments that CREAM passes converted as Python <= 3.9
did. Sampler statistics are per-example histograms (mean and standard deviation of each bin over the
examples), so a test can compare its own draws by a two-sample z score per bin.

Regenerate (GPU machine's Python: torch 2.11, torchdiffeq 0.2.5, numpy, scipy, jax):
  python3 tools/make_fidelity_fixtures.py --ref .refcode --out tests/fixtures/fidelity
"""
import argparse
import ast
import hashlib
import json
import math
import os
import random
import sys
import time
import traceback
import types

REPORT = {"sections": {}, "versions": {}}


def log(*a):
    print(*a, flush=True)


# ---------------------------------------------------------------------------------------------
# helpers


def r9(x):
    """A float rounded to 9 significant digits (exact for float32 values)."""
    return float("%.9g" % float(x))


def flat9(a):
    import numpy as np

    return [r9(v) for v in np.asarray(a, dtype=np.float64).ravel().tolist()]


def file_sha(path):
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


def load_function(path, name, env):
    """Compiles function `name` of the Python file `path` into the namespace `env` and returns it,
    with the line range it came from (for the fixture's provenance)."""
    src = open(path).read()
    tree = ast.parse(src)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            mod = ast.Module(body=[node], type_ignores=[])
            exec(compile(mod, path, "exec"), env)
            return env[name], {"file": os.path.basename(path), "sha1": file_sha(path),
                               "lines": [node.lineno, node.end_lineno]}
    raise KeyError(f"{name} not in {path}")


class Py39Random:
    """The `random` module as CREAM's code ran it (Python 3.9): randint accepts integral floats
    (numpy or Python) and raises on non-integral ones. Every randint call can be logged."""

    def __init__(self, seed):
        self.r = random.Random(seed)
        self.calls = []

    @staticmethod
    def _int(x):
        i = int(x)
        if i != x:
            raise ValueError(f"non-integer arg {x} for randrange()")
        return i

    def randint(self, a, b):
        v = self.r.randint(self._int(a), self._int(b))
        self.calls.append(v)
        return v

    def sample(self, population, k):
        return self.r.sample(population, k)

    def random(self):
        return self.r.random()


class PerExample:
    """Per-example histograms: add(values) per example; mean and sd of each bin's fraction."""

    def __init__(self, edges):
        self.edges = list(edges)
        self.rows = []

    def add(self, values):
        import numpy as np

        v = np.asarray(values, dtype=np.float64)
        c, _ = np.histogram(v, bins=self.edges)
        self.rows.append(c / max(len(v), 1))

    def stats(self):
        import numpy as np

        m = np.asarray(self.rows)
        return {"edges": [r9(e) for e in self.edges], "n": int(m.shape[0]),
                "mean": flat9(m.mean(0)), "sd": flat9(m.std(0, ddof=1))}


def counts(values, lo, hi):
    """Counts of the integers lo..hi (values outside are an error)."""
    c = [0] * (hi - lo + 1)
    for v in values:
        v = int(v)
        if not lo <= v <= hi:
            raise ValueError(f"{v} outside [{lo}, {hi}]")
        c[v - lo] += 1
    return {"lo": lo, "hi": hi, "counts": c, "n": len(values)}


def section(name):
    def deco(fn):
        def run(args):
            t0 = time.time()
            try:
                out = fn(args)
                path = os.path.join(args.out, name + ".json")
                with open(path, "w") as f:
                    json.dump(out, f, separators=(",", ":"))
                REPORT["sections"][name] = {"ok": True, "seconds": round(time.time() - t0, 1),
                                            "bytes": os.path.getsize(path),
                                            "summary": out.get("summary", {})}
                log(f"[ok] {name} ({os.path.getsize(path)} bytes, {time.time() - t0:.1f} s)")
            except Exception as e:  # a failed section must not cost the others
                REPORT["sections"][name] = {"ok": False, "error": repr(e),
                                            "trace": traceback.format_exc()[-3000:]}
                log(f"[FAILED] {name}: {e!r}\n{traceback.format_exc()}")
        run.section_name = name
        return run
    return deco


def stub_module(name, **attrs):
    m = types.ModuleType(name)
    for k, v in attrs.items():
        setattr(m, k, v)
    sys.modules.setdefault(name, m)
    return m


# ---------------------------------------------------------------------------------------------
# CLEX


def import_clex(ref):
    stub_module("wandb")  # imported by clex_layer.py, never used by the ODE or the positions
    sys.path.insert(0, os.path.join(ref, "clex"))
    import clex_layer  # noqa: E402  (DAMO-NLP-SG/CLEX CLEX/clex_layer.py)

    return clex_layer


class TorchProxy:
    """`torch` as clex_layer.py sees it, with torch.outer recording its first argument (the
    positions of the t = 1 branch of CLEXScalingRotaryEmbedding.forward)."""

    def __init__(self, torch, sink):
        self._torch, self._sink = torch, sink

    def __getattr__(self, k):
        return getattr(self._torch, k)

    def outer(self, a, b):
        self._sink.append((1, a.detach().clone()))
        return self._torch.outer(a, b)


@section("clex")
def make_clex(args):
    import numpy as np
    import torch
    import torchdiffeq

    REPORT["versions"]["torchdiffeq"] = getattr(torchdiffeq, "__version__", "?")
    clex_layer = import_clex(args.ref)
    src = os.path.join(args.ref, "clex", "clex_layer.py")
    out = {"source": {"repo": "DAMO-NLP-SG/CLEX", "file": "CLEX/clex_layer.py", "sha1": file_sha(src),
                      "classes": ["ODELinear", "CLEXScalingRotaryEmbedding"]},
           "ode": [], "positions": [], "summary": {}}
    max_t = 16
    cases = [
        {"name": "tanh_d32", "dim": 32, "param_factor": 1, "act": "tanh", "base": 10000.0, "down_sd": 0.01, "seed": 1},
        {"name": "silu_d16_l2", "dim": 16, "param_factor": 2, "act": "silu", "base": 500000.0, "down_sd": 0.003, "seed": 2},
        {"name": "untrained_d16", "dim": 16, "param_factor": 1, "act": "tanh", "base": 10000.0, "down_sd": 0.0, "seed": 3},
    ]
    for c in cases:
        torch.manual_seed(c["seed"])
        rope = clex_layer.CLEXScalingRotaryEmbedding(
            c["dim"], max_position_embeddings=128,
            rope_scaling={"max_factor": max_t, "param_factor": c["param_factor"], "act": c["act"], "time_dt": 0.01},
            base=c["base"], device="cpu")
        f = rope.proj_func
        with torch.no_grad():  # weights as float32 values that survive the JSON round trip
            f.ode_down_proj.copy_(torch.randn(f.ode_down_proj.shape) * c["down_sd"])
            f.ode_up_proj.copy_(torch.tensor([r9(v) for v in f.ode_up_proj.flatten().tolist()]).view_as(f.ode_up_proj))
            f.ode_down_proj.copy_(torch.tensor([r9(v) for v in f.ode_down_proj.flatten().tolist()]).view_as(f.ode_down_proj))
        with torch.no_grad():
            # Inference path: one odeint over the grid 1..max_t (get_continuous_freq, freq_cached).
            grid = torch.arange(1.0, max_t + 1.0, dtype=torch.float32)
            freq = rope.get_continuous_freq(grid, None, "cpu")  # exp(solution), [max_t, d/2]
            # Training path: odeint over [1, t] for each t (forward with do_train); t = 1 is the
            # initial value (the layer uses inv_freq itself there).
            train_ts = list(range(1, max_t + 1))
            train = [rope.inv_freq.float().tolist()]
            for t in train_ts[1:]:
                sol = torchdiffeq.odeint(rope.proj_func, torch.log(rope.inv_freq.float()),
                                         torch.tensor([1.0, float(t)]), **rope.ode_args)
                train.append(torch.exp(sol[1]).tolist())
            # What torchdiffeq's step-size grid is for [1, max_t] (step 0.01): number of points.
            niters = torch.ceil((grid[-1] - grid[0]) / 0.01 + 1).item()
        z_inf = np.log(freq.double().numpy())
        z_tr = np.log(np.asarray(train, dtype=np.float64))
        z_inf_at = z_inf[[t - 1 for t in train_ts]]
        ntk = []
        d = c["dim"]
        for t in range(1, max_t + 1):
            a = 1.0 if t < 1 else 2.0 * t - 1.0
            b = c["base"] * a ** (d / (d - 2))
            ntk.append([-(2 * j / d) * math.log(b) for j in range(d // 2)])
        out["ode"].append({
            "name": c["name"], "dim": d, "param_factor": c["param_factor"], "act": c["act"],
            "base": c["base"], "time_dt": 0.01, "max_t": max_t,
            "up_shape": list(f.ode_up_proj.shape), "up": flat9(f.ode_up_proj.detach().numpy()),
            "down_shape": list(f.ode_down_proj.shape), "down": flat9(f.ode_down_proj.detach().numpy()),
            "z_inference_grid": flat9(z_inf), "training_grid_t": train_ts, "z_training_grid": flat9(z_tr),
            "torchdiffeq_grid_points_1_to_16": int(niters),
            "max_abs_z_minus_ntk": r9(np.abs(z_inf - np.asarray(ntk)).max()),
            "max_abs_inference_minus_training_grid": r9(np.abs(z_inf_at - z_tr).max()),
        })
        out["summary"][c["name"]] = {"z_range": [r9(z_inf.min()), r9(z_inf.max())],
                                     "inference_vs_training_grid": r9(np.abs(z_inf_at - z_tr).max()),
                                     "z_minus_ntk": r9(np.abs(z_inf - np.asarray(ntk)).max())}

    # Training positions: CLEXScalingRotaryEmbedding.forward(do_train=True) draws t and the ids;
    # record them (get_continuous_freq stubbed: the ODE is not needed for the ids).
    for pc in [{"name": "L128_L0_128_t8", "L": 128, "L0": 128, "max_t": 8, "n": args.draws},
               {"name": "L384_L0_128_t4", "L": 384, "L0": 128, "max_t": 4, "n": args.draws // 4}]:
        torch.manual_seed(100)
        rope = clex_layer.CLEXScalingRotaryEmbedding(
            16, max_position_embeddings=pc["L0"],
            rope_scaling={"max_factor": pc["max_t"], "param_factor": 1, "act": "tanh", "time_dt": 0.01},
            base=10000.0, device="cpu")
        sink = []

        def fake_freq(time_grid, ex_positions, device, sink=sink, dim=16):
            sink.append((int(round(float(time_grid[1]))), ex_positions.detach().clone()))
            return torch.zeros(ex_positions.numel(), dim)

        rope.get_continuous_freq = fake_freq
        saved_torch = clex_layer.torch
        clex_layer.torch = TorchProxy(torch, sink)
        try:
            x = torch.zeros(1, 1, pc["L"], 16)
            for _ in range(pc["n"]):
                rope.forward(x, pc["L"], do_train=True)
        finally:
            clex_layer.torch = saved_torch
        L, L0, mt = pc["L"], pc["L0"], pc["max_t"]
        s = max(1, L // L0)
        ts, norm, gaps = [], PerExample([i / 16 for i in range(17)]), PerExample(
            [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 8.5, 12.5, 16.5, 32.5, 1e9])
        per_t = {}
        for t, pos in sink:
            p = pos.double().numpy()
            ts.append(t)
            span = L * t // s  # ids lie in [0, span)
            norm.add(p / span)
            gaps.add(np.diff(p) * s)
            e = per_t.setdefault(t, {"first": [], "last": [], "min_drawn": 1e18, "max_drawn": -1e18, "n": 0})
            e["first"].append(p[0])
            e["last"].append(p[-1])
            e["min_drawn"] = min(e["min_drawn"], p[1])
            e["max_drawn"] = max(e["max_drawn"], p[1:-1].max())
            e["n"] += 1
        out["positions"].append({
            "name": pc["name"], "L": L, "L0": L0, "max_t": mt, "s": s,
            "t": counts(ts, 1, mt), "normalized_ids": norm.stats(), "gaps_times_s": gaps.stats(),
            "per_t": {str(t): {"n": e["n"], "first": sorted(set(e["first"])), "last": sorted(set(e["last"])),
                               "min_drawn": r9(e["min_drawn"]), "max_drawn": r9(e["max_drawn"])}
                      for t, e in sorted(per_t.items())},
        })
        out["summary"][pc["name"]] = {"t_counts": counts(ts, 1, mt)["counts"]}
    return out


# ---------------------------------------------------------------------------------------------
# CREAM


@section("cream")
def make_cream(args):
    import numpy as np
    import scipy.special as sp
    import torch

    path = os.path.join(args.ref, "cream", "train.py")
    rnd = Py39Random(7)
    interp_out = []

    class NpProxy:  # numpy as CREAM sees it, recording np.interp's result (the scale r before int)
        def __getattr__(self, k):
            return getattr(np, k)

        @staticmethod
        def interp(*a, **k):
            v = np.interp(*a, **k)
            interp_out.append(float(v))
            return v

    np.random.seed(7)
    env = {"random": rnd, "torch": torch, "np": NpProxy(), "sp": sp}
    cream, prov = load_function(path, "CREAM", env)
    N, k, sigma, doc_len = 128, 4, 3.0, 512
    doc = list(range(doc_len))
    layouts = {}
    ids_all = PerExample([i * k * N / 16 for i in range(17)])
    coins = []
    per_call = 10  # examples per call: the code draws its layout coin once per call (per map batch)
    for i in range(args.draws * 2 // per_call):
        rnd.calls.clear()
        res = cream({"input_ids": [doc] * per_call}, scaled_max_position_embeddings=k * N,
                    model_max_position_embeddings=N, sigma=sigma)
        coin, end_ids = rnd.calls[0], rnd.calls[1:]  # random.randint(0, 1), then each middle's last id
        head = N // 3 if coin == 0 else 4 * k
        m = N - 2 * head
        coins.append(head)
        for j in range(per_call):
            pos = res["position_ids"][j]
            inp = res["input_ids"][j]
            assert pos[head + m - 1] == end_ids[j] and pos[-1] == k * N - 1
            e = layouts.setdefault(head, {"r": [], "e": [], "mid_first_id": [], "mid_text": [],
                                          "ids": PerExample([q * k * N / 16 for q in range(17)])})
            e["r"].append(int(np.asarray(interp_out[-per_call + j]).astype(int)))
            e["e"].append(end_ids[j])
            e["mid_first_id"].append(pos[head])
            e["mid_text"].append(inp[head])
            e["ids"].add(pos)
            ids_all.add(pos)
    out = {"source": {"repo": "bigai-nlco/CREAM", **prov, "function": "CREAM"},
           "params": {"N": N, "factor": k, "sigma": sigma, "doc_len": doc_len,
                      "examples_per_call": per_call,
                      "coin": "once per call, as the code does once per datasets.map batch (3000 there)"},
           "coins": {"heads": sorted(set(coins)), "counts": [coins.count(h) for h in sorted(set(coins))]},
           "ids": ids_all.stats(), "layouts": [], "summary": {}}
    for head, e in sorted(layouts.items()):
        out["layouts"].append({
            "head": head, "n": len(e["r"]),
            "r": counts(e["r"], 2, 2 * k),
            "e": PerExampleScalar(e["e"], [j * k * N / 16 for j in range(17)]),
            "mid_first_id": PerExampleScalar(e["mid_first_id"], [j * k * N / 16 for j in range(17)]),
            "mid_text": PerExampleScalar(e["mid_text"], [j * doc_len / 16 for j in range(17)]),
            "ids": e["ids"].stats(),
            "e_min": int(min(e["e"])), "e_max": int(max(e["e"])),
        })
        out["summary"]["head_%d" % head] = {"n": len(e["r"]), "r": counts(e["r"], 2, 2 * k)["counts"]}
    return out


def PerExampleScalar(values, edges):
    """One value per example: a categorical histogram of counts over the bins."""
    import numpy as np

    c, _ = np.histogram(np.asarray(values, dtype=np.float64), bins=edges)
    return {"edges": [r9(e) for e in edges], "n": len(values), "counts": [int(v) for v in c]}


# ---------------------------------------------------------------------------------------------
# PoSE


class FakeTokenizer:
    """What the preprocess functions call: tokenizer(texts, padding, truncation, max_length) with
    ["input_ids"]. A text here is a document length; its tokens are 0..len-1."""

    def __call__(self, texts, padding=False, truncation=True, max_length=None):
        ids = [list(range(min(int(t), max_length) if truncation else int(t))) for t in texts]
        return {"input_ids": ids}


@section("pose")
def make_pose(args):
    import torch

    path = os.path.join(args.ref, "pose", "train_pose.py")
    rnd = Py39Random(11)
    fn, prov = load_function(path, "train_preprocess_function_pose", {"random": rnd, "torch": torch})
    Lc, Lt, doc_len = 128, 512, 1000
    l0, u, v = [], [], []
    ids = PerExample([i * Lt / 16 for i in range(17)])
    batch = 500
    for _ in range(args.draws // batch):
        rnd.calls.clear()
        res = fn({"text": [doc_len] * batch}, FakeTokenizer(), Lt, Lc)
        calls = rnd.calls
        assert len(calls) == 3 * batch
        for i in range(batch):
            rt1, rt2, rt = calls[3 * i: 3 * i + 3]
            pos = res["position_ids"][i].tolist()
            inp = res["input_ids"][i]
            assert pos[rt1] == rt1 + rt and inp[rt1] == rt2 - (Lc - rt1)
            l0.append(rt1)
            u.append(rt)
            v.append(rt2 - Lc)
            ids.add(pos)
    usable = min(doc_len, 5 * Lc)
    return {"source": {"repo": "dwzhu-pku/PoSE", **prov},
            "params": {"Lc": Lc, "Lt": Lt, "doc_len": doc_len, "truncate": 5, "usable": usable},
            "l0": counts(l0, 1, (Lc + 1) // 2),
            "u": PerExampleScalar(u, [i * (Lt - Lc + 1) / 16 for i in range(17)]),
            "v": PerExampleScalar(v, [i * (usable - Lc + 1) / 16 for i in range(17)]),
            "ids": ids.stats(),
            "u_range": [min(u), max(u)], "v_range": [min(v), max(v)],
            "summary": {"n": len(l0), "u_range": [min(u), max(u)], "v_range": [min(v), max(v)]}}


# ---------------------------------------------------------------------------------------------
# Randomized positions


def randpos_stats(samples, n, lmax):
    import numpy as np

    ids = PerExample([i * lmax / 16 for i in range(17)])
    gaps = PerExample([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 12.5, 16.5, 32.5, 1e9])
    first, last = [], []
    for p in samples:
        p = np.asarray(p, dtype=np.float64)
        assert len(p) == n and np.all(np.diff(p) > 0) and p[0] >= 0 and p[-1] < lmax
        ids.add(p)
        gaps.add(np.diff(p))
        first.append(p[0])
        last.append(p[-1])
    return {"n": len(first), "ids": ids.stats(), "gaps": gaps.stats(),
            "first": {"mean": r9(np.mean(first)), "sd": r9(np.std(first, ddof=1))},
            "last": {"mean": r9(np.mean(last)), "sd": r9(np.std(last, ddof=1))}}


@section("randpos")
def make_randpos(args):
    import torch

    n, lmax = 128, 512
    out = {"params": {"n": n, "Lmax": lmax}, "references": [], "summary": {}}
    # 1. google-deepmind: noisy_fixed_positional_encodings (JAX), rng passed explicitly.
    try:
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        import jax
        import jax.numpy as jnp

        stub_module("haiku", next_rng_key=None)  # module-level import; unused when rng is given
        sys.path.insert(0, os.path.join(args.ref, "randpos"))
        import positional_encodings as pe  # noqa: E402

        REPORT["versions"]["jax"] = jax.__version__
        table = jnp.arange(lmax)[:, None]  # the "encodings" are the positions themselves
        keys = jax.random.split(jax.random.PRNGKey(3), args.draws)
        f = jax.jit(jax.vmap(lambda key: pe.noisy_fixed_positional_encodings(table, n, rng=key)[:, 0]))
        samples = [list(map(int, row)) for row in f(keys).tolist()]
        st = randpos_stats(samples, n, lmax)
        path = os.path.join(args.ref, "randpos", "positional_encodings.py")
        st["source"] = {"repo": "google-deepmind/randomized_positional_encodings",
                        "file": "models/positional_encodings.py", "sha1": file_sha(path),
                        "function": "noisy_fixed_positional_encodings"}
        out["references"].append(st)
    except Exception as e:
        out["summary"]["deepmind_error"] = repr(e)
        log("randpos: deepmind reference failed:", repr(e))
        # Transcription of noisy_fixed_positional_encodings (models/positional_encodings.py,
        # lines 196-226): jrandom.choice(arange(noise_max_length), (n,), replace=False), sorted.
        import numpy as np

        g = np.random.default_rng(3)
        samples = [np.sort(g.choice(lmax, n, replace=False)).tolist() for _ in range(args.draws)]
        st = randpos_stats(samples, n, lmax)
        st["source"] = {"repo": "google-deepmind/randomized_positional_encodings (transcribed to numpy)",
                        "file": "models/positional_encodings.py", "function": "noisy_fixed_positional_encodings"}
        out["references"].append(st)
    # 2. PoSE's and 3. CREAM's RandPos baselines (random.sample of the range, sorted).
    for repo, file, name in [("dwzhu-pku/PoSE", "pose/train_pose.py", "train_preprocess_function_randomized"),
                             ("bigai-nlco/CREAM", "cream/train.py", "RandPos")]:
        path = os.path.join(args.ref, file)
        rnd = Py39Random(5)
        fn, prov = load_function(path, name, {"random": rnd, "torch": torch})
        samples = []
        batch = 1000
        for _ in range(args.draws // batch):
            texts = {"text": [n + 50] * batch}
            if name == "RandPos":
                res = fn(texts, tokenizer=FakeTokenizer(), scaled_max_position_embeddings=lmax,
                         model_max_position_embeddings=n)
            else:
                res = fn(texts, FakeTokenizer(), lmax, n)
            samples += [p.tolist() for p in res["position_ids"]]
        st = randpos_stats(samples, n, lmax)
        st["source"] = {"repo": repo, **prov}
        out["references"].append(st)
    out["summary"]["references"] = [r["source"]["repo"] for r in out["references"]]
    return out


# ---------------------------------------------------------------------------------------------
# E2-LLM (no released code): METHODS.md §4, Eq. 5-7


@section("e2llm")
def make_e2llm(args):
    import numpy as np

    R, L, g_max, n_sink = 128, 128, 8, 4
    rng = random.Random(17)
    gs, tfrac = [], []
    ids = PerExample([i * L / 16 for i in range(17)])
    examples = []
    for it in range(args.draws):
        g = rng.randint(1, g_max)  # Eq. 6: g ~ U(G), G = {1, ..., g_max}
        t_max = g * L - R  # Eq. 7: largest interpolated window minus the training window
        t = rng.randint(0, max(t_max, 0))
        raw = list(range(n_sink)) + [m + t for m in range(n_sink, R)]  # sinks keep offset 0
        pos = [p / g for p in raw]  # Eq. 5: RoPE at (m + t) / g
        gs.append(g)
        if t_max > 0:
            tfrac.append(t / (t_max + 1))
        ids.add(pos)
        if it < 6:
            examples.append({"g": g, "t": t, "ids": [r9(p) for p in pos]})
    return {"source": {"paper": "arXiv 2401.06951 v3, Eq. 5-7 (METHODS.md section 4); no code released"},
            "params": {"R": R, "L": L, "g_max": g_max, "n_sink": n_sink},
            "g": counts(gs, 1, g_max), "t_fraction": PerExampleScalar(tfrac, [i / 10 for i in range(11)]),
            "ids": ids.stats(), "examples": examples,
            "max_scaled_id": r9(max(((R - 1 + g * L - R) / g) for g in range(1, g_max + 1))),
            "summary": {"n": len(gs)}}


# ---------------------------------------------------------------------------------------------
# iRPE


@section("irpe")
def make_irpe(args):
    import numpy as np
    import torch

    class EasyDict(dict):
        __getattr__ = dict.__getitem__

        def __setattr__(self, k, v):
            self[k] = v

    stub_module("easydict", EasyDict=EasyDict)
    sys.path.insert(0, os.path.join(args.ref, "irpe"))
    import irpe as ref  # noqa: E402  (microsoft/Cream iRPE/DeiT-with-iRPE/irpe.py)

    path = os.path.join(args.ref, "irpe", "irpe.py")
    out = {"source": {"repo": "microsoft/Cream", "file": "iRPE/DeiT-with-iRPE/irpe.py", "sha1": file_sha(path)},
           "buckets": [], "float_buckets": [], "signed": None, "modes": [], "summary": {}}
    configs = [(1.9, 3.8, 15.2), (2.0, 4.0, 16.0), (16.0, 32.0, 128.0), (8.0, 16.0, 64.0),
               (3.0, 7.5, 40.0), (2.5, 5.0, 20.0), (1.0, 2.0, 8.0), (4.0, 12.0, 500.0)]
    dmax = 5000
    for a, b, g in configs:
        d = torch.arange(0, dmax + 1, dtype=torch.long)
        idx = ref.piecewise_index(d, alpha=a, beta=b, gamma=g, dtype=torch.long).tolist()
        runs = [[0, idx[0]]]
        for i in range(1, len(idx)):
            if idx[i] != runs[-1][1]:
                runs.append([i, idx[i]])
        out["buckets"].append({"alpha": a, "beta": b, "gamma": g, "dmax": dmax, "runs": runs,
                               "num_buckets_signed": ref.get_num_buckets(ref.METHOD.CROSS_COLS, a, b, g)})
        # Fractional distances (float input: rounded inside alpha, float32 arithmetic).
        gen = torch.Generator().manual_seed(int(a * 100 + b))
        xf = torch.cat([torch.arange(0, 64, 0.25), torch.rand(400, generator=gen) * 4 * g,
                        torch.arange(0, 20, 0.5) + 0.5]).float()
        fi = ref.piecewise_index(xf, alpha=a, beta=b, gamma=g, dtype=torch.long).tolist()
        out["float_buckets"].append({"alpha": a, "beta": b, "gamma": g, "x": flat9(xf.numpy()), "bucket": fi})
    xs = torch.arange(-300, 301, dtype=torch.long)
    out["signed"] = {"alpha": 1.9, "beta": 3.8, "gamma": 15.2, "x": xs.tolist(),
                     "bucket": ref.piecewise_index(xs, alpha=1.9, beta=3.8, gamma=15.2, dtype=torch.long).tolist()}

    # The iRPE module in 1-D: method CROSS_COLS on a 1 x L "image" (offset = col_i - col_j).
    torch.manual_seed(21)
    B, H, Dh = 2, 2, 8
    for (a, b, g, L, shared) in [(1.9, 3.8, 15.2, 20, True), (2.0, 4.0, 8.0, 12, False)]:
        cfg = ref.get_rpe_config(ratio=1.0, method="cross", mode="contextual", shared_head=shared, rpe_on="qk")
        for key in ("rpe_q", "rpe_k"):
            cfg[key]["alpha"], cfg[key]["beta"], cfg[key]["gamma"] = a, b, g
            cfg[key]["num_buckets"] = ref.get_num_buckets(ref.METHOD.CROSS_COLS, a, b, g)
            cfg[key]["method"] = ref.METHOD.CROSS_COLS
        rq, rk, _ = ref.build_rpe(cfg, head_dim=Dh, num_heads=H)
        with torch.no_grad():
            for m in (rq, rk):
                m.lookup_table_weight.copy_(torch.tensor(
                    [r9(v) for v in torch.randn(m.lookup_table_weight.shape).flatten().tolist()]).view_as(m.lookup_table_weight))
        q = torch.tensor([r9(v) for v in torch.randn(B * H * L * Dh).tolist()]).view(B, H, L, Dh)
        k = torch.tensor([r9(v) for v in torch.randn(B * H * L * Dh).tolist()]).view(B, H, L, Dh)
        scale = Dh ** -0.5
        with torch.no_grad():
            # DeiT-with-iRPE rpe_vision_transformer.py Attention: q *= scale; attn += rpe_k(q);
            # attn += rpe_q(k * scale).transpose(2, 3).
            term_k = rk(q * scale, height=1, width=L)
            term_q = rq(k * scale, height=1, width=L).transpose(2, 3)
        # Bias mode on keys: one scalar per bucket (and head).
        bcfg = ref.get_rpe_config(ratio=1.0, method="cross", mode="bias", shared_head=False, rpe_on="k")
        bcfg.rpe_k["alpha"], bcfg.rpe_k["beta"], bcfg.rpe_k["gamma"] = a, b, g
        bcfg.rpe_k["num_buckets"] = ref.get_num_buckets(ref.METHOD.CROSS_COLS, a, b, g)
        bcfg.rpe_k["method"] = ref.METHOD.CROSS_COLS
        _, rb, _ = ref.build_rpe(bcfg, head_dim=Dh, num_heads=H)
        with torch.no_grad():
            rb.lookup_table_bias.copy_(torch.tensor(
                [r9(v) for v in torch.randn(rb.lookup_table_bias.shape).flatten().tolist()]).view_as(rb.lookup_table_bias))
            term_b = rb(q * scale, height=1, width=L)
        out["modes"].append({
            "alpha": a, "beta": b, "gamma": g, "L": L, "B": B, "H": H, "head_dim": Dh, "shared": shared,
            "beta_int": int(b), "q": flat9(q.numpy()), "k": flat9(k.numpy()),
            "table_k_shape": list(rk.lookup_table_weight.shape), "table_k": flat9(rk.lookup_table_weight.detach().numpy()),
            "table_q_shape": list(rq.lookup_table_weight.shape), "table_q": flat9(rq.lookup_table_weight.detach().numpy()),
            "table_bias_shape": list(rb.lookup_table_bias.shape), "table_bias": flat9(rb.lookup_table_bias.detach().numpy()),
            "term_k": flat9(term_k.numpy()), "term_q": flat9(term_q.numpy()), "term_bias": flat9(term_b.numpy()),
        })
    out["summary"] = {"configs": len(configs), "modes": len(out["modes"])}
    return out


# ---------------------------------------------------------------------------------------------
# Shortformer: PIA with a cache


def fairseq_sinusoids(num, dim, padding_idx):
    """fairseq/modules/sinusoidal_positional_embedding.py get_embedding (commit aa6786f)."""
    import torch

    half_dim = dim // 2
    emb = math.log(10000) / (half_dim - 1)
    emb = torch.exp(torch.arange(half_dim, dtype=torch.float) * -emb)
    emb = torch.arange(num, dtype=torch.float).unsqueeze(1) * emb.unsqueeze(0)
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=1).view(num, -1)
    if dim % 2 == 1:
        emb = torch.cat([emb, torch.zeros(num, 1)], dim=1)
    if padding_idx is not None:
        emb[padding_idx, :] = 0
    return emb


def pia_reference(w, cfg, windows, padding_idx):
    """Consecutive windows through a pre-LN decoder whose layers follow the Shortformer commit's
    TransformerDecoderLayer.forward (training branch, tokens_from_prev = L): x = LN(x);
    y = cat(prev_out[-tfp:], x); prev_out = y.detach(); pos_key = positions[:len(y)];
    pos_query = positions[len(y) - len(x):len(y)]; attention(query = x + pos_query,
    key = y + pos_key, value = y) with the cache columns unmasked; positions are window-relative,
    fairseq's make_positions (first id padding_idx + 1; 0 when padding_idx is None). The rest of
    the block (no projection biases, GELU MLP, tied head, final LN) is the workbench's GPT block, so
    that the same weights can be loaded on both sides."""
    import torch
    import torch.nn.functional as F

    d, H, layers = cfg["d_model"], cfg["heads"], cfg["layers"]
    Dh = d // H
    T = windows[0].shape[1]
    first = 0 if padding_idx is None else padding_idx + 1
    table = fairseq_sinusoids(first + 4 * T + 8, d, padding_idx)
    positions = table[first: first + 2 * T]  # window-relative ids 0..2T-1
    prev = [None] * layers
    outs = []
    for x_tok in windows:
        x = w["tok.weight"][x_tok]  # [B, T, d]; no positions in the residual stream
        Bsz = x.shape[0]
        for l in range(layers):
            p = f"blocks.{l}."
            residual = x
            x = F.layer_norm(x, (d,), w[p + "ln1.weight"], w[p + "ln1.bias"], 1e-5)
            y = x
            mask = torch.triu(torch.full((T, T), float("-inf")), 1)
            if prev[l] is not None:
                y = torch.cat([prev[l][:, -T:], y], 1)
                mask = torch.cat([torch.zeros(T, T), mask], 1)
            prev[l] = y.detach().clone()
            pos_key = positions[: y.shape[1]]
            pos_query = positions[y.shape[1] - x.shape[1]: y.shape[1]]
            wq, wk, wv = w[p + "wqkv.weight"].chunk(3, 0)
            q = (x + pos_query) @ wq.t()
            k = (y + pos_key) @ wk.t()
            v = y @ wv.t()
            sh = lambda t: t.view(Bsz, -1, H, Dh).transpose(1, 2)
            q, k, v = sh(q), sh(k), sh(v)
            att = (q * Dh ** -0.5) @ k.transpose(-1, -2) + mask
            a = torch.softmax(att, -1) @ v
            x = residual + a.transpose(1, 2).reshape(Bsz, T, d) @ w[p + "wo.weight"].t()
            h = F.layer_norm(x, (d,), w[p + "ln2.weight"], w[p + "ln2.bias"], 1e-5)
            x = x + F.gelu(h @ w[p + "up.weight"].t()) @ w[p + "down.weight"].t()
        x = F.layer_norm(x, (d,), w["ln_f.weight"], w["ln_f.bias"], 1e-5)
        outs.append(x @ w["tok.weight"].t())
    return outs


@section("shortformer")
def make_shortformer(args):
    import torch

    torch.manual_seed(31)
    cfg = {"vocab": 32, "d_model": 16, "heads": 2, "layers": 2, "ffn_mult": 4, "B": 2, "T": 8, "windows": 3}
    d, V = cfg["d_model"], cfg["vocab"]
    shapes = {"tok.weight": (V, d), "ln_f.weight": (d,), "ln_f.bias": (d,)}
    for l in range(cfg["layers"]):
        p = f"blocks.{l}."
        shapes.update({p + "ln1.weight": (d,), p + "ln1.bias": (d,), p + "ln2.weight": (d,), p + "ln2.bias": (d,),
                       p + "wqkv.weight": (3 * d, d), p + "wo.weight": (d, d),
                       p + "up.weight": (cfg["ffn_mult"] * d, d), p + "down.weight": (d, cfg["ffn_mult"] * d)})
    w = {}
    for name, shp in shapes.items():
        if name.endswith("ln1.weight") or name.endswith("ln2.weight") or name == "ln_f.weight":
            t = 1.0 + 0.1 * torch.randn(shp)
        elif name.endswith(".bias"):
            t = 0.1 * torch.randn(shp)
        else:
            t = 0.4 * torch.randn(shp)
        w[name] = torch.tensor([r9(v) for v in t.flatten().tolist()]).view(shp)
    windows = [torch.randint(0, V, (cfg["B"], cfg["T"])) for _ in range(cfg["windows"])]
    with torch.no_grad():
        fair = pia_reference(w, cfg, windows, padding_idx=1)  # fairseq: first position id 2
        zero = pia_reference(w, cfg, windows, padding_idx=None)  # ids from 0
    out = {"source": {"repo": "ofirpress/shortformer", "commit": "aa6786f84b788cbafd02e0914c57c99517a1a31c",
                      "files": ["fairseq/modules/transformer_layer.py (TransformerDecoderLayer.forward, tokens_from_prev)",
                                "fairseq/modules/sinusoidal_positional_embedding.py (get_embedding, padding offset)",
                                "fairseq/models/transformer.py (positions not added to the embeddings)"]},
           "config": cfg, "weights": {k: {"shape": list(v.shape), "values": flat9(v.numpy())} for k, v in w.items()},
           "tokens": [t.tolist() for t in windows],
           "logits_offset0": [flat9(o.numpy()) for o in zero],
           "logits_fairseq_offset2": [flat9(o.numpy()) for o in fair],
           "offset_changes_logits_by": r9(max((a - b).abs().max().item() for a, b in zip(fair, zero))),
           # README commands (WikiText-103, adaptive-input model): staged training with the cache.
           "schedule": {"stages": [{"tokens_per_sample": 128, "tokens_from_prev": 128, "max_update": 140100},
                                   {"tokens_per_sample": 512, "tokens_from_prev": 512, "max_update": 286000,
                                    "restore_file": "stage 1 checkpoint (optimizer, lr scheduler, update count)"}],
                        "max_tokens": 9216, "rows_per_batch": [9216 // 128, 9216 // 512],
                        "lr_scheduler": {"type": "cosine", "warmup_updates": 16000, "warmup_init_lr": 1e-7,
                                         "max_lr": 1.0, "min_lr_arg_lr": 1e-4, "lr_period_updates": 270000,
                                         "t_mult": 2, "lr_shrink": 0.75},
                        "optimizer": "nag", "clip_norm": 0.1, "curriculum": 1000,
                        "note": "--max-tokens fixes tokens per batch, so rows = 9216 / L change with the stage"},
           "summary": {"offset_changes_logits_by": None}}
    out["summary"]["offset_changes_logits_by"] = out["offset_changes_logits_by"]
    return out


# ---------------------------------------------------------------------------------------------


SECTIONS = [make_e2llm, make_irpe, make_shortformer, make_pose, make_randpos, make_cream, make_clex]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ref", required=True, help="folder with the reference sources (see the docstring)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--draws", type=int, default=20000, help="examples per sampler statistic")
    ap.add_argument("--only", default="", help="comma-separated section names")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    random.seed(0)
    REPORT["versions"]["python"] = sys.version.split()[0]
    for mod in ("numpy", "torch", "scipy"):
        try:
            REPORT["versions"][mod] = __import__(mod).__version__
        except Exception as e:
            REPORT["versions"][mod] = repr(e)
    only = [s for s in args.only.split(",") if s]
    for run in SECTIONS:
        if not only or run.section_name in only:
            run(args)
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(REPORT, f, indent=1)
    ok = sum(1 for s in REPORT["sections"].values() if s["ok"])
    log(f"{ok}/{len(REPORT['sections'])} sections ok")
    log(json.dumps({k: (v["ok"], v.get("summary", v.get("error"))) for k, v in REPORT["sections"].items()}, indent=1)[:6000])


if __name__ == "__main__":
    main()
