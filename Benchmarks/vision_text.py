#!/usr/bin/env python3
"""`Benchmarks/run vision-text`: Sightline's TextEmbedder against sentence-transformers.

Both embed the same texts with the same all-MiniLM-L6-v2 files ($SIGHTLINE_MODELS/minilm-l6-v2):
  reference: sentence-transformers' SentenceTransformer.encode (PyTorch on the CPU,
             torch.set_num_threads(threads)), batch_size as given, inference mode
  sightline: TextEmbedder.embed over consecutive batches (Benchmarks/TextBench)
Texts: --texts of them (default 256), cycled from the speech fixtures' reference transcripts,
search queries, captions and on-screen-text-like strings (2 to ~60 pieces each). Configurations:
batch sizes 1 and 32 × 1 and 2 threads. Each side runs in its own process (model loading
untimed) and embeds all texts --runs times per invocation; the two sides alternate invocation
by invocation so machine noise hits both. Figures are medians of all runs; ratio = reference /
sightline (> 1: Sightline faster). The two sides' embeddings must agree (cosine >= 0.9999).
The last line printed is one JSON object.

Needs the venv with sentence-transformers (default /work/venv-vision, see
Scripts/golden/minilm_golden.py) passed as --python; this script itself needs only the
standard library.
"""
import argparse, array, csv, json, math, os, statistics, subprocess, sys
from benchlib import run, floats

ap = argparse.ArgumentParser()
ap.add_argument("--bench", required=True, help="path of the TextBench executable")
ap.add_argument("--work", required=True, help="folder for the generated inputs and outputs")
ap.add_argument("--python", default="/work/venv-vision/bin/python", help="python of the reference venv")
ap.add_argument("--runs", type=int, default=3, help="timed runs per invocation")
ap.add_argument("--rounds", type=int, default=2, help="alternating invocations per side and configuration")
ap.add_argument("--texts", type=int, default=256)
ap.add_argument("--batches", default="1,32")
ap.add_argument("--threads", default="1,2")
args = ap.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..")
models = os.environ.get("SIGHTLINE_MODELS", os.path.expanduser("~/.cache/sightline/models"))
model_dir = os.path.join(models, "minilm-l6-v2")
os.makedirs(args.work, exist_ok=True)

REFERENCE = r'''
import json, os, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
import numpy as np, torch
from sentence_transformers import SentenceTransformer
model_dir, texts_path, batch, threads, runs, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
torch.set_num_threads(threads)
texts = json.load(open(texts_path, encoding="utf-8"))
model = SentenceTransformer(model_dir, device="cpu")
times = []
with torch.inference_mode():
    model.encode(texts[:batch], batch_size=batch)  # warm-up, as the Swift side has loaded its weights
    for _ in range(runs):
        t0 = time.perf_counter()
        emb = model.encode(texts, batch_size=batch, convert_to_numpy=True, show_progress_bar=False)
        times.append(time.perf_counter() - t0)
np.asarray(emb, dtype=np.float32).tofile(out)
print(json.dumps({"runs_s": times, "texts": len(texts), "dim": int(emb.shape[1])}))
'''


def make_texts(n):
    """Deterministic, varied texts: transcripts, queries, captions, OCR-like strings."""
    pool = []
    with open(os.path.join(root, "Tests", "Fixtures", "media", "speech", "REFERENCES.tsv"), encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            pool.append(row["reference_text"])
    pool += ["a person at the door", "sports car", "someone delivering a package", "a dog in the garden",
             "when did the truck arrive?", "what was said about the delivery", "red car in the driveway",
             "two people talking near the gate at night", "EXIT", "NO PARKING 8AM-6PM MON-FRI",
             "SALE 50% OFF!!! www.shop.example", "SPEED LIMIT 65", "ACME Corp. Tel: 0800-123-456",
             "Breaking news: heavy rain expected across the region this weekend, officials say.",
             "The quick brown fox jumps over the lazy dog.", "unbelievable", "Café naïve façade résumé"]
    return [pool[i % len(pool)] for i in range(n)]


texts = make_texts(args.texts)
texts_path = os.path.join(args.work, "text-bench.json")
with open(texts_path, "w", encoding="utf-8") as f:
    json.dump(texts, f)

results = []
for threads in [int(t) for t in args.threads.split(",")]:
    for batch in [int(b) for b in args.batches.split(",")]:
        ref_out = os.path.join(args.work, f"text-reference-b{batch}-t{threads}.f32")
        our_out = os.path.join(args.work, f"text-sightline-b{batch}-t{threads}.f32")
        ref_times, our_times = [], []
        for _ in range(args.rounds):
            ref = run([args.python, "-c", REFERENCE, model_dir, texts_path, str(batch), str(threads), str(args.runs), ref_out])
            ours = run([args.bench, model_dir, texts_path, str(batch), str(threads), str(args.runs), our_out])
            ref_times += ref["runs_s"]
            our_times += ours["runs_s"]
        dim = ours["dim"]
        a, b = floats(ref_out), floats(our_out)
        assert len(a) == len(b) == dim * len(texts), (len(a), len(b))
        worst = 1.0
        for k in range(len(texts)):
            x, y = a[k * dim:(k + 1) * dim], b[k * dim:(k + 1) * dim]
            dot = sum(p * q for p, q in zip(x, y))
            worst = min(worst, dot / math.sqrt(sum(p * p for p in x) * sum(q * q for q in y)))
        assert worst >= 0.9999, f"embeddings disagree: min cosine {worst}"
        ref_med, our_med = statistics.median(ref_times), statistics.median(our_times)
        results.append({"batch": batch, "threads": threads, "reference_median_s": round(ref_med, 4),
                        "sightline_median_s": round(our_med, 4), "ratio": round(ref_med / our_med, 3),
                        "min_cosine": round(worst, 7)})

print(f"{len(texts)} texts per run, medians of {args.rounds * args.runs} runs per side")
print(f"{'batch':>6}{'threads':>9}{'sentence-transformers s':>26}{'sightline s':>14}{'texts/s (ours)':>16}{'ratio':>8}{'min cos':>11}")
for r in results:
    print(f"{r['batch']:>6}{r['threads']:>9}{r['reference_median_s']:>26.3f}{r['sightline_median_s']:>14.3f}"
          f"{len(texts) / r['sightline_median_s']:>16.0f}{r['ratio']:>8.2f}{r['min_cosine']:>11.7f}")
print(json.dumps({"benchmark": "vision-text", "model": "minilm-l6-v2", "texts": len(texts),
                  "runs_per_side": args.rounds * args.runs, "results": results}))
