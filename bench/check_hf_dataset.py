"""Loads sparktune's tokenize output with Hugging Face `datasets`, as a user leaving for HF would.

    python3 -m venv /tmp/ds && /tmp/ds/bin/pip install datasets pyarrow
    /tmp/ds/bin/python bench/check_hf_dataset.py work/local/tokenize/dataset

Checks: load_from_disk returns both splits with the expected features; Dataset.from_file opens a
shard; the values agree with the attention mask and labels rules (mask all ones, labels = ids or
-100, last id = EOS when not truncated).
"""
import glob
import os
import sys

import datasets

path = sys.argv[1] if len(sys.argv) > 1 else "work/local/tokenize/dataset"
dd = datasets.load_from_disk(path)
print(dd)
for split in ("train", "validation"):
    ds = dd[split]
    print(split, ds.features)
    for row in ds:
        ids, mask, labels = row["input_ids"], row["attention_mask"], row["labels"]
        assert len(ids) == len(mask) == len(labels) == row["num_tokens"], row["id"]
        assert all(m == 1 for m in mask), row["id"]
        assert all(l == -100 or l == i for l, i in zip(labels, ids)), row["id"]
shard = sorted(glob.glob(os.path.join(path, "train", "data-*.arrow")))[0]
one = datasets.Dataset.from_file(shard)
print("from_file", shard, one.num_rows, "rows", one.features)
first = dd["train"][0]
print("first train example:", first["id"], first["input_ids"][:12], "...", first["labels"][-6:])
print("OK")
