#!/usr/bin/env python3
"""Benchmarks/run speech: Sightline's Whisper vs faster-whisper (CTranslate2) side by side.

Same CT2 model files, same thread count, same beam size, fp32 (faster-whisper
compute_type="float32"), VAD off and on, on >= 60 s of real speech (the speech fixtures
concatenated into Benchmarks/.work/speech-bench.wav). Each implementation runs in its own
process (model loaded once, untimed), transcribes the audio --runs times, and reports wall
seconds per run and the process's peak RSS. Runs alternate between the two, so machine
noise hits both; figures are medians. Ratio = faster-whisper time / Sightline time (> 1:
Sightline faster). Last line: one JSON object with every figure.

--precisions (default fp32,bf16) and --fw-compute (default float32,int8) add rows: Sightline
with the encoder's linear layers in bf16 (`--precision bf16`; on a CPU without AVX-512 BF16
the bf16 rounding is emulated in fp32, so that row is slower, not faster) and faster-whisper
with int8 weights; every variant alternates with the others in each round, ratios are
against faster-whisper float32 as before.

--file-path: Sightline's whole file path (FileTranscriber, as `sightline transcribe` runs it)
with words off (plain text, JSON) and on (every SRT/WebVTT output aligns words), against
faster-whisper with word_timestamps off and on, four processes alternating per round.
"""
import argparse, json, os, statistics, subprocess, sys
from benchlib import run
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FW_SCRIPT = r'''
import json, resource, sys, time
from faster_whisper import WhisperModel
from faster_whisper.audio import decode_audio
model_dir, audio_path, threads, beam, runs, vad = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "on"
words = len(sys.argv) > 7 and sys.argv[7] == "on"
compute_type = sys.argv[8] if len(sys.argv) > 8 else "float32"
audio = decode_audio(audio_path)
t = time.time()
m = WhisperModel(model_dir, device="cpu", compute_type=compute_type, cpu_threads=threads, num_workers=1)
load = time.time() - t
times, text = [], ""
for _ in range(runs):
    t0 = time.time()
    segs, info = m.transcribe(audio, beam_size=beam, vad_filter=vad, word_timestamps=words)
    text = "".join(s.text for s in segs)
    times.append(time.time() - t0)
print(json.dumps({"impl": "faster-whisper", "compute_type": compute_type, "load_seconds": load, "run_seconds": times,
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "text": text,
                  "audio_seconds": len(audio) / 16000}))
'''


def make_input(work: Path) -> Path:
    """All speech fixtures (WAV, FLAC) decoded to 16 kHz s16 mono and joined: ~66 s."""
    import wave
    work.mkdir(parents=True, exist_ok=True)
    out = work / "speech-bench-v2.wav"
    if out.exists():
        return out
    speech = ROOT / "Tests/Fixtures/media/speech"
    pcm = b""
    for c in sorted(speech.glob("*.wav")) + sorted(speech.glob("*.flac")):
        pcm += subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(c), "-f", "s16le", "-ac", "1", "-ar", "16000", "-"],
                              check=True, capture_output=True).stdout
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000); w.writeframes(pcm)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True)
    ap.add_argument("--venv", default=os.environ.get("SIGHTLINE_REF_VENV", "/work/venv-ref"))
    ap.add_argument("--models", default=os.environ.get("SIGHTLINE_MODELS", str(Path.home() / ".cache/sightline/models")))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1, help="alternating rounds per case")
    ap.add_argument("--model", action="append", help="default: whisper-base and whisper-tiny.en")
    ap.add_argument("--work", default=str(ROOT / "Benchmarks/.work"))
    ap.add_argument("--file-path", action="store_true", help="the whole file path, words off and on (VAD on unless --vad off)")
    ap.add_argument("--vad", choices=["on", "off"], help="only this VAD setting")
    ap.add_argument("--precisions", default="fp32,bf16", help="Sightline --precision variants")
    ap.add_argument("--fw-compute", default="float32,int8", help="faster-whisper compute_type variants")
    a = ap.parse_args()
    audio = make_input(Path(a.work))
    py = str(Path(a.venv) / "bin/python")
    if a.file_path:
        return file_path(a, audio, py)
    results = []
    precisions = [p for p in a.precisions.split(",") if p]
    computes = [c for c in a.fw_compute.split(",") if c]
    for model in a.model or ["whisper-base", "whisper-tiny.en"]:
        for vad in ([a.vad] if a.vad else ["off", "on"]):
            times = {}  # variant -> run seconds
            out = {}    # variant -> last output
            for _ in range(a.rounds):
                for p in precisions:
                    o = run([a.bench, "--model", model, "--input", str(audio), "--threads", str(a.threads), "--beam", str(a.beam),
                             "--runs", str(a.runs), "--vad", vad, "--precision", p])
                    key = f"sightline {p}"
                    times.setdefault(key, []).extend(o["run_seconds"]); out[key] = o
                for c in computes:
                    t = run([py, "-c", FW_SCRIPT, str(Path(a.models) / model), str(audio), str(a.threads), str(a.beam), str(a.runs),
                             vad, "off", c])
                    key = f"faster-whisper {c}"
                    times.setdefault(key, []).extend(t["run_seconds"]); out[key] = t
            med = {k: statistics.median(v) for k, v in times.items()}
            ref_key = "faster-whisper float32" if "faster-whisper float32" in med else next(iter(med))
            mt = med[ref_key]
            base = out.get("sightline fp32") or next(iter(out.values()))
            variants = []
            for k, m in med.items():
                v = {"variant": k, "median_s": round(m, 3), "ratio_vs_" + ref_key.replace(" ", "_"): round(mt / m, 3),
                     "peak_rss_mb": round(out[k]["peak_rss_bytes"] / 2**20, 1),
                     "same_text_as_sightline_fp32": " ".join(out[k]["text"].split()) == " ".join(base["text"].split())}
                if "emulated_bf16" in out[k]:
                    v["emulated_bf16"] = out[k]["emulated_bf16"]
                variants.append(v)
                print(f"{model:16} vad {vad:3}  {k:24} {m:7.2f}s  {ref_key} / this {mt/m:5.2f}  "
                      f"RSS {out[k]['peak_rss_bytes']/2**20:6.0f} MB  same text as fp32: {v['same_text_as_sightline_fp32']}"
                      + ("  (bf16 emulated: no AVX-512 BF16)" if out[k].get("emulated_bf16") else ""), file=sys.stderr)
            r = {"model": model, "vad": vad, "threads": a.threads, "beam": a.beam, "audio_seconds": round(base["audio_seconds"], 2),
                 "variants": variants}
            if "sightline fp32" in med and "faster-whisper float32" in med:
                mo = med["sightline fp32"]
                r.update({"sightline_median_s": round(mo, 3), "faster_whisper_median_s": round(mt, 3), "ratio": round(mt / mo, 3),
                          "same_text": " ".join(out["sightline fp32"]["text"].split()) == " ".join(out["faster-whisper float32"]["text"].split())})
            results.append(r)
    print(json.dumps({"benchmark": "speech", "results": results}))


def file_path(a, audio, py):
    results = []
    for model in a.model or ["whisper-base"]:
        vad = a.vad or "on"
        times = {k: [] for k in ("sl-off", "sl-on", "fw-off", "fw-on")}
        texts = {}
        for _ in range(a.rounds):
            for words in ("off", "on"):
                o = run([a.bench, "--model", model, "--input", str(audio), "--threads", str(a.threads), "--beam", str(a.beam),
                         "--runs", str(a.runs), "--vad", vad, "--path", "file", "--words", words])
                t = run([py, "-c", FW_SCRIPT, str(Path(a.models) / model), str(audio), str(a.threads), str(a.beam), str(a.runs),
                         vad, words])
                times["sl-" + words] += o["run_seconds"]; times["fw-" + words] += t["run_seconds"]
                texts["sl-" + words], texts["fw-" + words] = o["text"], t["text"]
        m = {k: statistics.median(v) for k, v in times.items()}
        r = {"model": model, "vad": vad, "threads": a.threads, "beam": a.beam, "path": "file",
             "sightline_words_off_median_s": round(m["sl-off"], 3), "sightline_words_on_median_s": round(m["sl-on"], 3),
             "faster_whisper_words_off_median_s": round(m["fw-off"], 3), "faster_whisper_words_on_median_s": round(m["fw-on"], 3),
             "alignment_cost_ratio": round(m["sl-on"] / m["sl-off"], 3),
             "ratio_words_off": round(m["fw-off"] / m["sl-off"], 3), "ratio_words_on": round(m["fw-on"] / m["sl-on"], 3),
             "ratio_aligned_vs_fw_plain": round(m["fw-off"] / m["sl-on"], 3),
             "same_text_words_on_off": " ".join(texts["sl-on"].split()) == " ".join(texts["sl-off"].split())}
        results.append(r)
        print(f"{model:16} vad {vad:3} file path  sightline words off {m['sl-off']:6.2f}s on {m['sl-on']:6.2f}s "
              f"(x{m['sl-on'] / m['sl-off']:.3f})  faster-whisper off {m['fw-off']:6.2f}s on {m['fw-on']:6.2f}s  "
              f"ratios {m['fw-off'] / m['sl-off']:.2f} / {m['fw-on'] / m['sl-on']:.2f}", file=sys.stderr)
    print(json.dumps({"benchmark": "speech-file-path", "results": results}))


if __name__ == "__main__":
    main()
