#!/usr/bin/env python3
"""`Benchmarks/run vision`: every vision benchmark in one run, each at 1 and 2 threads against its
reference, and one summary.

Runs, one after another, the five side-by-side drivers (each alternates its two sides and reports
medians; see Benchmarks/README.md for what each times):
  person  vision_person.py  SSDLite person detector vs TensorFlow on the frozen graph, and the same
                            network converted with tf2onnx on onnxruntime (--onnx)
  faces   vision_faces.py   MTCNN vs facenet-pytorch's cascade with its nets on onnxruntime
  labels  vision_labels.py  MobileNetV2 vs onnxruntime on a torch.onnx export of the same weights
  ocr     vision_ocr.py     PP-OCRv5 vs the same three ONNX files on onnxruntime
  text    vision_text.py    MiniLM vs sentence-transformers
and prints one row per (model, reference, threads) with the ratio reference time / Sightline time
(> 1: Sightline faster), the 1-minute load average before and after each driver (the machine is
shared: read ratios next to it), and, as the last line, one JSON object with every driver's own
JSON and the summary rows. `--quick` runs each driver with fewer runs.
"""
import argparse, json, os, subprocess, sys, time
from benchlib import run

ap = argparse.ArgumentParser()
ap.add_argument("--bin", required=True, help="folder holding PersonBench, FacesBench, LabelsBench, OCRBench, TextBench")
ap.add_argument("--work", required=True, help="folder for the drivers' exports and inputs")
ap.add_argument("--python", default="/work/venv-vision/bin/python", help="python of the reference venv")
ap.add_argument("--only", default="person,faces,labels,ocr,text", help="comma-separated subset")
ap.add_argument("--quick", action="store_true", help="fewer runs per driver (about half the time)")
args = ap.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
quick = args.quick
drivers = {
    "person": ["vision_person.py", "PersonBench", ["--work", args.work, "--onnx"] + (["--runs", "3", "--passes", "3"] if quick else [])],
    "faces": ["vision_faces.py", "FacesBench", ["--work", args.work] + (["--runs", "3"] if quick else [])],
    "labels": ["vision_labels.py", "LabelsBench", ["--work", args.work] + (["--runs", "3", "--iterations", "5"] if quick else [])],
    "ocr": ["vision_ocr.py", "OCRBench", ["--runs", "3"] if quick else []],
    "text": ["vision_text.py", "TextBench", ["--work", args.work] + (["--runs", "2", "--rounds", "1"] if quick else [])],
}


def load():
    return round(os.getloadavg()[0], 2)


def rows_of(name, r):
    """(model, reference, threads, reference ms, sightline ms, ratio) rows from a driver's JSON."""
    out = []
    if name == "person":
        for t in (1, 2):
            out.append(("SSDLite person (network)", "TensorFlow", t, r[f"t{t}_network_tensorflow_ms"], r[f"t{t}_network_sightline_ms"],
                        r[f"t{t}_network_ratio"]))
            if f"t{t}_network_onnxruntime_ms" in r:
                out.append(("SSDLite person (network)", "onnxruntime (tf2onnx)", t, r[f"t{t}_network_onnxruntime_ms"],
                            r[f"t{t}_network_sightline_ms"], r[f"t{t}_network_onnxruntime_ratio"]))
            out.append(("SSDLite person (detect)", "TensorFlow", t, r[f"t{t}_detect_tensorflow_ms"], r[f"t{t}_detect_sightline_ms"],
                        r[f"t{t}_detect_ratio"]))
    elif name == "faces":
        for t in sorted({x["threads"] for x in r["results"]}):
            sel = [x for x in r["results"] if x["threads"] == t]
            ref, ours = sum(x["reference_median_ms"] for x in sel), sum(x["sightline_median_ms"] for x in sel)
            out.append((f"MTCNN ({len(sel)} pictures, summed)", "facenet-pytorch cascade on onnxruntime", t, ref, ours, round(ref / ours, 3)))
    elif name == "labels":
        for t, x in r["threads"].items():
            out.append(("MobileNetV2 labels", "onnxruntime", int(t), x["reference_median_ms"], x["sightline_median_ms"], x["ratio"]))
    elif name == "ocr":
        for t in (1, 2):
            out.append((f"PP-OCRv5 ({r['pictures']} pictures, summed)", "onnxruntime", t, r[f"reference_sum_median_s_{t}thread"] * 1e3,
                        r[f"sightline_sum_median_s_{t}thread"] * 1e3, r[f"ratio_{t}thread"]))
    elif name == "text":
        for x in r["results"]:
            out.append((f"MiniLM batch {x['batch']} ({r['texts']} texts)", "sentence-transformers", x["threads"],
                        x["reference_median_s"] * 1e3, x["sightline_median_s"] * 1e3, x["ratio"]))
    return out


results, summary = {}, []
for name in [n.strip() for n in args.only.split(",") if n.strip()]:
    if name not in drivers:
        sys.exit(f"unknown vision benchmark {name} (one of {', '.join(drivers)})")
    script, bench, extra = drivers[name]
    before = load()
    started = time.time()
    print(f"== {name} (load average {before})", file=sys.stderr, flush=True)
    r = run([sys.executable, os.path.join(here, script), "--bench", os.path.join(args.bin, bench), "--python", args.python] + extra)
    after = load()
    results[name] = {"load_average_before": before, "load_average_after": after, "seconds": round(time.time() - started, 1), **r}
    for model, ref, t, ref_ms, our_ms, ratio in rows_of(name, r):
        summary.append({"benchmark": name, "model": model, "reference": ref, "threads": t, "reference_ms": round(ref_ms, 2),
                        "sightline_ms": round(our_ms, 2), "ratio": ratio, "load_average": [before, after]})

print(f"{'model':<36}{'reference':<40}{'thr':>4}{'reference ms':>14}{'sightline ms':>14}{'ratio':>7}  load")
for s in summary:
    print(f"{s['model']:<36}{s['reference']:<40}{s['threads']:>4}{s['reference_ms']:>14.1f}{s['sightline_ms']:>14.1f}"
          f"{s['ratio']:>7.2f}  {s['load_average'][0]}-{s['load_average'][1]}")
print(json.dumps({"benchmark": "vision", "quick": quick, "min_ratio": min((s["ratio"] for s in summary), default=None),
                  "summary": summary, "drivers": results}))
