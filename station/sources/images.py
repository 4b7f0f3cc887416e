"""Still images and folders of images, as one frame or as a clip at a chosen rate."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from station.sources.base import Pacer, SourceError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
log = logging.getLogger(__name__)


def read_image_rgb(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))  # drops alpha: MoveNet wants RGB
    except (OSError, UnidentifiedImageError) as exc:
        raise SourceError(f"cannot read image {path}: {exc}") from None
    except Image.DecompressionBombError:   # not an OSError: a 100 KB file may claim 30000x30000 pixels
        raise SourceError(f"cannot read image {path}: it claims more pixels than Pillow will safely open "
                          f"(a camera picture has a few million)") from None


class ImageSource:
    """One still image, yielded once (or `repeat` times at `fps`)."""

    def __init__(self, path: str | Path, repeat: int = 1, fps: float = 30.0):
        self.path = Path(path)
        self.name = f"image:{self.path.name}"
        self.nominal_fps = fps
        self._frame = read_image_rgb(self.path)
        self._repeat = repeat

    def __iter__(self):
        for i in range(self._repeat):
            yield i / self.nominal_fps, self._frame

    def close(self) -> None:
        pass


class ImageFolderSource:
    """Every image in a folder, in name order, as a clip at `fps`."""

    def __init__(self, folder: str | Path, fps: float = 30.0, realtime: bool = False):
        self.folder = Path(folder)
        self.files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise SourceError(f"folder {self.folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self.name = f"folder:{self.folder.name}"
        self.nominal_fps = fps
        self._pacer = Pacer(realtime)
        self.skipped: list[Path] = []   # images the last pass could not read

    def __iter__(self):
        """One unreadable image (a truncated copy, a text file named .jpg) is skipped with a warning and
        listed in `skipped`: the rest of the folder is still worth a look. None readable is an error."""
        self.skipped = []
        for i, path in enumerate(self.files):
            timestamp = i / self.nominal_fps
            try:
                frame = read_image_rgb(path)
            except SourceError as exc:
                log.warning("%s; skipped", exc)
                self.skipped.append(path)
                continue
            self._pacer.wait(timestamp)
            yield timestamp, frame
        if len(self.skipped) == len(self.files):
            raise SourceError(f"none of the {len(self.files)} images in {self.folder} could be read")

    def close(self) -> None:
        pass
