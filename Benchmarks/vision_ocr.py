#!/usr/bin/env python3
"""`Benchmarks/run vision-ocr`: Sightline's PP-OCRv5 TextReader against the same ONNX files on
onnxruntime with PaddleOCR's pre/post-processing (Scripts/golden/ppocr_golden.py's Pipeline).

Both sides read the same pictures (the OCR fixtures, Tests/Fixtures/ocr/*.ppm|pgm), whole
pipeline per picture (detection, orientation, recognition), with 1 and 2 threads:
  reference: onnxruntime sessions with intra_op_num_threads = N
  sightline: TextReader on a ThreadPool of N threads (Benchmarks/OCRBench)
Times are compute only (session / network loading excluded on both sides), medians over
--runs per picture after one warm-up; the summary ratio is the sum of reference medians over
the sum of Sightline medians (> 1: Sightline faster). The recognised text must be equal.
The last line printed is one JSON object.

Needs /work/venv-vision (see Scripts/golden/ppocr_golden.py) as --python and the model in
$SIGHTLINE_MODELS (Scripts/fetch-models ppocr-v5-mobile).
"""
import argparse, json, os, statistics, subprocess, sys
from benchlib import run_output


def per_image(stdout):
    """One JSON object per line, keyed by its picture."""
    return {d["image"]: d for d in map(json.loads, stdout.strip().splitlines())}

ap = argparse.ArgumentParser()
ap.add_argument("--bench", required=True, help="path of the OCRBench executable")
ap.add_argument("--python", default="/work/venv-vision/bin/python", help="python of the reference venv")
ap.add_argument("--runs", type=int, default=5)
args = ap.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
models = os.path.join(os.environ.get("SIGHTLINE_MODELS", os.path.expanduser("~/.cache/sightline/models")), "ppocr-v5-mobile")
fixtures = os.path.join(root, "Tests", "Fixtures", "ocr")
pictures = sorted(f for f in os.listdir(fixtures) if f.endswith((".ppm", ".pgm")))

REFERENCE = r'''
import json, os, statistics, sys, time
import cv2
sys.path.insert(0, os.path.join(sys.argv[1], "Scripts", "golden"))
import ppocr_golden as golden
threads, runs = int(sys.argv[2]), int(sys.argv[3])
pipe = golden.Pipeline(threads)
for path in sys.argv[4:]:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    pipe(img)
    times = []
    for _ in range(runs):
        t = time.perf_counter(); lines = pipe(img); times.append(time.perf_counter() - t)
    print(json.dumps({"image": os.path.basename(path), "runs_s": times, "lines": lines}))
'''

paths = [os.path.join(fixtures, p) for p in pictures]
rows, summary, text_equal = [], {}, True
for threads in (1, 2):
    ref = per_image(run_output([args.python, "-c", REFERENCE, root, str(threads), str(args.runs)] + paths))
    ours = per_image(run_output([args.bench, models, str(threads), str(args.runs)] + paths))
    ref_total = our_total = 0.0
    for p in pictures:
        rm, om = statistics.median(ref[p]["runs_s"]), statistics.median(ours[p]["runs_s"])
        same = [l["text"] for l in ref[p]["lines"]] == [l["text"] for l in ours[p]["lines"]]
        text_equal &= same
        ref_total += rm; our_total += om
        rows.append((threads, p, rm, om, same))
    summary[threads] = (ref_total, our_total)

print(f"{'thr':<4}{'picture':<22}{'onnxruntime s':>14}{'sightline s':>13}{'ratio':>8}  text equal")
for threads, p, rm, om, same in rows:
    print(f"{threads:<4}{p:<22}{rm:>14.3f}{om:>13.3f}{rm / om:>8.2f}  {same}")
for threads, (rt, ot) in summary.items():
    print(f"{threads} thread(s): sum of medians onnxruntime {rt:.3f} s, sightline {ot:.3f} s, ratio {rt / ot:.2f}")
print(json.dumps({"benchmark": "vision-ocr", "runs": args.runs, "pictures": len(pictures), "text_equal": text_equal,
                  **{f"ratio_{t}thread": round(rt / ot, 3) for t, (rt, ot) in summary.items()},
                  **{f"reference_sum_median_s_{t}thread": round(rt, 4) for t, (rt, ot) in summary.items()},
                  **{f"sightline_sum_median_s_{t}thread": round(ot, 4) for t, (rt, ot) in summary.items()}}))
