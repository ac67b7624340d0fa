#!/usr/bin/env python3
"""`Benchmarks/run vision-labels`: Sightline's MobileNetV2 against onnxruntime on the same weights.

Both sides run the same network (torchvision mobilenet_v2, weights
$SIGHTLINE_MODELS/mobilenet-v2/mobilenet_v2-b0353104.pth) on the same input tensor, one picture
at a time, producing the 1000 logits and the 1280-d pooled embedding:
  reference: an ONNX export of that network (torch.onnx.export, opset 17, BatchNorm folded by
             the exporter's constant folding; outputs logits and embedding), run by onnxruntime
             with all graph optimisations, intra-op threads = THREADS, inter-op 1
  sightline: ImageClassifier.analyse(normalized:) (Benchmarks/LabelsBench `run`)
Input: Tests/Fixtures/vision/bottles.ppm through torchvision's evaluation transform (the
pre-processing is not timed on either side). Times are per forward pass, model / session
loading and the first (warm-up) pass excluded, medians over --runs alternating processes of
--iterations passes each; ratio = reference / sightline (> 1: Sightline faster). The two
sides' logits must agree to 1e-3. The last line printed is one JSON object.

Needs the vision venv (torch, torchvision, onnx, onnxruntime, pillow) passed as --python.
"""
import argparse, json, os, statistics, subprocess, sys
from benchlib import run, floats

ap = argparse.ArgumentParser()
ap.add_argument("--bench", required=True, help="path of the LabelsBench executable")
ap.add_argument("--work", required=True, help="folder for the ONNX export and tensors")
ap.add_argument("--python", default="/work/venv-vision/bin/python", help="python of the reference venv")
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--iterations", type=int, default=10)
ap.add_argument("--threads", default="1,2")
args = ap.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, ".."))
models = os.environ.get("SIGHTLINE_MODELS", os.path.expanduser("~/.cache/sightline/models"))
model_dir = os.path.join(models, "mobilenet-v2")
os.makedirs(args.work, exist_ok=True)
onnx_path = os.path.join(args.work, "mobilenet_v2.onnx")
input_path = os.path.join(args.work, "labels-input.f32")

# Export once (and write the input tensor); both are reused by later runs.
PREPARE = r'''
import os, sys, numpy as np, torch, torchvision
from PIL import Image
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2
root, model_dir, onnx_path, input_path = sys.argv[1:5]
x = MobileNet_V2_Weights.IMAGENET1K_V1.transforms()(Image.open(os.path.join(root, "Tests/Fixtures/vision/bottles.ppm")).convert("RGB"))
x.numpy().astype("<f4").tofile(input_path)
if not os.path.exists(onnx_path):
    m = mobilenet_v2()
    m.load_state_dict(torch.load(os.path.join(model_dir, "mobilenet_v2-b0353104.pth"), map_location="cpu", weights_only=True))
    m.eval()
    class LogitsAndEmbedding(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m
        def forward(self, x):
            f = torch.nn.functional.adaptive_avg_pool2d(self.m.features(x), (1, 1)).flatten(1)
            return self.m.classifier(f), f
    torch.onnx.export(LogitsAndEmbedding(m), (x[None],), onnx_path, input_names=["input"],
                      output_names=["logits", "embedding"], opset_version=17, dynamo=False)
print("{}")
'''

REFERENCE = r'''
import json, sys, time, numpy as np, onnxruntime as ort
onnx_path, input_path, threads, iterations, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
session = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
x = np.fromfile(input_path, dtype="<f4").reshape(1, 3, 224, 224)
times = []
for i in range(iterations + 1):
    t0 = time.perf_counter()
    logits, embedding = session.run(None, {"input": x})
    if i > 0:
        times.append(time.perf_counter() - t0)
np.concatenate([logits[0], embedding[0]]).astype("<f4").tofile(out_path)
print(json.dumps({"runs_s": times}))
'''


run([args.python, "-c", PREPARE, root, model_dir, onnx_path, input_path])
results = {}
for threads in [int(t) for t in args.threads.split(",")]:
    ref_times, our_times = [], []
    ref_out, our_out = os.path.join(args.work, "labels-reference.f32"), os.path.join(args.work, "labels-sightline.f32")
    # Alternate the two sides process by process so machine noise hits both alike.
    for _ in range(args.runs):
        ref_times += run([args.python, "-c", REFERENCE, onnx_path, input_path, str(threads), str(args.iterations), ref_out])["runs_s"]
        # LabelsBench times every pass; its first is the warm-up, dropped as on the reference side.
        our_times += run([args.bench, "run", model_dir, input_path, str(threads), str(args.iterations + 1), our_out])["runs_s"][1:]
    ref_v, our_v = floats(ref_out), floats(our_out)
    max_logit = max(abs(a - b) for a, b in zip(ref_v[:1000], our_v[:1000]))
    max_embedding = max(abs(a - b) for a, b in zip(ref_v[1000:], our_v[1000:]))
    assert max_logit < 1e-3 and max_embedding < 1e-3, f"outputs differ: logits {max_logit}, embedding {max_embedding}"
    results[threads] = (statistics.median(ref_times), statistics.median(our_times), max_logit, max_embedding)

print(f"{'threads':<9}{'onnxruntime ms':>16}{'sightline ms':>14}{'ratio':>8}{'max |dlogit|':>15}{'max |demb|':>13}")
for threads, (ref, ours, dl, de) in results.items():
    print(f"{threads:<9}{ref * 1e3:>16.2f}{ours * 1e3:>14.2f}{ref / ours:>8.2f}{dl:>15.1e}{de:>13.1e}")
print(json.dumps({"benchmark": "vision-labels", "runs": args.runs, "iterations": args.iterations,
                  "threads": {str(t): {"reference_median_ms": round(r * 1e3, 3), "sightline_median_ms": round(o * 1e3, 3),
                                       "ratio": round(r / o, 3), "max_abs_logit_diff": dl, "max_abs_embedding_diff": de}
                              for t, (r, o, dl, de) in results.items()}}))
