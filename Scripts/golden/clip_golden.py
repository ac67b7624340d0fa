#!/usr/bin/env python3
"""A tiny randomly initialised CLIP in the Hugging Face layout, and transformers' outputs on it.

Sightline loads CLIP checkpoints as transformers saves them (`openai/clip-vit-base-patch32`:
config.json, model.safetensors, tokenizer.json, preprocessor_config.json). No hub is reachable
here, so the loader is tested on a checkpoint this script makes with transformers itself:
CLIPModel with tiny towers (hidden 32, 2 layers, 2 heads, MLP 48, projection 16) but CLIP's
real image geometry (224 x 224 pictures, 32 x 32 patches: 49 patches + the class token) and
77 text positions. Every parameter, biases and layer-norm scales included, is drawn at random
so a tensor mapped to the wrong place shows.

The tokenizer is CLIP's own byte-level BPE cut short: the vocabulary is built exactly as CLIP
builds it (256 byte symbols, the same 256 with "</w>", then one token per merge, then
<|startoftext|> and <|endoftext|>) from the first MERGES merges of CLIP's merge list
(bpe_simple_vocab_16e6.txt.gz, shipped in the open_clip_torch wheel, MIT licence), and
transformers' CLIPTokenizer writes the tokenizer.json (its real schema: NFC + whitespace +
lower-case normaliser, CLIP's split pattern, ByteLevel, BPE with "</w>", RobertaProcessing).

Pictures are preprocessed by CLIPImageProcessorPil (Pillow bicubic resize of the shorter side
to 224, centre crop, CLIP mean / std), which is OpenAI's own preprocessing; transformers' default
CLIPImageProcessor (torchvision backend) differs from it by a few grey levels on some pixels,
and this script records how much that moves the embeddings ("torchvision_cosine_min").

Writes Tests/Fixtures/clip/:
  tiny/config.json, tiny/model.safetensors, tiny/tokenizer.json, tiny/preprocessor_config.json
  crop-bottles.rgb   the 224 x 224 x 3 bytes Pillow's resize + crop makes of vision/bottles.ppm
  golden.json        per text: ids (with <|startoftext|> / <|endoftext|>, truncated at 77) and
                     the L2-normalised text embedding; per picture (Tests/Fixtures/vision/*.ppm):
                     the L2-normalised image embedding; logit_scale
All computed in float32 on the CPU.

Environment: /work/venv-vision with torch 2.15.0, transformers 5.24.0, tokenizers 0.23.3,
pillow 13.0.0, numpy; open_clip_torch-3.3.0-py3-none-any.whl (sha256 c549ad5e...0043ce) for
the merge list only: `pip download open_clip_torch==3.3.0 --no-deps -d DIR`.

Usage: /work/venv-vision/bin/python Scripts/golden/clip_golden.py PATH/TO/open_clip_torch-3.3.0-py3-none-any.whl
"""
import gzip
import io
import json
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/Fixtures/clip"
VISION = ROOT / "Tests/Fixtures/vision"
MERGES = 2000
PICTURES = ["bottles", "cars", "carphone", "bikes", "word", "pixel"]
TEXTS = [
    "a photo of a cat",
    "A Photo of a CAT",
    "two dogs playing in the snow",
    "a red car parked in the driveway.",
    "someone's at the door; they'll wait, won't they?",
    "  tabs\tand\nnewlines   everywhere  ",
    "1234 apples cost $5.99!!!",
    "café déjà vu — naïve façade",
    "cafe\u0301 (decomposed accent)",
    "東京の夜景 and emoji 🚗🚲",
    "<|endoftext|> a special token inside the text",
    "",
    "a very long caption " + " ".join(f"word{i}" for i in range(100)),
]


def merges_from_wheel(wheel):
    with zipfile.ZipFile(wheel) as z:
        data = gzip.decompress(z.read("open_clip/bpe_simple_vocab_16e6.txt.gz")).decode("utf-8")
    lines = data.split("\n")
    # CLIP's SimpleTokenizer: the first line is a header, then merges.
    return [tuple(line.split()) for line in lines[1:1 + MERGES]]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def make_tokenizer(wheel):
    merges = merges_from_wheel(wheel)
    symbols = bytes_to_unicode()
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    return CLIPTokenizer(vocab={t: i for i, t in enumerate(vocab)}, merges=[tuple(m) for m in merges]), len(vocab)


def randomise(model):
    torch.manual_seed(1234)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "logit_scale":
                continue
            if "layer_norm" in name or "layernorm" in name or "layrnorm" in name:
                p.copy_((1 + 0.2 * torch.randn_like(p)) if name.endswith("weight") else 0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif p.dim() >= 2 and "embedding" not in name:
                fan_in = p[0].numel()
                p.copy_(torch.randn_like(p) / fan_in ** 0.5)
            else:  # token, position and class embeddings
                p.copy_(0.5 * torch.randn_like(p))


def read_ppm(path):
    return Image.open(path).convert("RGB")


def unit(v):
    v = v.reshape(-1).double()
    return (v / v.norm()).float()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tokenizer, vocab_size = make_tokenizer(sys.argv[1])
    bos, eos = vocab_size - 2, vocab_size - 1
    config = CLIPConfig(
        text_config=dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=77, hidden_act="quick_gelu",
                         bos_token_id=bos, eos_token_id=eos, pad_token_id=eos, projection_dim=16),
        vision_config=dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2,
                           image_size=224, patch_size=32, hidden_act="quick_gelu", projection_dim=16),
        projection_dim=16,
    )
    model = CLIPModel(config).eval()
    model.config._attn_implementation = "eager"
    randomise(model)

    tiny = OUT / "tiny"
    if tiny.exists():
        shutil.rmtree(tiny)
    tiny.mkdir(parents=True)
    model.save_pretrained(tiny, safe_serialization=True)
    tokenizer.save_pretrained(tiny)
    processor = CLIPImageProcessorPil()
    processor.save_pretrained(tiny)
    for extra in tiny.iterdir():
        if extra.name not in ("config.json", "model.safetensors", "tokenizer.json", "preprocessor_config.json"):
            extra.unlink()

    # Reload from disk, so the reference runs on exactly the saved weights and tokenizer.
    model = CLIPModel.from_pretrained(tiny, attn_implementation="eager").eval()
    from transformers import CLIPTokenizerFast  # noqa: F401  (CLIPTokenizer is the fast one in transformers 5)
    tokenizer = CLIPTokenizer.from_pretrained(tiny)

    golden = {"texts": [], "images": [], "logit_scale": float(model.logit_scale.item()),
              "projection_dim": 16, "vocabulary_size": vocab_size}
    with torch.no_grad():
        for text in TEXTS:
            ids = tokenizer(text, truncation=True, max_length=77)["input_ids"]
            features = model.get_text_features(input_ids=torch.tensor([ids]))
            if not torch.is_tensor(features):
                features = features.pooler_output
            golden["texts"].append({"text": text, "ids": ids, "embedding": unit(features).tolist()})

        torchvision = CLIPImageProcessor()
        worst = 1.0
        for name in PICTURES:
            image = read_ppm(VISION / f"{name}.ppm")
            pixels = processor(images=image, return_tensors="pt")["pixel_values"]
            features = model.get_image_features(pixel_values=pixels)
            if not torch.is_tensor(features):
                features = features.pooler_output
            embedding = unit(features)
            other = model.get_image_features(pixel_values=torchvision(images=image, return_tensors="pt")["pixel_values"])
            if not torch.is_tensor(other):
                other = other.pooler_output
            worst = min(worst, float(torch.dot(embedding, unit(other))))
            golden["images"].append({"file": f"vision/{name}.ppm", "width": image.width, "height": image.height,
                                     "embedding": embedding.tolist()})
        golden["torchvision_cosine_min"] = worst

    # The Pillow crop of bottles.ppm, as bytes (what the normalised pixel values come from).
    image = read_ppm(VISION / "bottles.ppm")
    short = min(image.size)
    w, h = (224, int(224 * image.height / image.width)) if image.width <= image.height else (int(224 * image.width / image.height), 224)
    resized = np.asarray(image.resize((w, h), resample=Image.BICUBIC))
    top, left = (h - 224) // 2, (w - 224) // 2
    crop = np.ascontiguousarray(resized[top:top + 224, left:left + 224])
    pixels = processor(images=image, return_tensors="np")["pixel_values"][0]
    mean, std = np.array(processor.image_mean).reshape(3, 1, 1), np.array(processor.image_std).reshape(3, 1, 1)
    rebuilt = (crop.transpose(2, 0, 1) / 255.0 - mean) / std
    assert np.abs(rebuilt - pixels).max() < 1e-5, "the crop does not reproduce the processor's pixel values"
    assert short > 0
    (OUT / "crop-bottles.rgb").write_bytes(crop.tobytes())
    (OUT / "golden.json").write_text(json.dumps(golden, indent=1) + "\n")
    print(f"vocabulary {vocab_size}, torchvision-backend cosine min {worst:.6f}")
    for t in golden["texts"]:
        print(len(t["ids"]), t["ids"][:12], repr(t["text"][:40]))


if __name__ == "__main__":
    main()
