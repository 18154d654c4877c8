#!/usr/bin/env python3
"""A 32k-vocabulary BPE tokenizer.json with Llama 3's pre-tokenizer and special tokens
(<|begin_of_text|> as BOS, added by a template like Llama 3's), trained with Hugging Face `tokenizers`
on --mb megabytes of the machine's Python sources, for benchmarks that need a real tokenizer beside
the random-weight folder of tools/make_bench_checkpoint.py (`scripts/gpu-check ruler`). Nothing is
downloaded. Writes OUT/tokenizer.json; OUT may be the model folder itself.

    python3 tools/make_bench_tokenizer.py /tmp/llama-1b --mb 8"""
import argparse, glob, os, site, time

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def python_sources(limit):
    """Lines of UTF-8 Python files under site-packages, about `limit` bytes in all."""
    lines, total = [], 0
    for root in site.getsitepackages():
        for p in sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True)):
            try:
                text = open(p, "rb").read().decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            lines.extend(text.splitlines())
            total += len(text)
            if total >= limit:
                return lines
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--mb", type=float, default=8)
    args = ap.parse_args()
    t0 = time.time()
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    specials = ["<|begin_of_text|>", "<|end_of_text|>"]
    tok.train_from_iterator(python_sources(int(args.mb * 1e6)),
                            trainers.BpeTrainer(vocab_size=32000, show_progress=False, special_tokens=specials,
                                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    bos = tok.token_to_id(specials[0])
    tok.post_processor = processors.TemplateProcessing(single=f"{specials[0]} $A", pair=f"{specials[0]} $A $B:1",
                                                       special_tokens=[(specials[0], bos)])
    os.makedirs(args.out, exist_ok=True)
    tok.save(os.path.join(args.out, "tokenizer.json"))
    print(f"{args.out}/tokenizer.json: {tok.get_vocab_size()} tokens, BOS {bos}, {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
