#!/usr/bin/env python3
"""Reference fixtures for CtxLab's Hugging Face support, made by the reference libraries themselves
(transformers, tokenizers, sentencepiece, safetensors). CI compares the C++ engine against them on
the CPU; nothing here is needed at run time.

Run on a machine with those packages (the GPU machine has them; no network is needed):
    python3 tools/make_hf_fixtures.py --out tests/fixtures/hf

What it writes under --out:
  models/<name>/            a small random model saved by save_pretrained (config.json,
                            model.safetensors or shards + index), with ids.txt (one sequence per
                            line) and logits-<T>.npy (float32, sequences x T x vocab) computed by
                            transformers in fp32 on the CPU with eager attention.
  models/llama-gqa/variants/<rope>/config.json + logits-<T>.npy: the same weights under other
                            rope scalings (linear, dynamic, yarn, llama3), as transformers computes them.
  tokenizers/<name>/        tokenizer.json (+ tokenizer.model for SentencePiece, tokenizer_config.json)
                            and cases.json: [{"text", "ids", "ids_special", "decoded"}] from the
                            reference library.
  report.json               library versions and what each step did.
Models stay tiny (vocab <= 512, hidden 64, 2 layers) so the fixtures are a few MB."""
import argparse, glob, json, os, random, shutil, sys, traceback

import numpy as np
import torch

REPORT = {"steps": []}

# Strings that exercise what tokenizers get wrong: Unicode letters and marks, digits in runs,
# whitespace runs, CRLF, emoji (with skin tone and ZWJ sequences), contractions, specials inline.
TEST_STRINGS = [
    "Hello world",
    "",
    " ",
    "   leading and trailing spaces   ",
    "a  b   c    d\t\te\t \tf",
    "line one\r\nline two\r\n\r\nline four\n\n\n",
    "Numbers: 1234567890 3.14159 -42 1,000,000 007 x2y3",
    "I'm sure you'll say DON'T and they've we'd it's",
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c5ngstr\u00f6m Stra\u00dfe",
    "e\u0301 (e + combining acute) vs \u00e9 (precomposed)",
    "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! \u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac",
    "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3068\u4e2d\u6587\u53e5\u5b50\u3002\ud55c\uad6d\uc5b4",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 \u05e9\u05dc\u05d5\u05dd",
    "emoji \U0001F44B\U0001F3FD family \U0001F468\u200D\U0001F469\u200D\U0001F467 flag \U0001F1EB\U0001F1F7 \u2764\ufe0f",
    "tabs\tand\u00a0no-break\u2003em-space\u3000ideographic",
    "def f(x):\n    return x ** 2  # square\n",
    "<|begin_of_text|>special inline<|end_of_text|> and <s> </s> <unk>",
    "The pass key is 71432. Remember it. 71432 is the pass key.",
    "     \n\n   \t  ",
    "mixedCASE snake_case kebab-case CONSTANT_CASE 1st 2nd 3rd",
    "\u2581already has the metaspace \u2581 character",
    "zero\u200bwidth\u200cjoiners\u200d and \ufeffBOM",
]


def step(name):
    def wrap(fn):
        def run(*a, **k):
            try:
                out = fn(*a, **k)
                REPORT["steps"].append({"step": name, "ok": True, "info": out})
                print(f"[ok] {name}: {out}", flush=True)
                return out
            except Exception as e:  # keep going: one failed fixture must not cost the others
                REPORT["steps"].append({"step": name, "ok": False, "error": repr(e), "trace": traceback.format_exc()})
                print(f"[FAILED] {name}: {e!r}", flush=True)
                traceback.print_exc()
                return None
        return run
    return wrap


def training_text(repo_root):
    """Text to train the small tokenizers on: the repository's own sources and docs plus the test
    strings' scripts, so merges exist for code, prose, digits and non-Latin letters."""
    parts = []
    for pat in ["README.md", "engine/**/*.cpp", "engine/**/*.h", "tools/*.py", "resources/**/*.json"]:
        for p in sorted(glob.glob(os.path.join(repo_root, pat), recursive=True)):
            with open(p, encoding="utf-8", errors="replace") as f:
                parts.append(f.read())
    parts.extend(TEST_STRINGS * 20)
    return parts


# ----------------------------------------------------------------------------------------------
# Tokenizers

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
               r"\s*[\r\n]+|\s+(?!\S)|\s+")


def tokenizer_cases(tok, strings):
    cases = []
    for s in strings:
        plain = tok.encode(s, add_special_tokens=False)
        special = tok.encode(s, add_special_tokens=True)
        cases.append({"text": s, "ids": plain.ids, "ids_special": special.ids,
                      "tokens": plain.tokens,
                      "decoded": tok.decode(plain.ids, skip_special_tokens=False),
                      "decoded_skip": tok.decode(special.ids, skip_special_tokens=True)})
    return cases


def save_tokenizer_fixture(out, tok, extra_files=None, config=None):
    os.makedirs(out, exist_ok=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_cases(tok, TEST_STRINGS), f, ensure_ascii=False, indent=0)
    if config is not None:
        with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
            json.dump(config, f, indent=2)
    for src, name in (extra_files or []):
        shutil.copy(src, os.path.join(out, name))


def train_bytelevel(texts, regex, vocab, specials, digits=False, nfc=False, use_regex=False):
    from tokenizers import Tokenizer, Regex, models, pre_tokenizers, decoders, trainers, normalizers
    tok = Tokenizer(models.BPE())
    if nfc:
        tok.normalizer = normalizers.NFC()
    if regex is not None:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(regex), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    else:
        seq = [pre_tokenizers.Digits(individual_digits=True)] if digits else []
        seq.append(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=use_regex))
        tok.pre_tokenizer = pre_tokenizers.Sequence(seq)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    return tok


@step("tokenizer bytelevel-llama3")
def make_llama3_tokenizer(out, texts):
    from tokenizers import processors, AddedToken
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>"]
    tok = train_bytelevel(texts, LLAMA3_REGEX, 380, specials)
    # A non-special added token that strips the space on its left, as some chat vocabularies do.
    tok.add_tokens([AddedToken("<tool>", lstrip=True, special=False, normalized=False)])
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                                      special_tokens=[("<|begin_of_text|>", tok.token_to_id("<|begin_of_text|>"))])])
    save_tokenizer_fixture(out, tok, config={"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>",
                                             "model_max_length": 64, "tokenizer_class": "PreTrainedTokenizerFast"})
    return {"vocab": tok.get_vocab_size()}


@step("tokenizer bytelevel-qwen2")
def make_qwen2_tokenizer(out, texts):
    from tokenizers import processors
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = train_bytelevel(texts, QWEN2_REGEX, 360, specials, nfc=True)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    save_tokenizer_fixture(out, tok, config={"bos_token": None, "eos_token": "<|endoftext|>",
                                             "tokenizer_class": "Qwen2Tokenizer"})
    return {"vocab": tok.get_vocab_size()}


@step("tokenizer bytelevel-smollm")
def make_smollm_tokenizer(out, texts):
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = train_bytelevel(texts, None, 350, specials, digits=True, use_regex=True)
    save_tokenizer_fixture(out, tok, config={"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
                                             "tokenizer_class": "GPT2Tokenizer"})
    return {"vocab": tok.get_vocab_size()}


@step("tokenizer sentencepiece (+ converted tokenizer.json)")
def make_sentencepiece_tokenizers(out_sp, out_meta, out_legacy, texts, workdir):
    import sentencepiece as spm
    os.makedirs(workdir, exist_ok=True)
    corpus = os.path.join(workdir, "sp_corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        for t in texts:
            for line in t.splitlines():
                if line.strip():
                    f.write(line + "\n")
    prefix = os.path.join(workdir, "sp")
    # Llama 2's settings: BPE, byte fallback, digits split, identity normalisation, dummy prefix,
    # whitespace kept as it is.
    spm.SentencePieceTrainer.train(input=corpus, model_prefix=prefix, vocab_size=512, model_type="bpe",
                                   byte_fallback=True, split_digits=True, normalization_rule_name="identity",
                                   add_dummy_prefix=True, remove_extra_whitespaces=False,
                                   allow_whitespace_only_pieces=True, character_coverage=0.98,
                                   unk_id=0, bos_id=1, eos_id=2, pad_id=-1)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    os.makedirs(out_sp, exist_ok=True)
    shutil.copy(prefix + ".model", os.path.join(out_sp, "tokenizer.model"))
    cases = [{"text": s, "ids": sp.encode(s), "pieces": sp.encode(s, out_type=str), "decoded": sp.decode(sp.encode(s))}
             for s in TEST_STRINGS]
    with open(os.path.join(out_sp, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, indent=0)
    with open(os.path.join(out_sp, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
                   "add_eos_token": False, "tokenizer_class": "LlamaTokenizer"}, f, indent=2)
    info = {"sp_vocab": sp.get_piece_size()}

    # tokenizer.json as Hugging Face converts a SentencePiece BPE model: the same vocabulary and
    # merges in a BPE model with byte fallback. Two front ends: Metaspace (transformers' current
    # converter) and the legacy Prepend + Replace normalizer (Llama 2's published tokenizer.json).
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, decoders, processors
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    merges = []
    for piece, pid in vocab.items():
        if sp.is_unknown(pid) or sp.is_control(pid) or sp.is_byte(pid):
            continue
        for k in range(1, len(piece)):
            a, b = piece[:k], piece[k:]
            if a in vocab and b in vocab:
                merges.append((vocab[piece], vocab[a], vocab[b], a, b))
    merges.sort()
    merges = [(a, b) for _, _, _, a, b in merges]
    results = {}
    # Both files are built here from the SentencePiece vocabulary and merges, the way transformers'
    # converter builds them (transformers 5.17's LlamaTokenizerFast(vocab_file=...) wrote an empty
    # vocabulary on the GPU machine, so its converter is not used). Two front ends:
    # metaspace: a Metaspace pre-tokenizer (prepend "first", no split), as current conversions write;
    # legacy: Llama 2's published front end (Prepend + Replace normalizer, no pre-tokenizer) with the
    # Replace/ByteFallback/Fuse/Strip decoder.
    from tokenizers import AddedToken
    sp_config = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "add_bos_token": True,
                 "add_eos_token": False, "tokenizer_class": "LlamaTokenizer"}
    for variant, out in (("metaspace", out_meta), ("legacy", out_legacy)):
        tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
        if variant == "metaspace":
            tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=False)
            tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="first", split=False)
        else:
            tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
            tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                             decoders.Strip(content=" ", left=1, right=0)])
        tok.add_special_tokens([AddedToken("<unk>", special=True, normalized=False),
                                AddedToken("<s>", special=True, normalized=False),
                                AddedToken("</s>", special=True, normalized=False)])
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                           special_tokens=[("<s>", 1)])
        save_tokenizer_fixture(out, tok, extra_files=[(prefix + ".model", "tokenizer.model")], config=sp_config)
        same = sum(1 for s in TEST_STRINGS if tok.encode(s, add_special_tokens=False).ids == sp.encode(s))
        results[variant] = f"{same}/{len(TEST_STRINGS)} strings give sentencepiece's ids"
    info.update(results)
    return info


# ----------------------------------------------------------------------------------------------
# Models

def make_config(cls, **kw):
    """Builds a config whatever this transformers calls its rope settings (rope_parameters in 5.x,
    rope_theta + rope_scaling before)."""
    import transformers
    rope = kw.pop("rope", {"rope_type": "default"})
    theta = kw.pop("rope_theta", 10000.0)
    if int(transformers.__version__.split(".")[0]) >= 5:
        params = dict(rope)
        params["rope_theta"] = theta
        return cls(rope_parameters=params, **kw)
    legacy = None if rope.get("rope_type") == "default" else dict(rope)
    return cls(rope_theta=theta, rope_scaling=legacy, **kw)


def save_model(model, out, **kw):
    os.makedirs(out, exist_ok=True)
    try:
        model.save_pretrained(out, safe_serialization=True, **kw)
    except TypeError:
        model.save_pretrained(out, **kw)
    assert not os.path.exists(os.path.join(out, "pytorch_model.bin")), "pickle written"
    # generation_config.json is not ours to test
    gc = os.path.join(out, "generation_config.json")
    if os.path.exists(gc):
        os.remove(gc)


def fixture_ids(vocab, lengths, batch_at, seed):
    g = random.Random(seed)
    seqs = []
    for T in lengths:
        for _ in range(batch_at.get(T, 1)):
            seqs.append([g.randrange(vocab) for _ in range(T)])
    return seqs


@torch.no_grad()
def logits_for(model, seqs):
    """fp32 logits per group of equal-length sequences (a batch), keyed by length."""
    model.eval()
    by_len = {}
    for s in seqs:
        by_len.setdefault(len(s), []).append(s)
    out = {}
    for T, group in by_len.items():
        ids = torch.tensor(group, dtype=torch.long)
        out[T] = model(input_ids=ids).logits.float().numpy()
    return out


def write_logits(out, seqs, logits):
    with open(os.path.join(out, "ids.txt"), "w") as f:
        for s in seqs:
            f.write(" ".join(map(str, s)) + "\n")
    for T, arr in logits.items():
        np.save(os.path.join(out, f"logits-{T}.npy"), arr.astype(np.float32))


def load_fp32(cls, path):
    for kw in ({"dtype": torch.float32}, {"torch_dtype": torch.float32}):
        try:
            return cls.from_pretrained(path, attn_implementation="eager", **kw)
        except TypeError:
            continue
    return cls.from_pretrained(path).float()


@step("model llama-gqa (+ rope variants, bf16 shards)")
def make_llama(root, tok_dir):
    try:
        return make_llama_with(root, tok_dir, head_dim=24)
    except Exception as e:  # an explicit head_dim this transformers cannot take: the plain shape
        print("llama with head_dim 24 failed, retrying without:", repr(e), flush=True)
        traceback.print_exc()
        info = make_llama_with(root, tok_dir, head_dim=None)
        info["head_dim_24_failed"] = repr(e)
        return info


def make_llama_with(root, tok_dir, head_dim):
    from transformers import LlamaConfig, LlamaForCausalLM
    from tokenizers import Tokenizer
    tk = Tokenizer.from_file(os.path.join(tok_dir, "tokenizer.json"))
    torch.manual_seed(10)
    vocab = 384
    common = dict(vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5,
                  tie_word_embeddings=False, attention_bias=False,
                  bos_token_id=tk.token_to_id("<|begin_of_text|>"), eos_token_id=tk.token_to_id("<|end_of_text|>"),
                  initializer_range=0.05)
    if head_dim:
        common["head_dim"] = head_dim
    cfg = make_config(LlamaConfig, max_position_embeddings=64, **common)
    cfg._attn_implementation = "eager"
    model = LlamaForCausalLM(cfg).float()
    # Norm weights away from 1 so a missed norm weight shows.
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "norm" in n:
                p.uniform_(0.5, 1.5)
    out = os.path.join(root, "llama-gqa")
    save_model(model, out)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, f), os.path.join(out, f))
    seqs = fixture_ids(vocab, [48, 160], {48: 2}, seed=1)
    ref = load_fp32(LlamaForCausalLM, out)
    write_logits(out, seqs, logits_for(ref, seqs))
    info = {"params": sum(p.numel() for p in model.parameters()), "config_keys": sorted(json.load(open(os.path.join(out, "config.json"))).keys())}

    variants = {
        "linear": dict(rope={"rope_type": "linear", "factor": 2.0}, max_position_embeddings=64),
        "dynamic": dict(rope={"rope_type": "dynamic", "factor": 2.0}, max_position_embeddings=64),
        "yarn": dict(rope={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64,
                           "beta_fast": 32.0, "beta_slow": 1.0}, max_position_embeddings=256),
        "llama3": dict(rope={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                             "original_max_position_embeddings": 32}, max_position_embeddings=256, rope_theta=500000.0),
    }
    state = model.state_dict()
    for name, v in variants.items():
        vcfg = make_config(LlamaConfig, **dict(common, **v))
        vcfg._attn_implementation = "eager"
        vm = LlamaForCausalLM(vcfg).float()
        vm.load_state_dict(state)
        vdir = os.path.join(out, "variants", name)
        os.makedirs(vdir, exist_ok=True)
        vcfg.save_pretrained(vdir)
        lg = logits_for(vm, seqs)
        for T, arr in lg.items():
            np.save(os.path.join(vdir, f"logits-{T}.npy"), arr.astype(np.float32))
        with open(os.path.join(vdir, "config.json")) as f:
            info[f"variant_{name}_rope"] = {k: v for k, v in json.load(f).items() if "rope" in k}

    # The same weights as bf16 shards with an index; reference logits from the bf16 weights upcast.
    bdir = os.path.join(root, "llama-bf16-shards")
    save_model(model.to(torch.bfloat16), bdir, max_shard_size="150KB")
    model.float()
    ref16 = load_fp32(LlamaForCausalLM, bdir)
    seqs16 = fixture_ids(vocab, [40], {40: 2}, seed=2)
    write_logits(bdir, seqs16, logits_for(ref16, seqs16))
    info["bf16_files"] = sorted(os.listdir(bdir))
    return info


@step("model qwen2-tied")
def make_qwen2(root):
    from transformers import Qwen2Config, Qwen2ForCausalLM
    torch.manual_seed(20)
    vocab = 360
    cfg = make_config(Qwen2Config, vocab_size=vocab, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=64, rms_norm_eps=1e-6,
                      tie_word_embeddings=True, rope_theta=1000000.0, use_sliding_window=False,
                      initializer_range=0.05)
    cfg._attn_implementation = "eager"
    model = Qwen2ForCausalLM(cfg).float()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith(".bias"):
                p.uniform_(-0.3, 0.3)
            if "norm" in n:
                p.uniform_(0.5, 1.5)
    out = os.path.join(root, "qwen2-tied")
    save_model(model, out)
    seqs = fixture_ids(vocab, [48, 100], {48: 2}, seed=3)
    write_logits(out, seqs, logits_for(load_fp32(Qwen2ForCausalLM, out), seqs))
    keys = []
    from safetensors import safe_open
    with safe_open(os.path.join(out, "model.safetensors"), "pt") as f:
        keys = sorted(f.keys())
    return {"tensors": len(keys), "has_lm_head": "lm_head.weight" in keys, "has_bias": any(k.endswith("q_proj.bias") for k in keys)}


@step("model mistral")
def make_mistral(root, tok_dir):
    from transformers import MistralConfig, MistralForCausalLM
    torch.manual_seed(30)
    vocab = 512
    cfg = make_config(MistralConfig, vocab_size=vocab, hidden_size=64, intermediate_size=112, num_hidden_layers=2,
                      num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-5,
                      tie_word_embeddings=False, sliding_window=None, rope_theta=10000.0, initializer_range=0.05,
                      bos_token_id=1, eos_token_id=2)
    cfg._attn_implementation = "eager"
    model = MistralForCausalLM(cfg).float()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "norm" in n:
                p.uniform_(0.5, 1.5)
    out = os.path.join(root, "mistral")
    save_model(model, out)
    for f in ("tokenizer.model", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, f), os.path.join(out, f))
    seqs = fixture_ids(vocab, [64, 200], {64: 2}, seed=4)
    write_logits(out, seqs, logits_for(load_fp32(MistralForCausalLM, out), seqs))
    return {"config": {k: v for k, v in json.load(open(os.path.join(out, "config.json"))).items()
                       if k in ("sliding_window", "rope_theta", "rope_parameters", "rope_scaling", "architectures")}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", default="/tmp/ctxlab-fixture-work")
    ap.add_argument("--only", default="", help="comma-separated step groups: bytelevel, sentencepiece, llama, qwen2, mistral")
    args = ap.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    import transformers, tokenizers, sentencepiece, safetensors
    REPORT["versions"] = {"torch": torch.__version__, "transformers": transformers.__version__,
                          "tokenizers": tokenizers.__version__, "sentencepiece": sentencepiece.__version__,
                          "safetensors": safetensors.__version__, "numpy": np.__version__}
    print(REPORT["versions"], flush=True)
    torch.set_num_threads(min(8, os.cpu_count() or 1))
    texts = training_text(repo)
    tk = os.path.join(args.out, "tokenizers")
    only = set(filter(None, args.only.split(",")))
    want = lambda g: not only or g in only
    if want("bytelevel"):
        make_llama3_tokenizer(os.path.join(tk, "bytelevel-llama3"), texts)
        make_qwen2_tokenizer(os.path.join(tk, "bytelevel-qwen2"), texts)
        make_smollm_tokenizer(os.path.join(tk, "bytelevel-smollm"), texts)
    if want("sentencepiece"):
        make_sentencepiece_tokenizers(os.path.join(tk, "sentencepiece"), os.path.join(tk, "metaspace-llama2"),
                                      os.path.join(tk, "legacy-llama2"), texts, args.work)
    md = os.path.join(args.out, "models")
    if want("llama"):
        make_llama(md, os.path.join(tk, "bytelevel-llama3"))
    if want("qwen2"):
        make_qwen2(md)
    if want("mistral"):
        make_mistral(md, os.path.join(tk, "sentencepiece"))
    with open(os.path.join(args.out, "report.json"), "w") as f:
        json.dump(REPORT, f, indent=1, default=str)
    failed = [s["step"] for s in REPORT["steps"] if not s["ok"]]
    print("FAILED:" if failed else "all fixtures made", failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
