#!/usr/bin/env python3
"""Golden fixtures for the OCR target: PP-OCRv5 mobile (det + textline orientation + rec)
run by onnxruntime on the same ONNX files, with PaddleOCR's pre- and post-processing written
out here with numpy / cv2 / pyclipper / shapely (PaddleOCR's DBPostProcess, sorted_boxes,
get_rotate_crop_image, resize_norm_img and CTCLabelDecode, with the PP-OCRv5 pipeline's
defaults). Writes into Tests/Fixtures/ocr/:

  <name>.ppm / .pgm      the decoded input pixels (so Swift reads exactly what cv2 decoded)
  ppocr_golden.json      per image: boxes (quads, input pixels), text, score; CER vs .txt
  ppocr_tensors.bin      float32 little-endian network outputs for small fixed inputs
                         (det probability map, cls probabilities, rec probabilities),
                         described in the JSON's "tensors" section with offsets

Environment: /work/venv-vision (Python 3.11) with onnxruntime 1.32.0, onnx 1.23.2,
opencv-python-headless 5.0.0.93, numpy 2.4.6, pyclipper 1.4.0, shapely 2.2.0.
Models: Scripts/fetch-models ppocr-v5-mobile (or $SIGHTLINE_MODELS/ppocr-v5-mobile).

  /work/venv-vision/bin/python Scripts/golden/ppocr_golden.py --media DIR   (the ocr/ media folder)
  /work/venv-vision/bin/python Scripts/golden/ppocr_golden.py --bench        (times the fixtures)
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import cv2
import numpy as np
import onnxruntime as ort
import pyclipper
from shapely.geometry import Polygon

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(os.environ.get("SIGHTLINE_MODELS", os.path.expanduser("~/.cache/sightline/models")), "ppocr-v5-mobile")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "ocr")

# Images used (source file, fixture name, kind): the Tesseract pages carry a .txt ground truth.
IMAGES = [
    ("tesseract-test_phototest.tif", "phototest.pgm"),
    ("tesseract-test_eurotext.tif", "eurotext.pgm"),
    ("clovaai-dtrb_demo_1.png", "dtrb_demo_1.ppm"),
    ("clovaai-dtrb_demo_3.png", "dtrb_demo_3.ppm"),
    ("easyocr_chinese.jpg", "easyocr_chinese.ppm"),
]

# PP-OCRv5 pipeline defaults (PaddleOCR 3.x text detection / recognition).
DET_LIMIT_SIDE = 64        # limit_type "min": upscale so the short side is at least this
DET_MAX_SIDE = 4000        # then cap the long side
DET_MEAN = [0.485, 0.456, 0.406]
DET_STD = [0.229, 0.224, 0.225]
DB_THRESH, DB_BOX_THRESH, DB_UNCLIP, DB_MAX_CANDIDATES, DB_MIN_SIZE = 0.3, 0.6, 1.5, 1000, 3
CLS_H, CLS_W = 80, 160
REC_H, REC_W = 48, 320
REC_CLASSES = 512  # classes per step kept in the tensor fixture


def det_resize(img):
    h, w = img.shape[:2]
    ratio = DET_LIMIT_SIDE / min(h, w) if min(h, w) < DET_LIMIT_SIDE else 1.0
    rh, rw = int(h * ratio), int(w * ratio)
    if max(rh, rw) > DET_MAX_SIDE:
        ratio = DET_MAX_SIDE / max(rh, rw)
        rh, rw = int(rh * ratio), int(rw * ratio)
    rh = max(int(round(rh / 32) * 32), 32)
    rw = max(int(round(rw / 32) * 32), 32)
    return cv2.resize(img, (rw, rh))


def normalize(img, mean, std):
    x = img.astype(np.float32) / 255.0
    x = (x - np.array(mean, np.float32)) / np.array(std, np.float32)
    return x.transpose(2, 0, 1)[None].astype(np.float32)


def get_mini_boxes(contour):
    rect = cv2.minAreaRect(contour)
    points = sorted(list(cv2.boxPoints(rect)), key=lambda p: p[0])
    i1, i4 = (0, 1) if points[1][1] > points[0][1] else (1, 0)
    i2, i3 = (2, 3) if points[3][1] > points[2][1] else (3, 2)
    return [points[i1], points[i2], points[i3], points[i4]], min(rect[1])


def box_score_fast(bitmap, box):
    h, w = bitmap.shape[:2]
    box = box.copy()
    xmin = np.clip(np.floor(box[:, 0].min()).astype(np.int32), 0, w - 1)
    xmax = np.clip(np.ceil(box[:, 0].max()).astype(np.int32), 0, w - 1)
    ymin = np.clip(np.floor(box[:, 1].min()).astype(np.int32), 0, h - 1)
    ymax = np.clip(np.ceil(box[:, 1].max()).astype(np.int32), 0, h - 1)
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    box[:, 0] -= xmin
    box[:, 1] -= ymin
    cv2.fillPoly(mask, box.reshape(1, -1, 2).astype(np.int32), 1)
    return cv2.mean(bitmap[ymin:ymax + 1, xmin:xmax + 1], mask)[0]


def unclip(box):
    poly = Polygon(box)
    distance = poly.area * DB_UNCLIP / poly.length
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(box, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    return np.array(offset.Execute(distance))


def db_postprocess(pred, src_h, src_w):
    bitmap = pred > DB_THRESH
    height, width = bitmap.shape
    contours, _ = cv2.findContours((bitmap * 255).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes, scores = [], []
    for contour in contours[:DB_MAX_CANDIDATES]:
        points, sside = get_mini_boxes(contour)
        if sside < DB_MIN_SIZE:
            continue
        points = np.array(points)
        score = box_score_fast(pred, points.reshape(-1, 2))
        if DB_BOX_THRESH > score:
            continue
        expanded = unclip(points)
        if len(expanded) != 1:  # pyclipper split or lost the polygon
            continue
        box, sside = get_mini_boxes(expanded.reshape(-1, 1, 2))
        if sside < DB_MIN_SIZE + 2:
            continue
        box = np.array(box)
        box[:, 0] = np.clip(np.round(box[:, 0] / width * src_w), 0, src_w)
        box[:, 1] = np.clip(np.round(box[:, 1] / height * src_h), 0, src_h)
        boxes.append(box.astype(np.int32))
        scores.append(float(score))
    return boxes, scores


def order_points_clockwise(pts):
    rect = np.zeros((4, 2), dtype=np.float32)
    s = pts.sum(axis=1)
    rect[0] = pts[np.argmin(s)]
    rect[2] = pts[np.argmax(s)]
    tmp = np.delete(pts, (np.argmin(s), np.argmax(s)), axis=0)
    diff = np.diff(np.array(tmp), axis=1)
    rect[1] = tmp[np.argmin(diff)]
    rect[3] = tmp[np.argmax(diff)]
    return rect


def filter_boxes(boxes, h, w):
    out = []
    for box in boxes:
        box = order_points_clockwise(box)
        box[:, 0] = np.clip(box[:, 0], 0, w - 1)
        box[:, 1] = np.clip(box[:, 1], 0, h - 1)
        rw = int(np.linalg.norm(box[0] - box[1]))
        rh = int(np.linalg.norm(box[0] - box[3]))
        if rw <= 3 or rh <= 3:
            continue
        out.append(box)
    return out


def sorted_boxes(boxes):
    b = sorted(boxes, key=lambda x: (x[0][1], x[0][0]))
    for i in range(len(b) - 1):
        for j in range(i, -1, -1):
            if abs(b[j + 1][0][1] - b[j][0][1]) < 10 and b[j + 1][0][0] < b[j][0][0]:
                b[j], b[j + 1] = b[j + 1], b[j]
            else:
                break
    return b


def rotate_crop(img, points):
    w = int(max(np.linalg.norm(points[0] - points[1]), np.linalg.norm(points[2] - points[3])))
    h = int(max(np.linalg.norm(points[0] - points[3]), np.linalg.norm(points[1] - points[2])))
    std = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    m = cv2.getPerspectiveTransform(points.astype(np.float32), std)
    dst = cv2.warpPerspective(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    if dst.shape[0] * 1.0 / dst.shape[1] >= 1.5:
        dst = np.rot90(dst)
    return np.ascontiguousarray(dst)


def cls_input(crop):
    return normalize(cv2.resize(crop, (CLS_W, CLS_H)), DET_MEAN, DET_STD)


def rec_input(crop):
    h, w = crop.shape[:2]
    max_ratio = max(REC_W / REC_H, w / float(h))
    width = int(REC_H * max_ratio)
    rw = min(width, int(math.ceil(REC_H * w / float(h))))
    resized = cv2.resize(crop, (rw, REC_H)).astype(np.float32)
    x = (resized.transpose(2, 0, 1) / 255.0 - 0.5) / 0.5
    out = np.zeros((3, REC_H, width), np.float32)
    out[:, :, :rw] = x
    return out[None]


def ctc_decode(probs, keys):
    idx = probs.argmax(axis=1)
    conf = probs.max(axis=1)
    chars, scores = [], []
    for t in range(len(idx)):
        if idx[t] == 0 or (t > 0 and idx[t] == idx[t - 1]):
            continue
        chars.append(keys[idx[t]])
        scores.append(float(conf[t]))
    return "".join(chars), (float(np.mean(scores)) if scores else 0.0)


class Pipeline:
    def __init__(self, threads=1):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.det = ort.InferenceSession(os.path.join(MODELS, "ppocrv5_det.onnx"), opts, providers=["CPUExecutionProvider"])
        self.cls = ort.InferenceSession(os.path.join(MODELS, "ppocrv5_cls.onnx"), opts, providers=["CPUExecutionProvider"])
        self.rec = ort.InferenceSession(os.path.join(MODELS, "ppocrv5_rec.onnx"), opts, providers=["CPUExecutionProvider"])
        with open(os.path.join(MODELS, "ppocr_keys_v5.txt"), encoding="utf-8") as f:
            self.keys = [line.rstrip("\n") for line in f]

    def run(self, name, x):
        s = getattr(self, name)
        return s.run(None, {s.get_inputs()[0].name: x})[0]

    def __call__(self, bgr):
        h, w = bgr.shape[:2]
        pred = self.run("det", normalize(det_resize(bgr), DET_MEAN, DET_STD))[0, 0]
        boxes, _ = db_postprocess(pred, h, w)
        boxes = sorted_boxes(filter_boxes(boxes, h, w))
        lines = []
        for box in boxes:
            crop = rotate_crop(bgr, box.copy())
            probs = self.run("cls", cls_input(crop))[0]
            if int(np.argmax(probs)) == 1:
                crop = cv2.rotate(crop, cv2.ROTATE_180)
            text, score = ctc_decode(self.run("rec", rec_input(crop))[0], self.keys)
            lines.append({"box": box.astype(int).tolist(), "text": text, "score": score, "angle": int(np.argmax(probs)) * 180})
        return lines


def read_pixels(src):
    """The decoded picture as RGB bytes and the fixture file bytes (P5 for grey, else P6)."""
    img = cv2.imread(src, cv2.IMREAD_COLOR)  # BGR, what PaddleOCR reads
    rgb = img[:, :, ::-1]
    grey = bool(np.all(rgb[:, :, 0] == rgb[:, :, 1]) and np.all(rgb[:, :, 1] == rgb[:, :, 2]))
    h, w = rgb.shape[:2]
    if grey:
        return rgb, b"P5\n%d %d\n255\n" % (w, h) + rgb[:, :, 0].tobytes()
    return rgb, b"P6\n%d %d\n255\n" % (w, h) + rgb.tobytes()


def cer(hyp, ref):
    """Character error rate: Levenshtein distance / reference length, whitespace runs as one space."""
    hyp, ref = " ".join(hyp.split()), " ".join(ref.split())
    prev = list(range(len(ref) + 1))
    for i, hc in enumerate(hyp, 1):
        cur = [i] + [0] * len(ref)
        for j, rc in enumerate(ref, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (hc != rc))
        prev = cur
    return prev[-1] / max(len(ref), 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", action="store_true", help="time the pipeline instead of writing fixtures")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--media", help="folder holding the source images and their .txt ground truth")
    args = ap.parse_args()
    if args.bench:
        return bench(args.repeats)
    if not args.media:
        ap.error("--media DIR is required to write fixtures")
    media = args.media
    os.makedirs(OUT, exist_ok=True)
    pipe = Pipeline()
    result = {"images": [], "tensors": []}
    for src, fixture in IMAGES:
        rgb, data = read_pixels(os.path.join(media, src))
        with open(os.path.join(OUT, fixture), "wb") as f:
            f.write(data)
        lines = pipe(np.ascontiguousarray(rgb[:, :, ::-1]))
        entry = {"file": fixture, "source": src, "lines": lines}
        txt = os.path.join(media, src.rsplit(".", 1)[0] + ".txt")
        if os.path.exists(txt):
            with open(txt, encoding="utf-8") as f:
                ref = f.read()
            entry["reference"] = ref
            entry["cer"] = cer("\n".join(l["text"] for l in lines), ref)
        result["images"].append(entry)
        print(fixture, len(lines), "lines", "cer=%.4f" % entry["cer"] if "cer" in entry else "", file=sys.stderr)

    # Per-network outputs for small deterministic inputs (a smooth pattern in [-1, 1]).
    blob = bytearray()

    def pattern(shape):
        n = int(np.prod(shape))
        return np.sin(np.arange(n, dtype=np.float64) * 0.37).reshape(shape).astype(np.float32)

    for net, shape in [("det", (1, 3, 64, 96)), ("cls", (1, 3, CLS_H, CLS_W)), ("rec", (1, 3, REC_H, 96))]:
        out = pipe.run(net, pattern(shape))
        entry = {"net": net, "input_shape": list(shape), "output_shape": list(out.shape)}
        if net == "rec":
            # 18385 classes per step is too much to commit: keep the first REC_CLASSES of
            # each step plus each step's argmax and max.
            entry["argmax"] = out[0].argmax(axis=1).tolist()
            entry["max"] = out[0].max(axis=1).tolist()
            entry["stored_classes"] = REC_CLASSES
            out = np.ascontiguousarray(out[..., :REC_CLASSES])
        entry["offset"], entry["count"] = len(blob), int(out.size)
        result["tensors"].append(entry)
        blob += out.astype("<f4").tobytes()
    with open(os.path.join(OUT, "ppocr_tensors.bin"), "wb") as f:
        f.write(bytes(blob))
    with open(os.path.join(OUT, "ppocr_golden.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=1)


def bench(repeats):
    """Median seconds per image for 1 and 2 onnxruntime threads, one JSON line per setting."""
    imgs = [cv2.imread(os.path.join(OUT, fixture), cv2.IMREAD_COLOR) for _, fixture in IMAGES]
    for threads in (1, 2):
        pipe = Pipeline(threads)
        for name, img in zip([f for _, f in IMAGES], imgs):
            pipe(img)  # warm-up
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                pipe(img)
                times.append(time.perf_counter() - t)
            print(json.dumps({"threads": threads, "image": name, "median_s": statistics.median(times)}))


if __name__ == "__main__":
    main()
