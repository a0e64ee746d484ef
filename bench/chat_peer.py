#!/usr/bin/env python3
"""The Python peer of `bin/sparktune bench tokenize --chat`: the same ShareGPT conversations,
rendered and tokenized with transformers' apply_chat_template and masked with its own
return_assistant_tokens_mask (the canonical Hugging Face way; TRL's assistant_only_loss uses it),
which needs {% generation %} markers: the script adds them to the demo tokenizer's Zephyr template
around each assistant message, as a user of TRL must.

    python3 -m venv /tmp/hf && /tmp/hf/bin/pip install transformers
    bin/sparktune bench tokenize --chat --records 20000 --dir /tmp/chatbench
    /tmp/hf/bin/python bench/chat_peer.py /tmp/chatbench/chats-20000.jsonl [--procs 2]

Prints conversations/s and tokens/s for the render + tokenize + mask work (and, with --save, writing
the dataset with datasets' save_to_disk, as the tokenize stage writes its dataset); reading the JSON
lines is not timed. CI does not run it.
"""
import argparse
import json
import os
import sys
import time
from multiprocessing import Pool

os.environ.setdefault("HF_HUB_OFFLINE", "1")
from transformers import AutoTokenizer  # noqa: E402

ROLES = {"system": "system", "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}
ZEPHYR_ASSISTANT = "{{ '<|assistant|>\n'  + message['content'] + eos_token }}"
TAGGED_ASSISTANT = "{{ '<|assistant|>\n' }}{% generation %}{{ message['content'] + eos_token }}{% endgeneration %}{{ '' }}"

_tok = None


def _init(tokenizer_dir):
    global _tok
    _tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    template = _tok.chat_template
    if ZEPHYR_ASSISTANT not in template:
        sys.exit("this peer knows how to add {% generation %} to the demo's Zephyr template only")
    _tok.chat_template = template.replace(ZEPHYR_ASSISTANT, TAGGED_ASSISTANT)


def _encode(batch):
    rows = {"input_ids": [], "labels": []}
    for messages in batch:
        out = _tok.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
        rows["input_ids"].append(out["input_ids"])
        rows["labels"].append([i if m else -100 for i, m in zip(out["input_ids"], out["assistant_masks"])])
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jsonl")
    ap.add_argument("--tokenizer", default="conf/samples/tokenizer")
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--save", metavar="DIR", help="also write the examples with datasets' save_to_disk (timed)")
    args = ap.parse_args()
    conversations = []
    with open(args.jsonl, encoding="utf-8") as f:
        for line in f:
            turns = json.loads(line)["conversations"]
            conversations.append([{"role": ROLES[t["from"]], "content": t["value"]} for t in turns])
    batches = [conversations[i:i + 500] for i in range(0, len(conversations), 500)]
    start = time.perf_counter()
    if args.procs == 1:
        _init(args.tokenizer)
        results = [_encode(b) for b in batches]
    else:
        with Pool(args.procs, initializer=_init, initargs=(args.tokenizer,)) as pool:
            results = pool.map(_encode, batches)
    ids = [x for r in results for x in r["input_ids"]]
    labels = [x for r in results for x in r["labels"]]
    if args.save:
        from datasets import Dataset
        Dataset.from_dict({"input_ids": ids, "labels": labels}).save_to_disk(args.save)
    seconds = time.perf_counter() - start
    tokens = sum(len(x) for x in ids)
    trained = sum(1 for x in labels for v in x if v != -100)
    saved = " and saved" if args.save else ""
    print(f"transformers apply_chat_template ({args.procs} process(es)){saved}: {len(conversations)} conversations, "
          f"{tokens} tokens ({trained} trained) in {seconds:.1f} s = {len(conversations) / seconds:.0f} conversations/s, "
          f"{tokens / seconds:.0f} tokens/s")


if __name__ == "__main__":
    main()
