#!/usr/bin/env python3
"""Compares a tokenize stage's output for ShareGPT conversations, example by example, with
transformers: input_ids must equal apply_chat_template's and the trained positions (labels != -100)
its return_assistant_tokens_mask (with {% generation %} markers added to the demo's Zephyr template,
as bench/chat_peer.py does).

    bin/sparktune bench tokenize --chat --records 20000 --dir /tmp/chatbench
    python bench/chat_compare.py /tmp/chatbench/chats-20000.jsonl /tmp/chatbench/work-chat-20000

Needs transformers and pyarrow; CI does not run it.
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import pyarrow.parquet as pq  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import chat_peer  # noqa: E402


def main():
    jsonl, work = sys.argv[1], sys.argv[2]
    chat_peer._init(sys.argv[3] if len(sys.argv) > 3 else "conf/samples/tokenizer")
    tok = chat_peer._tok
    ingest = pq.read_table(os.path.join(work, "ingest/data"), columns=["id", "meta"]).to_pylist()
    record_of = {dict(r["meta"])["conversation_id"]: r["id"] for r in ingest}
    data = {r["id"]: r for r in pq.read_table(os.path.join(work, "tokenize/data"),
                                               columns=["id", "input_ids", "labels"]).to_pylist()}
    checked = differ = 0
    with open(jsonl, encoding="utf-8") as f:
        for line in f:
            conv = json.loads(line)
            messages = [{"role": chat_peer.ROLES[t["from"]], "content": t["value"]} for t in conv["conversations"]]
            hf = tok.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
            ours = data[record_of[conv["id"]]]
            mask = [int(label != -100) for label in ours["labels"]]
            if list(ours["input_ids"]) != list(hf["input_ids"]) or mask != list(hf["assistant_masks"]):
                differ += 1
                if differ <= 3:
                    print("differs:", conv["id"])
            checked += 1
    print(f"{checked} conversations compared with transformers: {differ} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
