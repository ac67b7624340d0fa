#!/usr/bin/env python3
"""Golden outputs for the person detector (Tests/Fixtures/vision/person), from TensorFlow
running the same frozen graph the Swift detector loads.

Venv: /work/venv-vision (Python 3.11) with tensorflow-cpu 2.21.0, numpy 2.4.6, pillow 13.0.0
(`Scripts/golden/setup-venv` style: `python -m venv /work/venv-vision && pip install
tensorflow-cpu numpy pillow`). Needs the ffmpeg CLI and the model:
`Scripts/fetch-models ssdlite-person`.

    /work/venv-vision/bin/python Scripts/golden/ssdlite_golden.py

The graph is imported with tf.compat.v1 and run as the package's own example runs it: the
picture as `image_tensor` (1, H, W, 3) uint8, outputs `detection_boxes` (normalised
[ymin, xmin, ymax, xmax]), `detection_scores`, `num_detections`. Written:
  ssdlite_golden.json         post-processing constants read from the graph; per committed
                              frame: TensorFlow's detections (score >= 0.05) in pixels
                              [x0, y0, x1, y1], sampled values of the pre-processed input
                              (`Preprocessor/sub`, (300, 300, 3)); per committed clip: for
                              EVERY decoded frame a pixel checksum, the number of people with
                              score > 0.5 and the scores above 0.3 (the Swift test samples the
                              clip with MediaIO and finds each sampled frame by checksum)
  ssdlite_anchors.f32         the graph's anchors (1917, 4) [ymin, xmin, ymax, xmax], f32 LE
  ssdlite_raw_*.f32           the box predictors' concatenated outputs for one frame: box
                              encodings `concat` (1917, 4), class logits `concat_1` (1917, 2)
  ssdlite_wrong_stride.pb     a tiny GraphDef with the stem conv at stride 1 (topology test)
"""
import json, os, subprocess, sys

import numpy as np
import tensorflow as tf
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "vision", "person")
MODELS = os.environ.get("SIGHTLINE_MODELS", os.path.expanduser("~/.cache/sightline/models"))
GRAPH = os.path.join(MODELS, "ssdlite-person", "frozen_inference_graph.pb")

FRAMES = ["asl-help.png", "asl-walk.png", "carphone.png", "bottles.png", "classroom.png"]  # committed, see SOURCES.md
RAW_FRAME = "asl-help.png"
CLIPS = [("media/carphone.mp4", 2.0), ("media/grid-speech.mpg", 2.0), ("media/bikes.mp4", 1.0),
         ("media/car-detection.mp4", 0.5), ("vision/person/classroom.mp4", 5.0),
         ("vision/person/one-by-one.mp4", 2.0)]  # committed clips and the fps the test samples them at
DETECTIONS_MIN_SCORE = 0.05
COUNT_THRESHOLD = 0.5
PREPROCESSED_SAMPLES = 500

NMS = "Postprocessor/BatchMultiClassNonMaxSuppression/map/while/MultiClassNonMaxSuppression"


def load_graph():
    graph_def = tf.compat.v1.GraphDef()
    with open(GRAPH, "rb") as f:
        graph_def.ParseFromString(f.read())
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    return graph_def, graph


def const(graph_def, name):
    for n in graph_def.node:
        if n.name == name:
            return tf.make_ndarray(n.attr["value"].tensor)
    raise KeyError(name)


def checksum(pixels):
    flat = pixels.reshape(-1).astype(np.int64)
    return int((flat * (np.arange(flat.size, dtype=np.int64) % 251 + 1)).sum())


def clip_frames(path):
    """Every frame of `path` as (H, W, 3) uint8, decoded by the ffmpeg CLI as MediaIO does
    (FFmpeg's decoder, swscale to rgb24, no resize)."""
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
                            "-of", "csv=p=0", path], capture_output=True, text=True, check=True).stdout.strip()
    w, h = (int(v) for v in probe.split(",")[:2])
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-an", "-fps_mode", "passthrough", "-sws_flags", "bicubic",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3)


def wrong_stride_graph(path):
    """A GraphDef with only the stem conv, at stride 1 instead of 2."""
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 300, 300, 3], name="Preprocessor/sub")
        w = tf.constant(np.zeros((3, 3, 3, 32), np.float32), name="FeatureExtractor/MobilenetV2/Conv/weights")
        tf.nn.conv2d(x, w, strides=[1, 1, 1, 1], padding="SAME", name="FeatureExtractor/MobilenetV2/Conv/Conv2D")
    with open(path, "wb") as f:
        f.write(g.as_graph_def().SerializeToString())


def main():
    os.makedirs(OUT, exist_ok=True)
    graph_def, graph = load_graph()
    sess = tf.compat.v1.Session(graph=graph, config=tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=2, inter_op_parallelism_threads=1))
    t = graph.get_tensor_by_name
    image = t("image_tensor:0")
    outputs = [t("detection_boxes:0"), t("detection_scores:0"), t("num_detections:0"), t("Preprocessor/sub:0"),
               t("concat:0"), t("concat_1:0")]

    post = {
        "iou_threshold": float(const(graph_def, f"{NMS}/non_max_suppression/iou_threshold")),
        "score_threshold": float(const(graph_def, f"{NMS}/non_max_suppression/score_threshold")),
        "max_per_class": int(const(graph_def, f"{NMS}/Minimum/x")),
        "max_total": int(const(graph_def, f"{NMS}/Minimum_1/x")),
        "logit_scale": float(const(graph_def, "Postprocessor/scale_logits/y")),
        "box_coder_scales": [float(const(graph_def, f"Postprocessor/Decode/truediv{s}/y")) for s in ["", "_1", "_2", "_3"]],
    }
    anchors = sess.run(t("Concatenate/concat:0"))
    assert anchors.shape == (1917, 4), anchors.shape
    anchors.astype("<f4").tofile(os.path.join(OUT, "ssdlite_anchors.f32"))

    def run(pixels):
        return sess.run(outputs, {image: pixels[None]})

    frames = []
    rng = np.random.default_rng(0)
    sample_idx = np.sort(rng.choice(300 * 300 * 3, PREPROCESSED_SAMPLES, replace=False))
    for name in FRAMES:
        pixels = np.asarray(Image.open(os.path.join(OUT, name)).convert("RGB"))
        h, w = pixels.shape[:2]
        boxes, scores, num, pre, enc, logits = run(pixels)
        dets = []
        for b, s in zip(boxes[0][: int(num[0])], scores[0][: int(num[0])]):
            if s >= DETECTIONS_MIN_SCORE:
                dets.append({"box": [float(b[1] * w), float(b[0] * h), float(b[3] * w), float(b[2] * h)], "score": float(s)})
        frames.append({"file": name, "width": w, "height": h, "detections": dets,
                       "preprocessed_indices": sample_idx.tolist(),
                       "preprocessed_values": pre.reshape(-1)[sample_idx].astype(float).tolist()})
        print(f"{name}: {w}x{h}, {len(dets)} detections >= {DETECTIONS_MIN_SCORE}, "
              f"people > {COUNT_THRESHOLD}: {sum(d['score'] > COUNT_THRESHOLD for d in dets)}")
        if name == RAW_FRAME:
            enc.reshape(1917, 4).astype("<f4").tofile(os.path.join(OUT, "ssdlite_raw_box_encodings.f32"))
            logits.reshape(1917, 2).astype("<f4").tofile(os.path.join(OUT, "ssdlite_raw_class_logits.f32"))

    clips = []
    for rel, fps in CLIPS:
        decoded = clip_frames(os.path.join(ROOT, "Tests", "Fixtures", rel))
        entries = []
        for pixels in decoded:
            _, scores, num, _, _, _ = run(pixels)
            s = scores[0][: int(num[0])]
            entries.append({"checksum": checksum(pixels), "count": int((s > COUNT_THRESHOLD).sum()),
                            "scores": [round(float(v), 5) for v in s if v > 0.3]})
        clips.append({"file": rel, "fps": fps, "frames": entries})
        print(f"{rel}: {len(entries)} frames, people per frame {sorted(set(e['count'] for e in entries))}")

    wrong_stride_graph(os.path.join(OUT, "ssdlite_wrong_stride.pb"))
    golden = {"tensorflow": tf.__version__, "postprocessing": post, "detections_min_score": DETECTIONS_MIN_SCORE,
              "count_threshold": COUNT_THRESHOLD, "frames": frames, "raw_frame": RAW_FRAME, "clips": clips}
    with open(os.path.join(OUT, "ssdlite_golden.json"), "w") as f:
        json.dump(golden, f, separators=(",", ":"))
    print("post-processing:", post)


if __name__ == "__main__":
    main()
