#!/usr/bin/env python3
"""Install the MoveNet Lightning int8 model into models/: download and verify, or --from PATH."""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from station.pose.modelfile import DEFAULT_MODEL_DIR, ModelFetchError, install_model  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--from", dest="source", type=Path, help="copy this local file instead of downloading")
    parser.add_argument("--dest", type=Path, default=DEFAULT_MODEL_DIR, help="target folder (default: models/)")
    parser.add_argument("--url", help="download from this address instead of the official one")
    args = parser.parse_args()
    try:
        path = install_model(args.dest, source=args.source, url=args.url)
    except ModelFetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"model installed and verified: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
