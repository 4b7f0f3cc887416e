"""`station` command line: one entry point, one subcommand per job."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from station import config as config_mod
from station.errors import StationError

log = logging.getLogger("station")


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper()), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _load_config(args) -> config_mod.Config:
    return config_mod.load(args.config)


def cmd_pose(args) -> int:
    from station.sources import open_source

    cfg = _load_config(args)
    if args.model:
        cfg.model.path = args.model
    from station.pose import PoseEstimator

    estimator = PoseEstimator.from_config(cfg.model, cfg.pose, cfg.model_path(),
                                          crop_tracking=False if args.full_frame else None)
    source = open_source(args.file)
    annotated = []
    try:
        for index, (timestamp, frame) in enumerate(source):
            keypoints = estimator.estimate(frame, timestamp)
            record = {"frame": index, **keypoints.to_dict()}
            sys.stdout.write(json.dumps(record) + "\n")
            if args.annotate and index % args.strip_every == 0 and len(annotated) < args.strip_max:
                from station.pose.draw import draw_skeleton

                annotated.append(draw_skeleton(frame, keypoints, cfg.pose.min_score))
    finally:
        source.close()
    if args.annotate:
        from station.pose.draw import frame_strip

        image = annotated[0] if len(annotated) == 1 else frame_strip(annotated)
        image.save(args.annotate)
        log.info("annotated image written to %s", args.annotate)
    return 0


def cmd_analyze(args) -> int:
    from station.analysis import AnalysisParams
    from station.analysis.analyzer import analyze_keypoints
    from station.pose import PoseEstimator
    from station.app.report import set_dict, set_table
    from station.sources import open_source

    cfg = _load_config(args)
    if args.model:
        cfg.model.path = args.model
    if args.target is not None:
        cfg.analysis.target_depth_deg = args.target
    estimator = PoseEstimator.from_config(cfg.model, cfg.pose, cfg.model_path())
    source = open_source(args.file)
    try:
        sets = analyze_keypoints(estimator.track(source, max_fps=args.fps),
                                 AnalysisParams.from_config(cfg.analysis, cfg.pose))
    finally:
        source.close()
    if args.json:
        print(json.dumps({"file": args.file, "sets": [set_dict(s) for s in sets]}, indent=2))
    elif not sets:
        print("no reps found: is the whole lifter in view, side-on, and do they squat below ~45 deg of thigh angle?")
    else:
        print("\n\n".join(set_table(s) for s in sets))
    return 0


def _run_station(cfg, spec: str, *, live: bool, realtime: bool, pin_kind: str, demo: bool, loop: bool = False,
                 exit_when_done: bool = True) -> int:
    import signal

    from station.app.runner import Station, build_stages, demo_presses, source_opener
    from station.feedback import TerminalBar, make_pin_factory

    terminal = TerminalBar() if cfg.feedback.terminal_bar else None
    stages = build_stages(cfg, pin_factory=make_pin_factory(pin_kind), terminal=terminal)
    station = Station(cfg, stages, source_opener(cfg, spec, realtime, loop), live_source=live,
                      demo_presses=demo_presses(cfg))
    signal.signal(signal.SIGTERM, lambda *_: station.stop())
    print(f"station: {spec} -> {stages.pose.label} -> page at {station.web_url}", flush=True)
    if demo:
        print(f"station: settings PIN for this demo: {cfg.web.pin}; data in {cfg.state_dir()}", flush=True)
    try:
        station.run_frames()
        if not exit_when_done and not station.stop_event.is_set():
            print(f"\nstation: the demo's sets are done; the page stays up at {station.web_url} (Ctrl-C to stop)",
                  flush=True)
            station.stop_event.wait()
    except KeyboardInterrupt:
        pass
    finally:
        station.shutdown()
    stats = station.stats
    log.info("%d frames, %.1f fps, %d dropped", stats.frames, stats.fps(), station.mailbox.dropped)
    if station.capture.error:
        print(f"station: error: {station.capture.error}", file=sys.stderr)
    return station.exit_code


def cmd_demo(args) -> int:
    import secrets

    from station.app.runner import default_state_dir_for_demo

    cfg = _load_config(args) if args.config else config_mod.Config()
    cfg.camera.source = args.source or "synthetic"
    cfg.web.host = args.host
    cfg.web.port = args.port
    cfg.station.state_dir = str(args.state_dir or default_state_dir_for_demo())
    cfg.web.pin = cfg.web.pin or f"{secrets.randbelow(10000):04d}"
    cfg.station.lifter = "demo"
    return _run_station(cfg, cfg.camera.source, live=False, realtime=not args.fast, pin_kind="mock", demo=True,
                        loop=args.loop, exit_when_done=args.exit_when_done)


def cmd_run(args) -> int:
    cfg = _load_config(args)
    if args.source:
        cfg.camera.source = args.source
    live = cfg.camera.source == "camera"
    return _run_station(cfg, cfg.camera.source, live=live, realtime=live or args.realtime,
                        pin_kind="mock" if args.mock_gpio else "auto", demo=False)


def cmd_doctor(args) -> int:
    from station.app.doctor import report, run_checks

    cfg = _load_config(args)
    checks = run_checks(cfg)
    print(report(checks))
    return 1 if any(c.status == "fail" for c in checks) else 0


def cmd_model_fetch(args) -> int:
    from station.pose.modelfile import DEFAULT_MODEL_DIR, install_model

    path = install_model(Path(args.dest) if args.dest else DEFAULT_MODEL_DIR,
                         source=Path(args.source) if args.source else None, url=args.url)
    print(f"model installed and verified: {path}")
    return 0


def cmd_config_show(args) -> int:
    cfg = _load_config(args)
    print(f"# effective configuration (from {cfg.source_path or 'built-in defaults'})")
    print(config_mod.to_toml(cfg), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="station", description="Squat depth and butt-wink station")
    parser.add_argument("--config", "-c", help="TOML config file (default: /etc/station/station.toml if present)")
    parser.add_argument("--log-level", default=None, choices=("debug", "info", "warning", "error"))
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("pose", help="run the model on an image or video; keypoints as JSON lines")
    p.add_argument("file")
    p.add_argument("--annotate", metavar="OUT", help="write the image (or a frame strip) with the skeleton")
    p.add_argument("--model", help="model file (overrides the config)")
    p.add_argument("--full-frame", action="store_true", help="no crop tracking: every frame padded and resized")
    p.add_argument("--strip-every", type=int, default=15, help="video: annotate every Nth frame")
    p.add_argument("--strip-max", type=int, default=8, help="video: at most this many frames in the strip")
    p.set_defaults(func=cmd_pose)

    p = sub.add_parser("analyze", help="analyse a video: per-rep table and set summary")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--model", help="model file (overrides the config)")
    p.add_argument("--target", type=float, help="target depth in degrees of thigh angle (0 = parallel)")
    p.add_argument("--fps", type=float, help="analyse at most this many frames per second, as a Pi would "
                                             "(newest frame first): 10 is about a Pi 4, 15 a Pi 5")
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("demo", help="the station on the synthetic lifter (or --source FILE), mock GPIO, the page")
    p.add_argument("--source", help="a video/image folder to replay instead of the synthetic lifter")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--realtime", action="store_true", default=True, help="play at the source's frame rate (default)")
    pace.add_argument("--fast", action="store_true", help="process frames as fast as the model allows")
    p.add_argument("--loop", action="store_true", help="repeat the source forever")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--state-dir", help="where the demo's database goes (default ~/.local/state/station-demo)")
    p.add_argument("--exit-when-done", action="store_true", help="exit when the source ends (default: keep the page up)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="the station: camera (or [camera] source) to lights, buzzer, history and page")
    p.add_argument("--source", help="override [camera] source: 'camera', 'synthetic', or a file")
    p.add_argument("--realtime", action="store_true", help="pace file sources at their frame rate")
    p.add_argument("--mock-gpio", action="store_true", help="gpiozero's MockFactory instead of real pins")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("doctor", help="check camera, model, GPIO, storage, service and page addresses")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("model", help="model management")
    msub = p.add_subparsers(dest="model_command", required=True)
    f = msub.add_parser("fetch", help="download (or --from PATH copy) and verify the MoveNet model")
    f.add_argument("--from", dest="source", help="copy this local file instead of downloading")
    f.add_argument("--dest", help="target folder (default: models/ beside the package)")
    f.add_argument("--url", help="download from this address instead of the official one")
    f.set_defaults(func=cmd_model_fetch)

    p = sub.add_parser("config", help="configuration")
    csub = p.add_subparsers(dest="config_command", required=True)
    s = csub.add_parser("show", help="print the effective configuration")
    s.set_defaults(func=cmd_config_show)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.log_level or "info")
    try:
        return args.func(args)
    except StationError as exc:
        print(f"station: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
