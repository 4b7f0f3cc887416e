"""`station` command line: one entry point, one subcommand per job.

Exit codes (systemd acts on them, see README): 0 done; 2 a problem only the owner can fix (config,
model, a source that does not exist: the unit's RestartPreventExitStatus=2 stops the restart loop);
1 anything else (the environment may recover, so Restart= tries again); 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from station import config as config_mod
from station.errors import StationError

log = logging.getLogger("station")


class LineAwareHandler(logging.StreamHandler):
    """Log lines to stderr that first end the terminal bar's line (set `terminal` while it draws), so
    a log line never runs into the bar on the same terminal."""

    terminal: Any = None   # a TerminalBar (station.feedback) while one draws

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr          # looked up each time: tests and daemons swap stderr
        terminal = self.terminal
        if terminal is not None:
            terminal.break_line()
        super().emit(record)


LOG_HANDLER = LineAwareHandler()
EXIT_INTERRUPTED = 130          # Ctrl-C, as shells report it
LOG_HANDLER.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))


def _setup_logging(level: str) -> None:
    root = logging.getLogger()
    if LOG_HANDLER not in root.handlers:
        root.addHandler(LOG_HANDLER)
    root.setLevel(getattr(logging, level.upper()))


def _config(args: argparse.Namespace, overrides: dict | None = None, *, default_file: bool = True) -> config_mod.Config:
    """The one place a command gets its Config: file <- settings file <- these overrides, all validated.
    [station] log_level applies from here on, unless --log-level was given."""
    cfg = config_mod.build(args.config, {k: v for k, v in (overrides or {}).items() if v is not None},
                           default_file=default_file)
    if not getattr(args, "log_level", None):
        _setup_logging(cfg.station.log_level)
    return cfg


def _annotate_target(out: str) -> Path:
    """Checked before the input is processed: a bad name must not cost a whole video's inference."""
    from PIL import Image

    path = Path(out)
    writable = sorted(ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.SAVE)
    if path.suffix.lower() not in writable:
        raise StationError(f"--annotate {out}: {path.suffix or 'no suffix'} is not an image type Pillow writes "
                           f"(use .png or .jpg)")
    folder = path.parent
    if not folder.is_dir():
        raise StationError(f"--annotate {out}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise StationError(f"--annotate {out}: the folder {folder} is not writable by this user")
    return path


def _from_here(path: str | None) -> str | None:
    """A path typed on the command line is the current directory's (in a config file, the state
    directory's: Config.model_path)."""
    return str(Path(path).absolute()) if path else None


def cmd_pose(args: argparse.Namespace) -> int:
    from station.pose import PoseEstimator
    from station.sources import open_source

    cfg = _config(args, {"model.path": _from_here(args.model)})
    target = _annotate_target(args.annotate) if args.annotate else None
    estimator = PoseEstimator.from_config(cfg.model, cfg.pose, cfg.model_path(),
                                          crop_tracking=False if args.full_frame else None)
    source = open_source(args.file)
    annotated: list[Any] = []
    try:
        for index, (timestamp, frame) in enumerate(source):
            keypoints = estimator.estimate(frame, timestamp)
            record = {"frame": index, **keypoints.to_dict()}
            sys.stdout.write(json.dumps(record) + "\n")
            if target and index % args.strip_every == 0 and len(annotated) < args.strip_max:
                from station.pose.draw import draw_skeleton

                annotated.append(draw_skeleton(frame, keypoints, cfg.pose.min_score))
    finally:
        source.close()
    if target and annotated:
        from station.pose.draw import frame_strip

        image = annotated[0] if len(annotated) == 1 else frame_strip(annotated)
        image.save(target)
        log.info("annotated image written to %s", target)
    return _report_skipped(source)


def cmd_analyze(args: argparse.Namespace) -> int:
    from station.analysis import AnalysisParams
    from station.analysis.analyzer import analyze_keypoints
    from station.app.report import set_dict, set_table
    from station.pose import PoseEstimator

    cfg = _config(args, {"model.path": _from_here(args.model), "analysis.target_depth_deg": args.target})
    source = _recording(args.file)
    estimator = PoseEstimator.from_config(cfg.model, cfg.pose, cfg.model_path())
    broken: list[Exception] = []
    try:
        sets = analyze_keypoints(estimator.track(_until_broken(source, broken), max_fps=args.fps),
                                 AnalysisParams.from_config(cfg.analysis, cfg.pose))
    finally:
        source.close()
    if args.json:
        print(json.dumps({"file": args.file, "sets": [set_dict(s) for s in sets],
                          "error": str(broken[0]) if broken else None,
                          "damaged_packets": getattr(source, "damaged_packets", 0)}, indent=2))
    elif not sets and broken:    # the advice about the lifter would be wrong: the file is what failed
        print("no reps found before the file broke")
    elif not sets:
        print("no reps found: is the whole lifter in view, side-on, and do they squat below ~45 deg of thigh angle?")
    else:
        print("\n\n".join(set_table(s) for s in sets))
    skipped = _report_skipped(source)
    if broken:   # a file that breaks part-way: what came before it is shown, and the exit says it broke
        print(f"station: error: {broken[0]}; the result above is up to there", file=sys.stderr)
        return 1
    return skipped


def _recording(spec: str) -> Any:
    """What `station analyze` reads: a video or a folder of pictures. One picture has no reps in it
    (it said "no reps found: is the whole lifter in view..." and exit 0), nor has the word 'synthetic'
    or the live camera (`station run` watches those)."""
    from station.sources import ImageSource, SourceError, open_source

    takes = "`station analyze` reads a video file or a folder of pictures"
    if spec in ("camera", "synthetic"):
        raise SourceError(f"{takes}, not {spec!r}: `station run --source {spec}` watches it live")
    source = _opened(lambda: open_source(spec), spec, takes)
    if isinstance(source, ImageSource):
        source.close()
        raise SourceError(f"{spec} is a single picture: {takes} (`station pose {spec}` runs the model on it)")
    return source


def _opened(open_it: Any, spec: str, takes: str) -> Any:
    """open_it(), and for a path that is not there, what this command takes instead."""
    from station.sources import SourceError

    try:
        return open_it()
    except SourceError as exc:
        if Path(spec).exists():
            raise
        raise SourceError(f"{exc}: {takes}") from None


def _report_skipped(source: Any) -> int:
    """What the source skipped and went on without: unreadable images in a folder, damaged packets
    in a video. The rest was done; one line says what is missing, exit 1."""
    damage = source.damage_report() if hasattr(source, "damage_report") else None
    if damage:
        print(f"station: error: {damage}: the result above is without their frames", file=sys.stderr)
        return 1
    skipped = getattr(source, "skipped", None)
    if not skipped:
        return 0
    names = ", ".join(p.name for p in skipped[:5]) + (" ..." if len(skipped) > 5 else "")
    print(f"station: error: {len(skipped)} image(s) could not be read and were skipped: {names}", file=sys.stderr)
    return 1


def _until_broken(frames: Iterable[tuple[float, Any]], broken: list[Exception]) -> Iterator[tuple[float, Any]]:
    """The frames up to a decoding error part-way through a file; the error is kept in `broken`.
    An error before the first frame is raised: there is nothing to analyse."""
    from station.sources import SourceError

    seen = False
    try:
        for item in frames:
            seen = True
            yield item
    except SourceError as exc:
        if not seen:
            raise
        broken.append(exc)


def _run_station(cfg: config_mod.Config, spec: str, *, live: bool, realtime: bool, pin_kind: str,
                 demo_pin: str | None = None, loop: bool = False, exit_when_done: bool = True) -> int:
    import signal

    from station.app.runner import Station, build_stages, demo_presses, source_opener
    from station.app.workdir import ensure_writable_cwd
    from station.feedback import TerminalBar, make_pin_factory

    if spec not in ("camera", "synthetic"):
        # the capture thread opens it again after ensure_writable_cwd may have moved to the state
        # directory: a relative path (typed or in the config file) is the one in the directory the
        # station started in, then as later (it was checked here and not found there, exit 2)
        spec = str(Path(spec).absolute())
        cfg = config_mod.updated(cfg, {"camera.source": spec})
    opener = source_opener(cfg, spec, realtime, loop)
    if spec not in ("camera", "synthetic"):
        # a missing or unreadable file is an error now (exit 2), not "0 frames" later
        _opened(opener, spec, "a source is 'camera', 'synthetic', a video file, an image or a folder of images").close()
    moved = ensure_writable_cwd(cfg.state_dir())   # before gpiozero loads lgpio, which writes to the cwd
    if moved:
        log.warning("%s", moved)
    terminal = TerminalBar() if cfg.feedback.terminal_bar else None
    stages = build_stages(cfg, pin_factory=make_pin_factory(pin_kind), terminal=terminal)
    # paced (the camera, --realtime files, the demo): the newest frame, never a backlog behind real time
    station = Station(cfg, stages, opener, live_source=live, lossless=not realtime, demo_presses=demo_presses(cfg))
    LOG_HANDLER.terminal = terminal if terminal is not None and terminal.enabled else None
    interrupted = False

    def on_interrupt(*_) -> None:
        """Ctrl-C stops the station the way SIGTERM does: the frame loop ends between frames, not at
        whatever line a KeyboardInterrupt would land on, and the set in progress is saved. Set here,
        not inherited: a station started in the background by a shell ignores SIGINT otherwise (the
        shell's SIG_IGN; a test saw it run on). A second Ctrl-C interrupts at once."""
        nonlocal interrupted
        interrupted = True
        station.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGTERM, lambda *_: station.stop())
    signal.signal(signal.SIGINT, on_interrupt)
    phones = f" (from a phone: {station.phone_url})" if station.phone_url else ""
    print(f"station: {spec} -> {stages.pose.label} -> page at {station.web_url}{phones}", flush=True)
    if demo_pin is not None:
        print(f"station: settings PIN for this demo: {demo_pin}; data in {cfg.state_dir()}", flush=True)
    try:
        station.run_frames()
        if not exit_when_done and station.exit_code == 0 and not station.stop_event.is_set():
            print(f"\nstation: the demo's sets are done; the page stays up at {station.web_url} (Ctrl-C to stop)",
                  flush=True)
            station.stop_event.wait()
    except KeyboardInterrupt:
        interrupted = True      # a second Ctrl-C: the set in progress is still closed and saved below, then 130
    finally:
        station.shutdown()
        LOG_HANDLER.terminal = None
    stats = station.stats
    log.info("%d frames, %.1f fps, %d dropped", stats.frames, stats.fps(), station.mailbox.dropped)
    if demo_pin is not None:   # said at the start too, screens of log ago
        print(f"station: the demo's history is kept in {cfg.state_dir()} (delete the folder to start afresh)",
              flush=True)
    if station.capture.damage:   # the frames were done without them: said, not an error (exit 0)
        log.warning("%s", station.capture.damage)
    if station.capture.error:   # exit 1: broke part-way, may work next time; 2: never delivered a frame
        print(f"station: error: the source {spec} failed: {station.capture.error}", file=sys.stderr)
    return EXIT_INTERRUPTED if interrupted and station.exit_code == 0 else station.exit_code


def cmd_demo(args: argparse.Namespace) -> int:
    import secrets

    from station.app.runner import default_state_dir_for_demo

    # the page on this machine only, unless --host or the config file says otherwise; the port: --port,
    # else the config's [web] port (8080 by default)
    host = args.host or (None if args.config and config_mod.file_sets(args.config, "web.host") else "127.0.0.1")
    # the data: --state-dir, else the config file's [station] state_dir, else the demo's own folder
    state_dir = args.state_dir or (None if args.config and config_mod.file_sets(args.config, "station.state_dir")
                                   else str(default_state_dir_for_demo()))
    overrides = {"camera.source": args.source or "synthetic", "web.host": host, "web.port": args.port,
                 "station.state_dir": state_dir, "station.lifter": "demo"}
    cfg = _config(args, overrides, default_file=False)
    pin = None
    if not cfg.web.pin_hash:   # the demo's own PIN, printed; a configured one stays the owner's secret
        pin = f"{secrets.randbelow(10000):04d}"
        cfg = _config(args, {**overrides, "web.pin": pin}, default_file=False)
    return _run_station(cfg, cfg.camera.source, live=False, realtime=not args.fast, pin_kind="mock",
                        demo_pin=pin if pin is not None else "(the one set in your config)", loop=args.loop,
                        exit_when_done=args.exit_when_done)


def cmd_run(args: argparse.Namespace) -> int:
    cfg = _config(args, {"camera.source": args.source})
    live = cfg.camera.source == "camera"
    return _run_station(cfg, cfg.camera.source, live=live, realtime=live or args.realtime,
                        pin_kind="mock" if args.mock_gpio else "auto")


def cmd_doctor(args: argparse.Namespace) -> int:
    """Doctor reads the config itself: an unreadable one (0640, login user) is a check it explains."""
    from station.app.doctor import main as doctor_main

    if not args.log_level:      # its report says what the info lines would (runtime, model): only problems
        _setup_logging("warning")
    return doctor_main(args.config)


def cmd_model_fetch(args: argparse.Namespace) -> int:
    """Without --dest, the model goes exactly where the configuration reads it ([model] path, file
    name included): the fix that `station run` and doctor print must repair what they checked."""
    from station.pose.modelfile import install_model

    source = Path(args.source) if args.source else None
    if args.dest:
        path = install_model(Path(args.dest), source=source, url=args.url)
    else:
        wanted = _config(args).model_path()
        path = install_model(wanted.parent, source=source, url=args.url, filename=wanted.name)
    print(f"model installed and verified: {path}")
    return 0


def cmd_config_show(args: argparse.Namespace) -> int:
    cfg = _config(args)
    settings = cfg.settings_path()
    print(f"# effective configuration: defaults <- {cfg.source_path or 'no config file'} <- "
          f"{settings if settings.exists() else 'no settings file'} (the page's changes, the PIN)")
    print(config_mod.to_toml(cfg), end="")
    # "" above means "the default place": say which file that is on this machine, and whether it is there
    model = cfg.model_path()
    print("# where that puts things on this machine:")
    print(f"#   state directory  {cfg.state_dir()}")
    print(f"#   model file       {model}{'' if model.exists() else '  (missing: station model fetch)'}")
    print(f"#   history database {cfg.db_path()}")
    print(f"#   settings file    {settings}")
    return 0


PIN_RULE = "the PIN must be 4 to 8 digits 0-9 (what was typed is not shown); nothing was changed"


def _checked_pin(pin: str) -> str:
    """A secret is never echoed back, whatever its mistake (the config file's check shows odd values)."""
    try:
        return config_mod.check_pin(pin, "PIN")
    except config_mod.ConfigError:
        raise StationError(PIN_RULE) from None


def _read_new_pin(from_stdin: bool) -> str:
    if from_stdin:
        return _checked_pin(sys.stdin.readline().strip())
    if not sys.stdin.isatty():
        # getpass would warn that the PIN may be echoed, then take piped lines as both PINs
        raise StationError("no terminal to read the PIN from: pipe it in with --stdin "
                           "(printf '%s\\n' 123456 | sudo station pin set --stdin)")
    import getpass

    try:
        first = _checked_pin(getpass.getpass("new settings PIN (4-8 digits): "))
        again = getpass.getpass("the same PIN again: ")
    except EOFError:
        raise StationError("no terminal to read the PIN from: use --stdin") from None
    if again != first:
        raise StationError("the two PINs differ; nothing was changed")
    return first


def cmd_pin_set(args: argparse.Namespace) -> int:
    cfg = _config(args)
    pin = _read_new_pin(args.stdin)
    config_mod.save_settings(cfg, {"web.pin_hash": config_mod.hash_pin(pin)}, allowed=("web.pin_hash",))
    print(f"PIN set (hashed) in {cfg.settings_path()}; it wins over any web.pin in the config file. "
          f"A running station uses it after: sudo systemctl restart station")
    return 0


# --fps: below this the analysis has too few frames per rep to find its bottom (a Pi 4 manages ~10)
MIN_ANALYSIS_FPS, MAX_ANALYSIS_FPS = 5.0, 240.0


def _analysis_fps(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not MIN_ANALYSIS_FPS <= value <= MAX_ANALYSIS_FPS:   # NaN fails this too
        raise argparse.ArgumentTypeError(f"{text} must be between {MIN_ANALYSIS_FPS:.0f} and {MAX_ANALYSIS_FPS:.0f} "
                                         "frames per second (a Pi 4 manages about 10, a Pi 5 about 15)")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    # --config and --log-level before or after the subcommand (README: every command takes --config);
    # SUPPRESS keeps a subcommand's missing option from hiding the one given before it (the parsers
    # share these action objects, so no set_defaults here: main() fills in the absent ones).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", "-c", default=argparse.SUPPRESS,
                        help="TOML config file (default: /etc/station/station.toml if present)")
    common.add_argument("--log-level", default=argparse.SUPPRESS, choices=("debug", "info", "warning", "error"))
    parser = argparse.ArgumentParser(prog="station", description="Squat depth and butt-wink station",
                                     parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)

    def command(parent: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
                **kwargs: Any) -> argparse.ArgumentParser:
        return parent.add_parser(name, parents=[common], **kwargs)

    p = command(sub, "pose", help="run the model on an image or video; keypoints as JSON lines")
    p.add_argument("file")
    p.add_argument("--annotate", metavar="OUT", help="write the image (or a frame strip) with the skeleton")
    p.add_argument("--model", help="model file (overrides the config)")
    p.add_argument("--full-frame", action="store_true", help="no crop tracking: every frame padded and resized")
    p.add_argument("--strip-every", type=_positive_int, default=15, help="video: annotate every Nth frame")
    p.add_argument("--strip-max", type=_positive_int, default=8, help="video: at most this many frames in the strip")
    p.set_defaults(func=cmd_pose)

    p = command(sub, "analyze", help="analyse a video: per-rep table and set summary")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--model", help="model file (overrides the config)")
    p.add_argument("--target", type=float, help="target depth in degrees of thigh angle (0 = parallel)")
    fps_range = f"{MIN_ANALYSIS_FPS:.0f}-{MAX_ANALYSIS_FPS:.0f}"
    p.add_argument("--fps", type=_analysis_fps, help="analyse at most this many frames per second, as a Pi would "
                                             f"(newest frame first), {fps_range}: 10 is about a Pi 4, 15 a Pi 5")
    p.set_defaults(func=cmd_analyze)

    p = command(sub, "demo", help="the station on the synthetic lifter (or --source FILE), mock GPIO, the page")
    p.add_argument("--source", help="a video/image folder to replay instead of the synthetic lifter")
    pace = p.add_mutually_exclusive_group()
    pace.add_argument("--realtime", action="store_true", default=True, help="play at the source's frame rate (default)")
    pace.add_argument("--fast", action="store_true", help="process frames as fast as the model allows")
    p.add_argument("--loop", action="store_true", help="repeat the source forever")
    p.add_argument("--host", help="address to serve the page on (default 127.0.0.1, or --config FILE's [web] host)")
    p.add_argument("--port", type=int, help="the page's port (default 8080, or --config FILE's [web] port)")
    p.add_argument("--state-dir", help="where the demo's database goes (default: the config file's [station] "
                   "state_dir, else ~/.local/state/station-demo)")
    p.add_argument("--exit-when-done", action="store_true",
                   help="exit when the source ends (default: keep the page up)")
    p.set_defaults(func=cmd_demo)

    p = command(sub, "run", help="the station: camera (or [camera] source) to lights, buzzer, history and page")
    p.add_argument("--source", help="override [camera] source: 'camera', 'synthetic', or a file")
    p.add_argument("--realtime", action="store_true", help="pace file sources at their frame rate")
    p.add_argument("--mock-gpio", action="store_true", help="gpiozero's MockFactory instead of real pins")
    p.set_defaults(func=cmd_run)

    p = command(sub, "doctor", help="check camera, model, GPIO, storage, service and page addresses")
    p.set_defaults(func=cmd_doctor)

    p = command(sub, "model", help="model management")
    msub = p.add_subparsers(dest="model_command", required=True)
    f = command(msub, "fetch", help="download (or --from PATH copy) and verify the MoveNet model")
    f.add_argument("--from", dest="source", help="copy this local file instead of downloading")
    f.add_argument("--dest", help="target folder (default: where the configuration reads the model, "
                                  "[model] path, file name included)")
    f.add_argument("--url", help="download from this address instead of the official one")
    f.set_defaults(func=cmd_model_fetch)

    p = command(sub, "config", help="configuration")
    csub = p.add_subparsers(dest="config_command", required=True)
    s = command(csub, "show", help="print the effective configuration (the PIN only as set or not)")
    s.set_defaults(func=cmd_config_show)

    p = command(sub, "pin", help="the settings PIN")
    psub = p.add_subparsers(dest="pin_command", required=True)
    s = command(psub, "set", help="read a new PIN twice from the terminal; its hash goes to the settings file")
    s.add_argument("--stdin", action="store_true", help="read the PIN once from standard input (scripts)")
    s.set_defaults(func=cmd_pin_set)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.config = getattr(args, "config", None)
    args.log_level = getattr(args, "log_level", None)
    _setup_logging(args.log_level or "info")
    try:
        return args.func(args)
    except StationError as exc:       # the owner must fix something: systemd does not restart (exit 2)
        print(f"station: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:   # the environment: may recover, so Restart= tries again
        print(f"station: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
