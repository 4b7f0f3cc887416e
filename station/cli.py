"""`station` command line: one entry point, one subcommand per job."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from station import config as config_mod

log = logging.getLogger("station")


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper()), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _load_config(args) -> config_mod.Config:
    return config_mod.load(args.config)


def _estimator(cfg: config_mod.Config, full_frame: bool = False):
    from station.pose import MoveNet, PoseEstimator

    model = MoveNet(cfg.model_path(), num_threads=cfg.model.threads, runtime=cfg.model.runtime)
    return PoseEstimator(model, crop_tracking=cfg.pose.crop_tracking and not full_frame,
                         min_score=cfg.pose.min_score)


def cmd_pose(args) -> int:
    from station.sources import open_source

    cfg = _load_config(args)
    if args.model:
        cfg.model.path = args.model
    estimator = _estimator(cfg, full_frame=args.full_frame)
    source = open_source(args.file)
    annotated = []
    try:
        for index, (timestamp, frame) in enumerate(source):
            keypoints = estimator.estimate(frame, timestamp)
            record = {"frame": index, **keypoints.to_dict()}
            sys.stdout.write(json.dumps(record) + "\n")
            if args.annotate and index % args.strip_every == 0 and len(annotated) < args.strip_max:
                from station.draw import draw_skeleton

                annotated.append(draw_skeleton(frame, keypoints, cfg.pose.min_score))
    finally:
        source.close()
    if args.annotate:
        from station.draw import frame_strip

        image = annotated[0] if len(annotated) == 1 else frame_strip(annotated)
        image.save(args.annotate)
        log.info("annotated image written to %s", args.annotate)
    return 0


def cmd_analyze(args) -> int:
    from station.analysis import AnalysisParams, SetFinished, SquatAnalyzer
    from station.report import set_dict, set_table
    from station.sources import open_source

    cfg = _load_config(args)
    if args.model:
        cfg.model.path = args.model
    if args.target is not None:
        cfg.analysis.target_depth_deg = args.target
    estimator = _estimator(cfg)
    analyzer = SquatAnalyzer(AnalysisParams.from_config(cfg.analysis, cfg.pose))
    source = open_source(args.file)
    sets, last_t = [], 0.0
    try:
        for timestamp, frame in source:
            _, events = analyzer.update(estimator.estimate(frame, timestamp))
            sets.extend(e.result for e in events if isinstance(e, SetFinished))
            last_t = timestamp
    finally:
        source.close()
    sets.extend(e.result for e in analyzer.finish(last_t) if isinstance(e, SetFinished))
    if args.json:
        print(json.dumps({"file": args.file, "sets": [set_dict(s) for s in sets]}, indent=2))
    elif not sets:
        print("no reps found (is the whole lifter in view, from the side, standing still for a moment first?)")
    else:
        print("\n\n".join(set_table(s) for s in sets))
    return 0


def cmd_model_fetch(args) -> int:
    from station.modelfile import DEFAULT_MODEL_DIR, install_model

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
    p.set_defaults(func=cmd_analyze)

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
    from station.modelfile import ModelFetchError
    from station.pose import ModelError
    from station.sources import SourceError

    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.log_level or "info")
    try:
        return args.func(args)
    except (config_mod.ConfigError, ModelError, SourceError, ModelFetchError) as exc:
        print(f"station: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
