"""Renders the synthetic lifter as a shaded mannequin that the real MoveNet detects.

Filled shapes on a gym-like background (wall, floor, a rack upright, optionally a second person
walking behind). The torso outline follows the pelvis, lumbar and thoracic segments, so a wink
changes the lower-back silhouette the way it does on a real lifter. Limbs are projected at their
own distances from the camera (SetTruth.lateral_m: with parallax the near and far thighs differ),
and plates on the bar (LifterParams.plate_radius_m) are drawn as discs: the far one behind the
body, the near one over the torso, as bumper plates hide a lifter filmed from the side.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from station.sim.lifter import PLATE_LATERAL_M, SetTruth, project

SKIN = (214, 164, 132)
SHIRT = (38, 92, 176)
SHORTS = (34, 34, 40)
SHOES = (235, 235, 235)
BAR = (60, 60, 64)
PLATE = (28, 28, 30)
HUB = (150, 150, 156)


def _darker(colour: tuple[int, ...], factor: float = 0.72) -> tuple[int, ...]:
    return tuple(int(c * factor) for c in colour)


class MannequinRenderer:
    def __init__(self, truth: SetTruth, second_person: bool = False, seed: int = 0) -> None:
        self.truth = truth
        self.cam = truth.camera
        self.second_person = second_person
        self._background = self._draw_background(np.random.default_rng(seed))
        self._canvas = self._background.copy()
        p = truth.params
        self._near = self.cam.distance_m - p.stance_width_m / 2
        self._far = self.cam.distance_m + p.stance_width_m / 2
        self._mid = self.cam.distance_m
        self._px_per_m = self.cam.focal_px / self.cam.distance_m
        self._project_all()

    def _project_all(self) -> None:
        j, p, cam = self.truth.joints_world, self.truth.params, self.cam
        lateral = getattr(self.truth, "lateral_m", None) or {}
        self._img: dict[str, dict[str, np.ndarray]] = {
            "mid": {name: project(pts, self._mid, p.facing, cam) for name, pts in j.items()}}
        for depth_name, sign, default in (("near", -1, self._near), ("far", 1, self._far)):
            self._img[depth_name] = {
                name: project(pts, self._mid + sign * lateral[name] if name in lateral else default, p.facing, cam)
                for name, pts in j.items()}
        self._plates: dict[str, tuple[np.ndarray, float]] | None = None
        if p.plate_radius_m > 0:
            self._plates = {}
            for depth_name, depth in (("near", self._mid - PLATE_LATERAL_M), ("far", self._mid + PLATE_LATERAL_M)):
                centre = project(j["bar"], depth, p.facing, cam)
                radius = cam.focal_px * p.plate_radius_m / depth
                self._plates[depth_name] = (centre, radius)

    def _draw_background(self, rng: np.random.Generator) -> Image.Image:
        w, h = self.cam.width, self.cam.height
        img = Image.new("RGB", (w, h))
        arr = np.zeros((h, w, 3), np.uint8)
        floor_v = int(project(np.array([0.0, 0.0]), self.cam.distance_m + 1.5, 1, self.cam)[1])
        floor_v = int(np.clip(floor_v, h * 0.5, h - 5))
        rows = np.arange(h)[:, None]
        wall = np.array([150, 148, 140]) - (rows / h * 30)
        arr[:] = wall[:, None, :].astype(np.uint8).repeat(w, axis=1)[:, :, :]
        arr[floor_v:] = (86, 78, 70)
        arr[floor_v:floor_v + 3] = (60, 55, 50)
        img = Image.fromarray(arr)
        pen = ImageDraw.Draw(img)
        x = int(w * rng.uniform(0.12, 0.3)) if rng.random() < 0.5 else int(w * rng.uniform(0.7, 0.88))
        pen.rectangle([x, int(h * 0.05), x + max(6, w // 40), floor_v + 8], fill=(40, 40, 44))
        for k in range(6):  # the upright's hole pattern
            y = int(h * 0.1 + k * h * 0.08)
            pen.ellipse([x + 3, y, x + 7, y + 4], fill=(90, 90, 95))
        return img

    def render_empty(self) -> np.ndarray:
        """The scene with nobody in it (between sets)."""
        return np.asarray(self._background).copy()

    def render(self, index: int) -> np.ndarray:
        self._canvas.paste(self._background)
        pen = ImageDraw.Draw(self._canvas)
        if self.second_person:
            self._draw_walker(pen, index)
        self._draw_body(pen, index)
        return np.asarray(self._canvas)

    # --- drawing helpers --------------------------------------------------------------------
    def _limb(self, pen: ImageDraw.ImageDraw, a: np.ndarray, b: np.ndarray, width_a: float, width_b: float,
              colour: tuple[int, ...]) -> None:
        a, b = np.asarray(a, float), np.asarray(b, float)
        d = b - a
        length = float(np.hypot(*d)) or 1.0
        n = np.array([-d[1], d[0]]) / length
        poly = [tuple(a + n * width_a / 2), tuple(b + n * width_b / 2), tuple(b - n * width_b / 2),
                tuple(a - n * width_a / 2)]
        pen.polygon(poly, fill=colour)
        for centre, width in ((a, width_a), (b, width_b)):
            r = width / 2
            pen.ellipse([centre[0] - r, centre[1] - r, centre[0] + r, centre[1] + r], fill=colour)
        light = tuple(min(255, int(c * 1.15)) for c in colour)
        pen.line([tuple(a + n * width_a * 0.15), tuple(b + n * width_b * 0.15)], fill=light,
                 width=max(1, int(min(width_a, width_b) * 0.25)))

    def _draw_leg(self, pen: ImageDraw.ImageDraw, pts: dict[str, np.ndarray], i: int, shade: float) -> None:
        s = self._px_per_m * self.truth.params.height_m
        hip, knee, ankle = pts["hip"][i], pts["knee"][i], pts["ankle"][i]
        toe, heel = pts["toe"][i], pts["heel"][i]
        self._limb(pen, hip, knee, 0.105 * s, 0.062 * s, _darker(SKIN, shade))
        hem = hip + (knee - hip) * 0.7  # shorts to mid-thigh, skin below: a visible knee
        self._limb(pen, hip, hem, 0.11 * s, 0.08 * s, _darker(SHORTS, shade))
        calf = knee + (ankle - knee) * 0.35
        self._limb(pen, knee, calf, 0.058 * s, 0.066 * s, _darker(SKIN, shade))
        self._limb(pen, calf, ankle, 0.066 * s, 0.036 * s, _darker(SKIN, shade))
        pen.polygon([tuple(heel), tuple(ankle), tuple(toe), tuple(toe + [0, -0.012 * s])],
                    fill=_darker(SHOES, shade))
        self._limb(pen, heel, toe, 0.028 * s, 0.02 * s, _darker(SHOES, shade))

    def _draw_arm(self, pen: ImageDraw.ImageDraw, pts: dict[str, np.ndarray], i: int, shade: float) -> None:
        s = self._px_per_m * self.truth.params.height_m
        self._limb(pen, pts["shoulder"][i], pts["elbow"][i], 0.05 * s, 0.04 * s, _darker(SHIRT, shade))
        self._limb(pen, pts["elbow"][i], pts["wrist"][i], 0.038 * s, 0.03 * s, _darker(SKIN, shade))

    def _draw_torso(self, pen: ImageDraw.ImageDraw, pts: dict[str, np.ndarray], i: int) -> None:
        s = self._px_per_m * self.truth.params.height_m
        facing = self.truth.params.facing
        chain = [pts["hip"][i], pts["l5s1"][i], pts["t12"][i], pts["c7"][i]]
        back, front = [], []
        depth_front = [0.075, 0.085, 0.12, 0.085]  # belly to chest, in body heights
        depth_back = [0.045, 0.03, 0.035, 0.03]
        for k, point in enumerate(chain):
            nxt = chain[min(k + 1, 3)] - chain[max(k - 1, 0)]
            unit = nxt / (np.hypot(*nxt) or 1.0)
            normal = np.array([-unit[1], unit[0]]) * facing  # points forward (the facing side)
            front.append(tuple(point + normal * depth_front[k] * s))
            back.append(tuple(point - normal * depth_back[k] * s))
        pen.polygon(front + back[::-1], fill=SHIRT)
        # glutes: a disc fixed to the pelvis, behind and below L5/S1: it tucks with the pelvis
        glute = pts["hip"][i] * 1.1 - pts["l5s1"][i] * 0.1
        pelvis_dir = pts["l5s1"][i] - pts["hip"][i]
        pelvis_dir = pelvis_dir / (np.hypot(*pelvis_dir) or 1)
        normal = np.array([-pelvis_dir[1], pelvis_dir[0]]) * facing
        glute = glute - normal * 0.05 * s
        r = 0.06 * s
        pen.ellipse([glute[0] - r, glute[1] - r, glute[0] + r, glute[1] + r], fill=SHORTS)
        below = chain[0] - pelvis_dir * 0.055 * s
        pen.polygon([tuple(below + normal * 0.06 * s), tuple(chain[1] + normal * 0.07 * s),
                     tuple(chain[1] - normal * 0.05 * s), tuple(below - normal * 0.07 * s)], fill=SHORTS)
        head, c7 = pts["head"][i], pts["c7"][i]
        self._limb(pen, c7, head, 0.05 * s, 0.045 * s, SKIN)
        r = 0.062 * s
        pen.ellipse([head[0] - r, head[1] - r * 1.1, head[0] + r, head[1] + r * 1.1], fill=SKIN)
        pen.chord([head[0] - r, head[1] - r * 1.15, head[0] + r, head[1] + r * 0.9], 180, 360, fill=(50, 35, 25))
        nose = pts["nose"][i]
        pen.ellipse([nose[0] - 0.012 * s, nose[1] - 0.012 * s, nose[0] + 0.012 * s, nose[1] + 0.012 * s], fill=SKIN)
        eye = pts["eye"][i]
        pen.ellipse([eye[0] - 0.006 * s, eye[1] - 0.005 * s, eye[0] + 0.006 * s, eye[1] + 0.005 * s], fill=(30, 30, 30))
        bar = pts["bar"][i]
        rb = 0.02 * s
        pen.ellipse([bar[0] - rb, bar[1] - rb, bar[0] + rb, bar[1] + rb], fill=BAR)

    def _draw_plate(self, pen: ImageDraw.ImageDraw, which: str, i: int, shade: float) -> None:
        if self._plates is None:
            return
        centre, r = self._plates[which]
        x, y = centre[i]
        pen.ellipse([x - r, y - r, x + r, y + r], fill=_darker(PLATE, shade))
        rim = r * 0.9
        pen.ellipse([x - rim, y - rim, x + rim, y + rim], outline=_darker((55, 55, 58), shade),
                    width=max(1, int(r * 0.04)))
        hub = r * 0.22
        pen.ellipse([x - hub, y - hub, x + hub, y + hub], fill=_darker(HUB, shade))

    def _draw_body(self, pen: ImageDraw.ImageDraw, i: int) -> None:
        near, far, mid = self._img["near"], self._img["far"], self._img["mid"]
        self._draw_plate(pen, "far", i, 0.7)
        self._draw_arm(pen, far, i, 0.7)
        self._draw_leg(pen, far, i, 0.7)
        self._draw_torso(pen, mid, i)
        self._draw_leg(pen, near, i, 1.0)
        self._draw_arm(pen, near, i, 1.0)
        self._draw_plate(pen, "near", i, 1.0)

    def _draw_walker(self, pen: ImageDraw.ImageDraw, i: int) -> None:
        """A second, smaller person crossing behind during the middle of the set."""
        n = len(self.truth.timestamps)
        u = (i - n * 0.3) / (n * 0.4)
        if not 0 <= u <= 1:
            return
        w, h = self.cam.width, self.cam.height
        x = w * (1.1 - 1.2 * u)
        scale = h * 0.45
        top = h * 0.5 - scale * 0.45
        swing = np.sin(u * 40) * 0.12 * scale
        colour = (120, 70, 60)
        pen.ellipse([x - 0.06 * scale, top, x + 0.06 * scale, top + 0.13 * scale], fill=(170, 130, 110))
        pen.rectangle([x - 0.07 * scale, top + 0.14 * scale, x + 0.07 * scale, top + 0.5 * scale], fill=colour)
        pen.line([(x, top + 0.5 * scale), (x + swing, top + scale)], fill=(50, 50, 70), width=int(0.07 * scale))
        pen.line([(x, top + 0.5 * scale), (x - swing, top + scale)], fill=(50, 50, 70), width=int(0.07 * scale))
