#!/usr/bin/env python3
"""Hugging Face `tokenizers` (Rust, through Python) timed on the same work as CtxLab's tokenizer
bench (io/tokenizer_bench.h): the text file cut into chunks of about --chunk-bytes that end just
after a newline, all chunks encoded with encode_batch on --threads threads, no special tokens.
Prints bytes, tokens (compare with CtxLab's count: the ids should be identical), seconds, MB/s.

    python3 tools/bench_tokenizer.py tokenizer.json corpus.txt --threads 8

Rayon's pool size is fixed when `tokenizers` is imported, so the thread count is set in the
environment (RAYON_NUM_THREADS, TOKENIZERS_PARALLELISM) before the import."""
import argparse, json, os, sys, time


def chunks_of(data, chunk_bytes):
    """The same cut as split_into_chunks in engine/io/tokenizer_bench.cpp (on bytes)."""
    chunk_bytes = max(1, chunk_bytes)
    out, start, n = [], 0, len(data)
    while start < n:
        end = min(start + chunk_bytes, n)
        if end < n:
            nl = data.find(b"\n", end)
            end = n if nl < 0 else nl + 1
        out.append(data[start:end])
        start = end
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tokenizer", help="tokenizer.json, or a folder holding one")
    ap.add_argument("text", help="UTF-8 text file")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--chunk-bytes", type=int, default=1 << 20)
    ap.add_argument("--repeat", type=int, default=1, help="timed runs (each reported)")
    ap.add_argument("--json", action="store_true", help="one JSON object per run")
    args = ap.parse_args()

    os.environ["RAYON_NUM_THREADS"] = str(args.threads)
    os.environ["RAYON_RS_NUM_CPUS"] = str(args.threads)  # older tokenizers releases read this one
    os.environ["TOKENIZERS_PARALLELISM"] = "true" if args.threads > 1 else "false"
    import tokenizers  # after the environment is set

    path = args.tokenizer
    if os.path.isdir(path):
        path = os.path.join(path, "tokenizer.json")
    tok = tokenizers.Tokenizer.from_file(path)
    with open(args.text, "rb") as f:
        data = f.read()
    # errors="replace": invalid UTF-8 becomes U+FFFD, as CtxLab's encode repairs it.
    texts = [c.decode("utf-8", errors="replace") for c in chunks_of(data, args.chunk_bytes)]
    encode = getattr(tok, "encode_batch_fast", None) or tok.encode_batch  # fast: no offsets
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        encodings = encode(texts, add_special_tokens=False)
        seconds = time.perf_counter() - t0
        tokens = sum(len(e.ids) for e in encodings)
        result = {"tokenizers": tokenizers.__version__, "threads": args.threads, "bytes": len(data),
                  "chunks": len(texts), "tokens": tokens, "seconds": round(seconds, 4),
                  "mb_per_s": round(len(data) / 1e6 / seconds, 2),
                  "method": encode.__name__ if hasattr(encode, "__name__") else "encode_batch"}
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            print(f"tokenizers {result['tokenizers']} ({result['method']}): {args.threads} threads, "
                  f"{len(data)} bytes in {len(texts)} chunks -> {tokens} tokens, {seconds:.3f} s, "
                  f"{result['mb_per_s']:.2f} MB/s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
