#!/usr/bin/env python3
"""`Benchmarks/run ingest`: MediaIO against the ffmpeg CLI doing the same work, in one run.

Work compared, on the same file and decoder thread count:
  sampled:   decode every frame, keep 1 frame/s, scale it to 224x224 RGB
             ffmpeg -threads T -i FILE -vf fps=1,scale=224:224,format=rgb24 -f null -
  keyframes: decode key frames only, scale each to 224x224 RGB
             ffmpeg -threads T -skip_frame nokey -i FILE -vf scale=224:224,format=rgb24 -fps_mode passthrough -f null -
MediaIO hands encoders RGB, so ffmpeg converts to rgb24 too (without `format=rgb24` its
frames stay YUV: less work than MediaIO does; `--yuv` measures that variant).
The output is the same frames; how they are reached differs: ffmpeg's fps filter sits after
the decoder, so every frame is decoded, while MediaIO's sampler leaves undecoded the frames
no tick can use (non-reference frames between ticks, and with the mp4 index whole runs up to
the key frame the next tick needs). The "decoded" column shows how many frames that is;
`--full-decode` makes MediaIO decode every frame too.
Both sides are timed as whole processes, alternating, several runs; the table shows medians
and the ratio ffmpeg_time / mediaio_time (> 1 means MediaIO is faster). What is compared is
throughput, so inputs are long enough that process start-up (a constant per process, mostly
dynamic loading) does not decide the ratio: 120 s
for the sampled mode and 300 s for keyframes-only (whose per-frame work is small). Both
tools' start-up on an empty input is measured in the same run and reported beside them.
It also checks that resident memory stays flat while decoding every window of a file 100x
longer than the longest test fixture. The last line printed is one JSON object.
"""
import argparse, json, os, statistics, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--bench", required=True, help="path of the IngestBench executable")
ap.add_argument("--work", required=True, help="folder for generated media (cached)")
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--threads", default="1,2")
ap.add_argument("--seconds", type=int, default=30, help="length of the generated 720p/1080p clips")
ap.add_argument("--yuv", action="store_true", help="let ffmpeg keep YUV frames (the issue's literal command)")
ap.add_argument("--full-decode", action="store_true", help="MediaIO decodes every frame as well (no skipping)")
args = ap.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
source_clip = os.path.join(here, "..", "Tests", "Fixtures", "media", "car-detection.mp4")
os.makedirs(args.work, exist_ok=True)

def ff(*a):
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *a], check=True)

def make(name, height):
    path = os.path.join(args.work, f"{name}.mp4")
    if not os.path.exists(path):
        print(f"generating {path}", file=sys.stderr)
        width = height * 16 // 9
        ff("-stream_loop", "-1", "-i", source_clip, "-t", str(args.seconds), "-an",
           "-vf", f"scale={width}:{height},fps=25", "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "23", "-g", "50", "-bf", "2", path + ".tmp.mp4")
        os.rename(path + ".tmp.mp4", path)
    return path

def timed(cmd):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr}")
    return dt, r.stdout

def repeat(path, times):
    """`path` stream-copied `times` times end to end: a longer input without re-encoding."""
    out = path.replace(".mp4", f"-x{times}.mp4")
    if not os.path.exists(out):
        lst = out + ".txt"
        with open(lst, "w") as f:
            f.write("".join(f"file '{os.path.abspath(path)}'\n" for _ in range(times)))
        ff("-f", "concat", "-safe", "0", "-i", lst, "-c", "copy", out + ".tmp.mp4")
        os.rename(out + ".tmp.mp4", out)
    return out

base = {"720p": make("720p", 720), "1080p": make("1080p", 1080)}
# (sampled input, keyframes input) per resolution: 4x and 10x the 30 s clip.
files = {label: (repeat(path, 4), repeat(path, 10)) for label, path in base.items()}

def startup(cmd):
    """Median wall time of `cmd` on a missing input: loading, initialising, failing to open."""
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)

missing = os.path.join(args.work, "does-not-exist.mp4")
startup_s = {"ffmpeg": startup(["ffmpeg", "-hide_banner", "-loglevel", "quiet", "-i", missing, "-f", "null", "-"]),
             "mediaio": startup([args.bench, missing])}
rgb = "" if args.yuv else ",format=rgb24"
rows, results = [], []
for label, (sampled_path, keyframes_path) in files.items():
    for threads in [int(t) for t in args.threads.split(",")]:
        for mode in ["sampled", "keyframes"]:
            path = sampled_path if mode == "sampled" else keyframes_path
            if mode == "sampled":
                ffcmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-threads", str(threads), "-i", path,
                         "-vf", "fps=1,scale=224:224" + rgb, "-f", "null", "-"]
                ours = [args.bench, path, "--threads", str(threads)] + (["--full-decode"] if args.full_decode else [])
            else:
                ffcmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-threads", str(threads), "-skip_frame", "nokey",
                         "-i", path, "-vf", "scale=224:224" + rgb, "-fps_mode", "passthrough", "-f", "null", "-"]
                ours = [args.bench, path, "--threads", str(threads), "--keyframes"]
            ff_times, our_times, frames, decoded = [], [], None, None
            for _ in range(args.runs):
                ff_times.append(timed(ffcmd)[0])
                dt, out = timed(ours)
                our_times.append(dt)
                frames, decoded = json.loads(out)["frames"], json.loads(out)["decoded"]
            f_med, o_med = statistics.median(ff_times), statistics.median(our_times)
            ratio = f_med / o_med
            results.append({"file": label, "threads": threads, "mode": mode, "frames_out": frames, "mediaio_decoded": decoded,
                            "ffmpeg_s": round(f_med, 4), "mediaio_s": round(o_med, 4), "ratio": round(ratio, 3)})
            rows.append(f"{label:6} {threads:>7} {mode:10} {frames:>7} {decoded:>8} {f_med:>10.3f} {o_med:>10.3f} {ratio:>7.2f}x")

# Flat memory on a long input: the 30 s fixture concatenated 100 times (stream copy).
long_path = os.path.join(args.work, "long-100x.mp4")
if not os.path.exists(long_path):
    lst = os.path.join(args.work, "concat.txt")
    with open(lst, "w") as f:
        f.write("".join(f"file '{os.path.abspath(source_clip)}'\n" for _ in range(100)))
    ff("-f", "concat", "-safe", "0", "-i", lst, "-c", "copy", long_path + ".tmp.mp4")
    os.rename(long_path + ".tmp.mp4", long_path)
_, out = timed([args.bench, long_path, "--threads", "2", "--audio", "--rss-every", "50"])
long_run = json.loads(out)
rss = long_run["rss_mb"]
rss_growth = max(rss) - min(rss) if rss else None

print(f"{'file':6} {'threads':>7} {'mode':10} {'frames':>7} {'decoded':>8} {'ffmpeg s':>10} {'mediaio s':>10} {'ratio':>8}")
print("\n".join(rows))
print(f"start-up on a missing input (constant per process): ffmpeg {startup_s['ffmpeg']:.3f} s, MediaIO {startup_s['mediaio']:.3f} s")
print(f"long input: {long_run['windows']} windows, RSS samples {min(rss):.1f}..{max(rss):.1f} MB, growth {rss_growth:.1f} MB (limit 50)")
print(json.dumps({"benchmark": "ingest", "runs": args.runs, "ffmpeg_output": "yuv" if args.yuv else "rgb24",
                  "mediaio_full_decode": args.full_decode, "results": results,
                  "startup_s": {k: round(v, 4) for k, v in startup_s.items()},
                  "min_ratio": min(r["ratio"] for r in results),
                  "long_input": {"windows": long_run["windows"], "rss_min_mb": min(rss), "rss_max_mb": max(rss),
                                 "rss_growth_mb": round(rss_growth, 1)}}))
