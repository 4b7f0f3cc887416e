"""Skeleton drawing for `station pose --annotate` and the optional camera preview."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from station.pose.keypoints import SKELETON_EDGES, Keypoints

EDGE_COLOUR = (0, 230, 255)
POINT_COLOUR = (255, 80, 40)


def draw_skeleton(frame: np.ndarray, keypoints: Keypoints, min_score: float = 0.2) -> Image.Image:
    """Return a Pillow image of the frame with confident joints and bones drawn."""
    image = Image.fromarray(frame)
    pen = ImageDraw.Draw(image)
    width = max(2, round(max(frame.shape[:2]) / 250))
    pts = keypoints.points
    for a, b in SKELETON_EDGES:
        if pts[a, 2] >= min_score and pts[b, 2] >= min_score:
            pen.line([(pts[a, 0], pts[a, 1]), (pts[b, 0], pts[b, 1])], fill=EDGE_COLOUR, width=width)
    radius = width * 1.5
    for x, y, score in pts:
        if score >= min_score:
            pen.ellipse([x - radius, y - radius, x + radius, y + radius], fill=POINT_COLOUR)
    return image


def frame_strip(images: list[Image.Image], height: int = 240) -> Image.Image:
    """Lay annotated frames side by side at a common height (for annotating a video)."""
    scaled = [im.resize((max(1, round(im.width * height / im.height)), height)) for im in images]
    strip = Image.new("RGB", (sum(im.width for im in scaled), height))
    x = 0
    for im in scaled:
        strip.paste(im, (x, 0))
        x += im.width
    return strip
