#!/usr/bin/env python3
"""End-to-end benchmark of the whole station on this machine.

For the synthetic source (rendered mannequin) and a video (the real side clip):
- throughput: frames per second of the whole runner (--fast, every frame) against the model alone;
- latency: capture of a frame -> its LED state written by the feedback worker (30 fps, live mode);
- peak RSS and CPU per frame by stage;
- the same throughput while 20 clients poll /api/live from another process (every 400 ms, like the
  live page).
Each measurement runs in a fresh process so peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLIP = ROOT.parent / "shared" / "testdata" / "clips" / "side_barbell_squat_2reps.mp4"

POLLER = """
import sys, threading, time, urllib.request
url, seconds = sys.argv[1], float(sys.argv[2])
count = [0]
def poll():
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url, timeout=2).read(); count[0] += 1
        except OSError:
            pass
        time.sleep(0.4)
threads = [threading.Thread(target=poll) for _ in range(20)]
[t.start() for t in threads]; [t.join() for t in threads]
print(count[0])
"""


class MemorySource:
    """Frames decoded before timing and replayed from memory: what a Pi camera costs the CPU
    (the ISP does the conversion), as opposed to a file replay that decodes H.264 on the way."""

    def __init__(self, path: str, count: int = 300, realtime: bool = False):
        from station.sources import open_source

        source = open_source(path)
        self.frames = []
        for _, frame in source:
            self.frames.append(frame)
            if len(self.frames) >= count:
                break
        source.close()
        self.realtime = realtime
        self.name = "memory"

    def __iter__(self):
        t, start = 0.0, time.monotonic()
        while True:
            for frame in self.frames:
                if self.realtime:
                    delay = start + t - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                yield t, frame
                t += 1 / 30

    def close(self):
        pass


def one(source: str, mode: str, threads: int, runtime: str, frames: int) -> dict:
    from station import config as config_mod
    from station.app.runner import Station, build_stages, source_opener
    from station.feedback import make_pin_factory
    from station.pose import MoveNet

    cfg = config_mod.Config()
    cfg.model.threads, cfg.model.runtime = threads, runtime
    cfg.station.state_dir = tempfile.mkdtemp()
    cfg.web.host, cfg.web.port = "127.0.0.1", 0
    cfg.feedback.terminal_bar = False
    probe = MoveNet(cfg.model_path(), threads, runtime)
    model_ms, threads = probe.time_inference(100), probe.num_threads
    realtime = mode == "latency"
    if source.startswith("memory:"):
        memory = MemorySource(source[len("memory:"):], realtime=realtime)
        opener = lambda: memory  # noqa: E731
    else:
        opener = source_opener(cfg, source, realtime=realtime, loop=True)
    stages = build_stages(cfg, pin_factory=make_pin_factory("mock"))
    station = Station(cfg, stages, opener, live_source=realtime, lossless=not realtime)
    station.feedback.applied_log = []
    captured: dict[float, float] = {}
    original_put = station.mailbox.put

    def put(item):
        captured[item.timestamp] = item.captured_at
        original_put(item)

    station.mailbox.put = put
    poller = None
    if mode == "polled":
        poller = subprocess.Popen([sys.executable, "-c", POLLER, station.web_url + "api/live", "600"],
                                  stdout=subprocess.PIPE, text=True)
        time.sleep(1.0)

    def stopper():
        while station.stats.frames < frames and not station.stop_event.is_set():
            time.sleep(0.05)
        station.stop()

    threading.Thread(target=stopper, daemon=True).start()
    cpu0 = time.process_time()
    station.stats.started = time.perf_counter()
    station.run_frames()
    cpu = time.process_time() - cpu0
    fps = station.stats.fps()
    n = max(1, station.stats.frames)
    latencies = [(applied - captured[ts]) * 1000 for ts, applied in station.feedback.applied_log if ts in captured]
    if poller:
        poller.kill()
    station.shutdown()
    name = ("decoded in memory: " if source.startswith("memory:") else "") + Path(source.removeprefix("memory:")).name
    runtime = stages.pose.model.runtime
    return {"source": name, "mode": mode, "runtime": f"{runtime.name} {runtime.version}",
            "threads": threads, "fps": fps, "model_fps": 1000 / model_ms, "frames": n,
            "dropped": station.mailbox.dropped,
            "latency_median": statistics.median(latencies) if latencies else None,
            "latency_p99": sorted(latencies)[int(0.99 * (len(latencies) - 1))] if latencies else None,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "cpu_ms": 1000 * cpu / n, **{f"{k}_ms": v / n for k, v in station.stats.stage_ms.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=900)
    parser.add_argument("--threads", type=int, default=0, help="0 = the station's default (cores - 1)")
    parser.add_argument("--runtime", default="auto")
    parser.add_argument("--sources", nargs="+", default=["synthetic", str(CLIP), f"memory:{CLIP}"])
    parser.add_argument("--one", nargs=3, metavar=("SOURCE", "MODE", "FRAMES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        import logging

        logging.basicConfig(level=logging.WARNING)
        print(json.dumps(one(args.one[0], args.one[1], args.threads, args.runtime, int(args.one[2]))))
        return 0
    rows = []
    for source in args.sources:
        if source != "synthetic" and not Path(source.removeprefix("memory:")).exists():
            print(f"skipped {source}: absent")
            continue
        for mode in ("fast", "polled", "latency"):
            frames = args.frames if mode != "latency" else min(args.frames, 450)
            out = subprocess.run([sys.executable, __file__, "--threads", str(args.threads), "--runtime", args.runtime,
                                  "--one", source, mode, str(frames)], capture_output=True, text=True)
            if out.returncode != 0:
                print(out.stderr[-2000:], file=sys.stderr)
                return 1
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print("| source | mode | runtime | fps | model-only fps | runner/model | capture->LED median / p99 ms | "
          "peak RSS MB | CPU ms/frame | pose / analysis / outputs ms |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    fast = {}
    for r in rows:
        if r["mode"] == "fast":
            fast[r["source"]] = r["fps"]
        lat = (f"{r['latency_median']:.1f} / {r['latency_p99']:.1f}" if r["mode"] == "latency" and r["latency_median"]
               else "-")
        ratio = f"{100 * r['fps'] / r['model_fps']:.0f}%" if r["mode"] != "latency" else "(paced at 30 fps)"
        label = {"fast": "every frame, max speed", "polled": "same + 20 clients polling",
                 "latency": "live, 30 fps"}[r["mode"]]
        print(f"| {r['source']} | {label} | {r['runtime']} ({r['threads']} thr) | {r['fps']:.1f} | "
              f"{r['model_fps']:.1f} | "
              f"{ratio} | {lat} | {r['rss_mb']:.0f} | {r['cpu_ms']:.1f} | "
              f"{r['pose_ms']:.2f} / {r['analysis_ms']:.2f} / {r['outputs_ms']:.2f} |")
    for r in rows:
        if r["mode"] == "polled" and r["source"] in fast:
            change = 100 * (r["fps"] / fast[r["source"]] - 1)
            print(f"frame-rate change with 20 pollers ({r['source']}): {change:+.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
