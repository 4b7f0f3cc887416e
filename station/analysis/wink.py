"""Butt-wink detection from 2-D keypoints (the method is defended in docs/butt-wink.md).

COCO-17 has no pelvis orientation, so the wink is inferred from what it does to the trunk line.
With a neutral spine the trunk lean (hip->shoulder against vertical) follows the thigh along a
lifter-specific trend. When the pelvis tucks, the sacrum swings back and down around the hip
joint and the lumbar spine flexes: the shoulder is carried backwards and the trunk line tilts
*back* against that trend, starting abruptly at the onset depth. We fit trunk lean against thigh
angle as a straight trend plus a hinge
        lean = a + b*thigh + d*max(0, onset - thigh)
over descent and ascent frames, scanning the hinge position. A wink is a hinge that tilts the
trunk back (d < 0) by more than the sensitivity threshold, with a clear t-statistic. (A quadratic
trend was tried and dropped: over a long hinge it is nearly collinear with it, and the fit then
trades one against the other; see docs/butt-wink.md.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# trunk-line degrees per degree of posterior pelvic tilt (segment geometry: pelvis + half the
# lumbar spine over the hip-shoulder distance, thorax partly following); see docs/butt-wink.md
TRUNK_PER_PELVIS_DEG = 0.45
SENSITIVITY_THRESHOLD_DEG = {"low": 16.0, "normal": 12.0, "high": 9.0}


@dataclass(frozen=True)
class WinkEstimate:
    detected: bool
    onset_deg: float | None
    magnitude_deg: float
    confidence: float


NO_WINK = WinkEstimate(False, None, 0.0, 0.0)
MIN_T_STATISTIC = 2.0


def estimate_winks(reps: list[tuple[np.ndarray, np.ndarray]], standing_thigh_deg: float,
                   sensitivity: str = "normal") -> list[WinkEstimate]:
    """Pooled hinge fit over a lifter's reps: one per rep, in order.

    reps: (thigh_deg, trunk_lean_deg) arrays per rep. The trend's slope and the onset are shared
    (the same lifter, the same hip-flexion limit), each rep has its own offset and its own hinge
    amplitude; that pooling is what lifts the signal above 2-D keypoint noise.
    """
    xs, ys, ids, bottoms, usable = [], [], [], [], []
    for i, (thigh, trunk) in enumerate(reps):
        keep = thigh < standing_thigh_deg - 15.0
        if np.count_nonzero(keep) >= 12 and np.ptp(thigh[keep]) >= 15.0:
            xs.append(thigh[keep])
            ys.append(trunk[keep])
            ids.append(np.full(np.count_nonzero(keep), len(usable)))
            bottoms.append(float(thigh[keep].min()))
            usable.append(i)
    results = [NO_WINK] * len(reps)
    if not usable:
        return results
    x, y, rid = np.concatenate(xs), np.concatenate(ys), np.concatenate(ids)
    n_reps = len(usable)
    design = np.zeros((len(x), 2 * n_reps + 1))
    design[np.arange(len(x)), rid] = 1.0
    design[:, n_reps] = (x - x.mean()) / 30.0
    hinge = design[:, n_reps + 1:]
    bottom = float(np.median(bottoms))
    span = float(np.median([np.ptp(v) for v in xs]))
    best = None
    for onset in np.arange(bottom + 6.0, bottom + min(span - 5.0, 45.0), 1.0):
        hinge[:] = 0.0
        depth_past = np.maximum(onset - x, 0.0)
        hinge[np.arange(len(x)), rid] = depth_past
        active = np.count_nonzero(hinge, axis=0) >= 4
        columns = np.r_[np.ones(n_reps + 1, bool), active]
        coef, *_ = np.linalg.lstsq(design[:, columns], y, rcond=None)
        rss = float(np.sum((y - design[:, columns] @ coef) ** 2))
        if best is None or rss < best[0]:
            best = (rss, float(onset), coef, columns.copy(), design[:, columns].copy())
    if best is None:
        return results
    rss, onset, coef, columns, used = best
    dof = max(1, len(x) - used.shape[1] - 1)
    sigma2 = rss / dof
    # Keypoint noise persists over several frames, so neighbouring residuals are not independent
    # and a plain t-statistic overstates the evidence. Deflate it by the lag-1 autocorrelation.
    residual = y - used @ coef
    same_rep = rid[1:] == rid[:-1]
    lag1 = float(np.corrcoef(residual[1:][same_rep], residual[:-1][same_rep])[0, 1]) if same_rep.sum() > 3 else 0.0
    lag1 = min(max(lag1 if np.isfinite(lag1) else 0.0, 0.0), 0.95)
    deflate = np.sqrt((1 - lag1) / (1 + lag1))
    try:
        cov = sigma2 * np.linalg.inv(used.T @ used)
    except np.linalg.LinAlgError:
        return results
    threshold = SENSITIVITY_THRESHOLD_DEG[sensitivity]
    positions = np.flatnonzero(columns)
    for k, rep_i in enumerate(usable):
        column = n_reps + 1 + k
        if not columns[column]:
            continue
        j = int(np.searchsorted(positions, column))
        amplitude = float(coef[j])
        t_stat = -amplitude / np.sqrt(max(cov[j, j], 1e-12)) * deflate
        trunk_change = -amplitude * (onset - bottoms[k])  # trunk tilting back: positive here
        magnitude = max(0.0, trunk_change / TRUNK_PER_PELVIS_DEG)
        detected = bool(magnitude >= threshold and t_stat >= MIN_T_STATISTIC)
        confidence = float(np.clip(min(magnitude / (2 * threshold), t_stat / (2 * MIN_T_STATISTIC)), 0.0, 1.0))
        results[rep_i] = WinkEstimate(detected, onset if detected else None, magnitude, confidence)
    return results

