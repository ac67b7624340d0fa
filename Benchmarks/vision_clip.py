#!/usr/bin/env python3
"""`Benchmarks/run vision-clip`: Sightline's CLIPModel against transformers' CLIPModel.

No real CLIP weights can be fetched here, so both sides load the same randomly initialised
checkpoints in the Hugging Face layout:
  tiny      Tests/Fixtures/clip/tiny (hidden 32, 2 layers; ViT-B/32's 224² / 32² geometry)
  base      a full-size ViT-B/32 (transformers' CLIPConfig defaults: vision 768 × 12 layers,
            text 512 × 12 layers, projection 512, vocabulary 49408; eos_token_id 2 as in OpenAI's
            config, so texts pool at their highest id), made once by this script into --work with
            save_pretrained (seed 0) and the tiny fixture's tokenizer.json
  reference: transformers' CLIPModel on the CPU (torch.set_num_threads(threads), inference
             mode, default attention), the default CLIPImageProcessor and CLIPTokenizer;
             get_image_features / get_text_features, then L2 normalisation
  sightline: CLIPModel.embed(images:) / embed(texts:) (Benchmarks/CLIPBench)
Inputs: the six pictures of Tests/Fixtures/vision used by the CLIP fixtures, cycled to
--images; --texts captions and queries. Both sides time preprocessing + model (pictures are
decoded before timing; texts are tokenised inside). Configurations: model × kind (images in
batches of 1 and 8, texts in batches of 1 and 32) × 1 and 2 threads. Each side runs in its own
process (loading untimed) and embeds all inputs --runs times per invocation; the two sides
alternate invocation by invocation so machine noise hits both. Figures are medians of all
runs; ratio = reference / sightline (> 1: Sightline faster). The embeddings must agree
(cosine >= 0.9999). The last line printed is one JSON object.

Needs the venv with torch + transformers (default /work/venv-vision: torch 2.15.0,
transformers 5.24.0) passed as --python; this script itself needs only the standard library.
"""
import argparse, json, math, os, statistics, subprocess
from benchlib import run, floats

ap = argparse.ArgumentParser()
ap.add_argument("--bench", required=True, help="path of the CLIPBench executable")
ap.add_argument("--work", required=True, help="folder for the generated inputs, outputs and the base checkpoint")
ap.add_argument("--python", default="/work/venv-vision/bin/python", help="python of the reference venv")
ap.add_argument("--runs", type=int, default=3, help="timed runs per invocation")
ap.add_argument("--rounds", type=int, default=2, help="alternating invocations per side and configuration")
ap.add_argument("--images", type=int, default=16)
ap.add_argument("--texts", type=int, default=64)
ap.add_argument("--models", default="tiny,base")
ap.add_argument("--threads", default="1,2")
args = ap.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.abspath(os.path.join(here, ".."))
tiny_dir = os.path.join(root, "Tests", "Fixtures", "clip", "tiny")
base_dir = os.path.join(os.path.abspath(args.work), "clip-vit-b32-random")
os.makedirs(args.work, exist_ok=True)

MAKE_BASE = r'''
import shutil, sys, torch
from transformers import CLIPConfig, CLIPModel
out, tiny = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
# eos_token_id 2, as openai/clip-vit-base-patch32's config has: pooling at the highest id.
CLIPModel(CLIPConfig(text_config={"eos_token_id": 2, "bos_token_id": 0, "pad_token_id": 1})).eval().save_pretrained(out)
for name in ("tokenizer.json", "preprocessor_config.json"):
    shutil.copy(f"{tiny}/{name}", f"{out}/{name}")
'''

REFERENCE = r'''
import json, sys, time
import numpy as np, torch
from PIL import Image
from transformers import CLIPImageProcessor, CLIPModel, CLIPTokenizer
model_dir, kind, inputs_path, batch, threads, runs, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
torch.set_num_threads(threads)
inputs = json.load(open(inputs_path, encoding="utf-8"))
model = CLIPModel.from_pretrained(model_dir).eval()
processor, tokenizer = CLIPImageProcessor(), CLIPTokenizer.from_pretrained(model_dir)
items = [Image.open(p).convert("RGB") for p in inputs] if kind == "images" else inputs

def features(chunk):
    if kind == "images":
        f = model.get_image_features(pixel_values=processor(images=chunk, return_tensors="pt")["pixel_values"])
    else:
        t = tokenizer(chunk, padding=True, truncation=True, max_length=77, return_tensors="pt")
        f = model.get_text_features(input_ids=t["input_ids"], attention_mask=t["attention_mask"])
    f = f if torch.is_tensor(f) else f.pooler_output
    return f / f.norm(dim=-1, keepdim=True)

times = []
with torch.inference_mode():
    features(items[:batch])  # warm-up, as the Swift side has loaded its weights
    for _ in range(runs):
        t0 = time.perf_counter()
        emb = torch.cat([features(items[i:i + batch]) for i in range(0, len(items), batch)])
        times.append(time.perf_counter() - t0)
np.asarray(emb, dtype=np.float32).tofile(out)
print(json.dumps({"runs_s": times, "inputs": len(items), "dim": int(emb.shape[1])}))
'''

PICTURES = ["bottles", "cars", "carphone", "bikes", "word", "pixel"]
TEXTS = ["a photo of a cat", "a person at the door", "someone delivering a package", "a red car in the driveway",
         "two people talking near the gate at night", "a dog running on the beach", "a truck unloading boxes",
         "an empty parking lot in the rain", "a bicycle leaning against a wall", "people crossing the street",
         "a close-up of a face", "a sign that says no parking", "bottles on a conveyor belt",
         "a crowded street market with many stalls and colourful umbrellas in the afternoon sun"]

if "base" in args.models and not os.path.exists(os.path.join(base_dir, "model.safetensors")):
    subprocess.run([args.python, "-c", MAKE_BASE, base_dir, tiny_dir], check=True, stdout=subprocess.DEVNULL)

inputs = {
    "images": [os.path.join(root, "Tests", "Fixtures", "vision", f"{PICTURES[i % len(PICTURES)]}.ppm") for i in range(args.images)],
    "texts": [TEXTS[i % len(TEXTS)] for i in range(args.texts)],
}
paths = {}
for kind, items in inputs.items():
    paths[kind] = os.path.join(args.work, f"clip-{kind}.json")
    with open(paths[kind], "w", encoding="utf-8") as f:
        json.dump(items, f)

results = []
for model in args.models.split(","):
    model_dir = tiny_dir if model == "tiny" else base_dir
    for threads in [int(t) for t in args.threads.split(",")]:
        for kind, batches in (("images", (1, 8)), ("texts", (1, 32))):
            for batch in batches:
                tag = f"{model}-{kind}-b{batch}-t{threads}"
                ref_out, our_out = os.path.join(args.work, f"clip-ref-{tag}.f32"), os.path.join(args.work, f"clip-ours-{tag}.f32")
                ref_times, our_times = [], []
                for _ in range(args.rounds):
                    common = [model_dir, kind, paths[kind], str(batch), str(threads), str(args.runs)]
                    ref = run([args.python, "-c", REFERENCE, *common, ref_out])
                    ours = run([args.bench, *common, our_out])
                    ref_times += ref["runs_s"]
                    our_times += ours["runs_s"]
                dim, n = ours["dim"], ours["inputs"]
                a, b = floats(ref_out), floats(our_out)
                assert len(a) == len(b) == dim * n, (len(a), len(b))
                worst = min(sum(p * q for p, q in zip(a[k * dim:(k + 1) * dim], b[k * dim:(k + 1) * dim]))
                            / math.sqrt(sum(p * p for p in a[k * dim:(k + 1) * dim]) * sum(q * q for q in b[k * dim:(k + 1) * dim]))
                            for k in range(n))
                assert worst >= 0.9999, f"{tag}: embeddings disagree, min cosine {worst}"
                ref_med, our_med = statistics.median(ref_times), statistics.median(our_times)
                results.append({"model": model, "kind": kind, "batch": batch, "threads": threads, "inputs": n,
                                "reference_median_s": round(ref_med, 4), "sightline_median_s": round(our_med, 4),
                                "per_second_sightline": round(n / our_med, 1), "per_second_reference": round(n / ref_med, 1),
                                "ratio": round(ref_med / our_med, 3), "min_cosine": round(worst, 7)})
                r = results[-1]
                print(f"{model:>5} {kind:>6} batch {batch:>2} threads {threads}: transformers {r['per_second_reference']:>8.1f}/s  "
                      f"sightline {r['per_second_sightline']:>8.1f}/s  ratio {r['ratio']:.2f}  min cos {worst:.7f}", flush=True)

print(json.dumps({"benchmark": "vision-clip", "runs_per_side": args.rounds * args.runs, "results": results}))
