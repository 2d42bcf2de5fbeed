#!/usr/bin/env python3
"""llama.cpp's prefill and decode speed on the same workload as generate_speed:
the same fixed text's tokens repeated to PROMPT_TOKENS, then GEN_TOKENS greedy
decode steps, with THREADS threads. Prints one JSON line."""

import json
import sys
import time

import numpy as np
from llama_cpp import Llama

TEXT = ("The quick brown fox jumps over the lazy dog while the orchestra tunes its instruments, "
        "and a small robot counts the stars above the old lighthouse by the sea. ")


def main():
    model, prompt_tokens, gen_tokens, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    llm = Llama(model_path=model, n_ctx=prompt_tokens + gen_tokens + 8, n_batch=512,
                n_threads=threads, n_threads_batch=threads, verbose=False)
    text = llm.tokenize(TEXT.encode(), add_bos=False, special=False)
    prompt = [text[i % len(text)] for i in range(prompt_tokens)]
    t0 = time.perf_counter()
    llm.eval(prompt)
    t1 = time.perf_counter()
    for _ in range(gen_tokens):
        token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        llm.eval([token])
    t2 = time.perf_counter()
    print(json.dumps({"prefill_tok_s": prompt_tokens / (t1 - t0),
                      "decode_tok_s": gen_tokens / (t2 - t1)}))


if __name__ == "__main__":
    main()
