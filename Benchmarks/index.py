#!/usr/bin/env python3
"""`Benchmarks/run index`: how long FileIndex takes to index an hour of 720p video with speech.

The input is built at bench time (cached in --work, never committed): the three
development-set clips (Tests/Fixtures/devset: people, pictures of text, drawn captions,
traffic, speech for about a third of the time) scaled to 1280x720 at 25 fps and joined
into one 240 s unit, which is then repeated (stream copy) to --minutes. `sightline ask`
indexes it into a fresh index file with every default modality (speech: Silero VAD and
Whisper base; people, faces, labels, on-screen text, motion, audio level; pictures at 1
frame a second, no motion gate) and answers one query, pinned to --cpus with taskset.
Reported: wall time, real-time factor (media seconds per wall second), windows, index size,
the CPU time and media / (CPU time / cores) (what the wall time gives on cores of its own,
at best), the load averages before and after, and per stage (`sightline ask --timings`: each
encoder and enricher, the window sinks; "other" is the rest of the process's CPU time:
decoding, scaling, the store, start-up and model loading) its wall and CPU seconds and CPU
seconds per media second (the machine is shared: a load over 1.5
before the run means the wall figure is pessimistic). The goal is one hour in at most four minutes
(real-time factor 15). The last line is one JSON object.
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--sightline", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--minutes", type=int, default=60)
ap.add_argument("--cpus", default="0,1")
args = ap.parse_args()
args.work = os.path.abspath(args.work)

here = os.path.dirname(os.path.abspath(__file__))
devset = os.path.join(here, "..", "Tests", "Fixtures", "devset")
clips = [os.path.join(devset, c) for c in ("frontdoor.mp4", "signs.mp4", "street.mp4")]
os.makedirs(args.work, exist_ok=True)
FF = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
UNIT_S = 240


def unit():
    path = os.path.join(args.work, "index-unit-720p.mp4")
    if not os.path.exists(path):
        print(f"generating {path}", file=sys.stderr)
        inputs = sum((["-i", c] for c in clips), [])
        graph = "".join(f"[{i}:v][{i}:a]" for i in range(len(clips))) + f"concat=n={len(clips)}:v=1:a=1[v][a]"
        subprocess.run(FF + inputs + ["-filter_complex", graph + ";[v]scale=1280:720:flags=bicubic,fps=25[vo]",
                                      "-map", "[vo]", "-map", "[a]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
                                      "-g", "50", "-c:a", "aac", "-b:a", "64k", "-ar", "16000", "-ac", "1", path], check=True)
    return path


def long_input(minutes):
    path = os.path.join(args.work, f"index-720p-{minutes}min.mp4")
    if not os.path.exists(path):
        u = unit()
        repeats = -(-minutes * 60 // UNIT_S)
        listing = os.path.join(args.work, "index-list.txt")
        with open(listing, "w") as f:
            f.write("".join(f"file '{u}'\n" for _ in range(repeats)))
        print(f"generating {path}", file=sys.stderr)
        subprocess.run(FF + ["-f", "concat", "-safe", "0", "-i", listing, "-t", str(minutes * 60), "-c", "copy", path], check=True)
    return path


def load():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


source = long_input(args.minutes)
media_s = float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", source],
                               capture_output=True, text=True, check=True).stdout)
with tempfile.TemporaryDirectory() as tmp:
    index = os.path.join(tmp, "index.sqlite")
    before = load()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    r = subprocess.run(["taskset", "-c", args.cpus, args.sightline, "ask", source, "the quick brown dog", "--index", index,
                        "--json", "--limit", "3", "--timings"], capture_output=True, text=True)
    wall = time.monotonic() - started
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    after = load()
    if r.returncode != 0:
        sys.exit(f"sightline ask failed:\n{r.stderr[-3000:]}")
    moments = json.loads(r.stdout)["moments"]
    timings = next((json.loads(l) for l in r.stderr.splitlines() if l.startswith('{"stages"')), {"stages": {}})
    size = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp))

rtf = media_s / wall
ncpu = len(args.cpus.split(","))
# On a shared machine the wall time grows with the others' load; the CPU time does not, and
# media / (CPU time / cores) is what the wall time would be with the cores to itself and
# every core busy (an upper bound on the real-time factor).
rtf_cpu = media_s / (cpu / ncpu)
print(f"{'input':<28}{'media':>10}{'wall':>10}{'RTF':>8}{'CPU':>10}{'RTF(CPU)':>10}{'index MB':>10}  load before / after")
print(f"{os.path.basename(source):<28}{media_s:>9.0f}s{wall:>9.1f}s{rtf:>8.2f}{cpu:>9.1f}s{rtf_cpu:>10.2f}{size / 1e6:>10.1f}  "
      f"{before[0]:.2f} / {after[0]:.2f}")
stages = timings["stages"]
other = cpu - sum(v["cpu_s"] for v in stages.values())
print(f"\n{'stage':<18}{'wall s':>10}{'CPU s':>10}{'CPU s / media s':>18}")
for name, v in sorted(stages.items(), key=lambda kv: -kv[1]["cpu_s"]):
    print(f"{name:<18}{v['wall_s']:>10.1f}{v['cpu_s']:>10.1f}{v['cpu_s'] / media_s:>18.3f}")
print(f"{'other':<18}{'':>10}{other:>10.1f}{other / media_s:>18.3f}")
print(f"{'total':<18}{wall:>10.1f}{cpu:>10.1f}{cpu / media_s:>18.3f}\n")
print(f"goal: {args.minutes} min in at most {args.minutes * 4 / 60:.1f} min (RTF 15): {'met' if rtf >= 15 else 'not met'}")
print(json.dumps({"bench": "index", "media_s": round(media_s, 1), "wall_s": round(wall, 1), "rtf": round(rtf, 2),
                  "cpu_s": round(cpu, 1), "rtf_cpu": round(rtf_cpu, 2),
                  "index_bytes": size, "stages": stages, "other_cpu_s": round(other, 1), "moments": len(moments), "cpus": args.cpus, "load_before": before, "load_after": after}))
