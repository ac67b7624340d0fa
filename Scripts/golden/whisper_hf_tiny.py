#!/usr/bin/env python3
"""A tiny randomly initialised Whisper in the Hugging Face layout, and transformers' outputs on it.

Sightline loads `openai/whisper-*` checkpoints saved by transformers (model.safetensors +
config.json + generation_config.json). No hub is reachable here, so the loader is tested on
a checkpoint this script makes with transformers itself: WhisperForConditionalGeneration
with tiny sizes (d_model 32, 2 + 2 layers, 4 heads) but Whisper's real vocabulary (51864
tokens, the English-only tokenizer) and 1500 / 448 positions. Every parameter, biases and
layer-norm scales included, is drawn at random so a tensor mapped to the wrong place shows.
Weights are saved as float16 (as many Hub checkpoints are); the reference runs in float32
on exactly those rounded values.

Writes Tests/Fixtures/speech/whisper-hf-tiny/:
  config.json, generation_config.json, model.safetensors   the checkpoint (save_pretrained)
  golden.json   transformers' outputs (fp32, eager attention) on a fixed input:
    input        the reference log-mel of deepspeech_LDC93S1.wav (Tests/Fixtures/speech),
                 tiled along time to Whisper's 3000 frames
    encoder      output shape, every 100th row in full, and the sum of every row
    decoder      for a forced token sequence: per row the top-5 token ids and logits, the
                 log-sum-exp, and the logits at a fixed set of ids
    greedy       10 tokens chosen by plain argmax after the prompt (the whole sequence is
                 re-run at each step, no cache), with each step's top-1 / top-2 margin

Usage: "$(Scripts/golden/setup-venv --hf)/bin/python" Scripts/golden/whisper_hf_tiny.py [MODELS_DIR]
MODELS_DIR (default $SIGHTLINE_MODELS or ~/.cache/sightline/models) supplies whisper-tiny.en's
tokenizer.json and suppress lists, so the fixture's decoding metadata matches the real model.
"""
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import WhisperConfig, WhisperForConditionalGeneration

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests/Fixtures/speech/whisper-hf-tiny"
MEL = ROOT / "Tests/Fixtures/speech/logmel-deepspeech_LDC93S1.f32"
MODELS = Path(sys.argv[1] if len(sys.argv) > 1 else
              os.environ.get("SIGHTLINE_MODELS", Path.home() / ".cache/sightline/models"))
TINY_EN = MODELS / "whisper-tiny.en"
FRAMES = 3000
D = 32
ALIGNMENT_HEADS = [[1, 0], [1, 3]]
PROBE_IDS = [0, 1, 13, 220, 440, 1770, 50256, 50257, 50362, 50363, 51863]


def main():
    torch.manual_seed(20261129)
    ct2 = json.loads((TINY_EN / "config.json").read_text())
    config = WhisperConfig(
        vocab_size=51864, num_mel_bins=80, d_model=D,
        encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
        encoder_ffn_dim=4 * D, decoder_ffn_dim=4 * D,
        max_source_positions=1500, max_target_positions=448,
        pad_token_id=50256, bos_token_id=50257, eos_token_id=50256, decoder_start_token_id=50257,
        attn_implementation="eager")
    model = WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_norm.weight"):
                p.copy_(1 + 0.2 * torch.randn_like(p))
            else:
                p.copy_(0.15 * torch.randn_like(p))
        # Encoder positions are a buffer-like embedding; make them distinctive too.
        model.model.encoder.embed_positions.weight.copy_(0.3 * torch.randn_like(model.model.encoder.embed_positions.weight))
    model.half()
    g = model.generation_config
    g.alignment_heads = ALIGNMENT_HEADS
    g.suppress_tokens = ct2["suppress_ids"]
    g.begin_suppress_tokens = ct2["suppress_ids_begin"]
    g.is_multilingual = False
    OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(OUT)
    for extra in OUT.iterdir():
        if extra.name not in ("config.json", "generation_config.json", "model.safetensors"):
            extra.unlink()
    model.float()

    mel_clip = np.fromfile(MEL, dtype="<f4").reshape(80, -1)
    reps = -(-FRAMES // mel_clip.shape[1])
    mel = np.tile(mel_clip, (1, reps))[:, :FRAMES]
    tok = Tokenizer.from_file(str(TINY_EN / "tokenizer.json"))
    sot, no_timestamps = tok.token_to_id("<|startoftranscript|>"), tok.token_to_id("<|notimestamps|>")
    forced = [sot, no_timestamps] + tok.encode(" And so my fellow Americans", add_special_tokens=False).ids

    with torch.no_grad():
        encoded = model.model.encoder(torch.from_numpy(mel)[None]).last_hidden_state  # (1, 1500, d)

        def logits_for(tokens):
            out = model(encoder_outputs=(encoded,), decoder_input_ids=torch.tensor([tokens]), use_cache=False)
            return out.logits[0].double().numpy()  # (len, vocab)

        logits = logits_for(forced)
        greedy, margins, seq = [], [], forced[:2]
        for _ in range(10):
            row = logits_for(seq)[-1]
            top2 = np.argsort(-row)[:2]
            greedy.append(int(top2[0]))
            margins.append(float(row[top2[0]] - row[top2[1]]))
            seq = seq + [int(top2[0])]

    enc = encoded[0].double().numpy()
    top5 = np.argsort(-logits, axis=1)[:, :5]
    m = logits.max(axis=1, keepdims=True)
    golden = {
        "checkpoint": "random WhisperForConditionalGeneration, seed 20261129, float16 weights",
        "transformers": __import__("transformers").__version__, "torch": torch.__version__,
        "input": {"logmel": MEL.name, "clip_frames": int(mel_clip.shape[1]), "frames": FRAMES, "rule": "tile along time"},
        "config": {"d_model": D, "layers": [2, 2], "heads": [4, 4], "vocab": 51864,
                   "alignment_heads": ALIGNMENT_HEADS, "suppress_tokens": ct2["suppress_ids"],
                   "begin_suppress_tokens": ct2["suppress_ids_begin"]},
        "encoder": {"shape": list(enc.shape),
                    "rows": {str(r): enc[r].tolist() for r in range(0, enc.shape[0], 100)},
                    "row_sums": enc.sum(axis=1).tolist()},
        "decoder": {"tokens": forced,
                    "top5_ids": top5.tolist(),
                    "top5_logits": np.take_along_axis(logits, top5, axis=1).tolist(),
                    "logsumexp": (m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))).tolist(),
                    "probe_ids": PROBE_IDS,
                    "probe_logits": logits[:, PROBE_IDS].tolist()},
        "greedy": {"prompt": forced[:2], "tokens": greedy, "margins": margins},
    }
    (OUT / "golden.json").write_text(json.dumps(golden, indent=1) + "\n")
    print(f"wrote {OUT}: greedy {greedy}, smallest margin {min(margins):.4f}")


if __name__ == "__main__":
    main()
