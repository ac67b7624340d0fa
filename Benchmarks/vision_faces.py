#!/usr/bin/env python3
"""`Benchmarks/run vision-faces`: Sightline's MTCNN against facenet-pytorch's cascade with the
three networks on onnxruntime.

Both sides run the same cascade on the same weights (facenet-pytorch 2.6.0 pnet/rnet/onet.pt)
and pictures, with the same thread count:
  reference: facenet-pytorch's own detect_face (pyramid, area resampling, NMS, crops, all its
             Python/torch code) with P-, R- and O-Net replaced by onnxruntime sessions on ONNX
             exports of facenet-pytorch's PNet/RNet/ONet (exported once into --work);
             onnxruntime and torch both limited to the thread count
  sightline: FaceDetector.detect (Benchmarks/FacesBench), the kernel pool at the thread count
Pictures: the committed fixtures Tests/Fixtures/vision/mtcnn_*.ppm (360x288, 176x144, 548x144)
and the 360x288 one enlarged twice by pixel repetition (720x576, an SD camera frame). Times
are per picture, compute only (model and session loading excluded), medians of --runs runs
per side, the sides alternating; ratio = reference / sightline (> 1: Sightline faster). The
two sides must find the same faces (box IoU >= 0.99, probabilities within 1e-3). The last
line printed is one JSON object.

Needs the venv with torch, onnx, onnxruntime and facenet-pytorch (see
Scripts/golden/mtcnn_golden.py) as --python, and the model in $SIGHTLINE_MODELS (Scripts/fetch-models mtcnn).
"""
import argparse, json, os, statistics, subprocess, sys
from benchlib import run

# torch's OpenMP workers sleep instead of spinning (see above).
PASSIVE = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}

ap = argparse.ArgumentParser()
ap.add_argument("--bench", required=True, help="path of the FacesBench executable")
ap.add_argument("--work", required=True, help="folder for the ONNX exports and pictures")
ap.add_argument("--python", default="/work/venv-vision/bin/python", help="python of the reference venv")
ap.add_argument("--runs", type=int, default=7)
ap.add_argument("--threads", default="1,2")
args = ap.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, ".."))
models = os.environ.get("SIGHTLINE_MODELS", os.path.expanduser("~/.cache/sightline/models"))
work = os.path.abspath(args.work)
os.makedirs(work, exist_ok=True)

# The reference side runs in the venv (this script itself needs only the standard library).
REFERENCE = r'''
import json, os, sys, time
import numpy as np, torch, onnxruntime as ort
from facenet_pytorch import MTCNN
from facenet_pytorch.models.utils.detect_face import detect_face
root, work, threads, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
pictures = sys.argv[5:]
torch.set_num_threads(threads)
mtcnn = MTCNN(device="cpu").eval()
exports = {"pnet": (mtcnn.pnet, (1, 3, 60, 80), ["reg", "prob"]), "rnet": (mtcnn.rnet, (4, 3, 24, 24), ["reg", "prob"]),
           "onet": (mtcnn.onet, (4, 3, 48, 48), ["reg", "landmarks", "prob"])}
for name, (net, shape, outputs) in exports.items():
    path = os.path.join(work, f"mtcnn_{name}.onnx")
    if not os.path.exists(path):
        axes = {0: "n", 2: "h", 3: "w"} if name == "pnet" else {0: "n"}
        torch.onnx.export(net, torch.zeros(shape), path, input_names=["x"], output_names=outputs,
                          dynamic_axes={"x": axes, **{o: {0: "n"} for o in outputs}}, opset_version=17, dynamo=False)

class OnnxNet(torch.nn.Module):
    """An ORT session where detect_face expects the torch module (it asks for a parameter's dtype)."""
    def __init__(self, name):
        super().__init__()
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # No spin-waiting: on a shared machine spinning workers of two runtimes (onnxruntime
        # and torch's own ops in the cascade) starve each other; measured, spinning made the
        # 2-thread reference ~10x slower here, which would flatter Sightline.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(os.path.join(work, f"mtcnn_{name}.onnx"), so, providers=["CPUExecutionProvider"])
        self.dtype_probe = torch.nn.Parameter(torch.zeros(1))
    def forward(self, x):
        return tuple(torch.from_numpy(o) for o in self.session.run(None, {"x": x.numpy()}))

pnet, rnet, onet = OnnxNet("pnet"), OnnxNet("rnet"), OnnxNet("onet")
def read_ppm(path):
    data = open(path, "rb").read()
    head = data.split(maxsplit=4)
    w, h = int(head[1]), int(head[2])
    return np.frombuffer(data[len(data) - w * h * 3:], dtype=np.uint8).reshape(h, w, 3).copy()
out = []
for p in pictures:
    img = read_ppm(p)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        with torch.no_grad():
            boxes, points = detect_face(img, 20, pnet, rnet, onet, [0.6, 0.7, 0.7], 0.709, "cpu")
        times.append(time.perf_counter() - t0)
    b = boxes[0]
    faces = [{"box": [float(v) for v in r[:4]], "probability": float(r[4])} for r in b]
    out.append({"file": p, "runs_s": times, "faces": faces})
print(json.dumps({"threads": threads, "pictures": out}))
'''

def read_ppm(path):
    data = open(path, "rb").read()
    head = data.split(maxsplit=4)
    w, h = int(head[1]), int(head[2])
    return w, h, data[len(data) - w * h * 3:]

fixtures = [os.path.join(root, "Tests", "Fixtures", "vision", f)
            for f in ["mtcnn_lipnet.ppm", "mtcnn_carphone.ppm", "mtcnn_three_people.ppm"]]
big = os.path.join(work, "mtcnn_lipnet_x2.ppm")
w, h, px = read_ppm(fixtures[0])
rows = [px[y * w * 3:(y + 1) * w * 3] for y in range(h)]
wide = [b"".join(r[x * 3:x * 3 + 3] * 2 for x in range(w)) for r in rows]
with open(big, "wb") as f:
    f.write(b"P6\n%d %d\n255\n" % (2 * w, 2 * h))
    for r in wide:  # each row twice
        f.write(r + r)
pictures = fixtures + [big]

def iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0]); ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0: return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

results = []
for threads in [int(t) for t in args.threads.split(",")]:
    ref_times = {p: [] for p in pictures}; our_times = {p: [] for p in pictures}
    ref = ours = None
    for _ in range(args.runs):  # alternate the sides so machine noise hits both alike
        ref = run([args.python, "-c", REFERENCE, root, work, str(threads), "1"] + pictures, env=PASSIVE)
        ours = run([args.bench, os.path.join(models, "mtcnn"), "1", str(threads)] + pictures, env=PASSIVE)
        for r in ref["pictures"]: ref_times[r["file"]] += r["runs_s"]
        for r in ours["pictures"]: our_times[r["file"]] += r["runs_s"]
    worst_iou, worst_dp = 1.0, 0.0
    for r, o in zip(ref["pictures"], ours["pictures"]):
        assert len(r["faces"]) == len(o["faces"]), (r["file"], len(r["faces"]), len(o["faces"]))
        for rf in r["faces"]:
            best = max(o["faces"], key=lambda of: iou(of["box"], rf["box"]))
            worst_iou = min(worst_iou, iou(best["box"], rf["box"]))
            worst_dp = max(worst_dp, abs(best["probability"] - rf["probability"]))
    assert worst_iou >= 0.99 and worst_dp <= 1e-3, (worst_iou, worst_dp)
    for p in pictures:
        rm, om = statistics.median(ref_times[p]), statistics.median(our_times[p])
        w, h, _ = read_ppm(p)
        results.append({"picture": os.path.basename(p), "size": f"{w}x{h}", "threads": threads,
                        "faces": len(ours["pictures"][pictures.index(p)]["faces"]),
                        "reference_median_ms": round(rm * 1e3, 2), "sightline_median_ms": round(om * 1e3, 2),
                        "ratio": round(rm / om, 3), "min_iou": round(worst_iou, 4), "max_dprob": worst_dp})

print(f"{'picture':<28}{'size':>9}{'thr':>4}{'faces':>6}{'ORT cascade ms':>16}{'sightline ms':>14}{'ratio':>7}")
for r in results:
    print(f"{r['picture']:<28}{r['size']:>9}{r['threads']:>4}{r['faces']:>6}{r['reference_median_ms']:>16.2f}"
          f"{r['sightline_median_ms']:>14.2f}{r['ratio']:>7.2f}")
print(json.dumps({"benchmark": "vision-faces", "runs": args.runs, "results": results,
                  "min_ratio": min(r["ratio"] for r in results)}))
