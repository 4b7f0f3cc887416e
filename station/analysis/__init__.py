"""Squat analysis: angles, smoothing, reps, sets and butt wink. Pure numpy, no I/O."""

from station.analysis.analyzer import AnalysisParams, SquatAnalyzer, set_sentence, summarise_set
from station.analysis.types import (DepthReached, FrameState, LifterReady, RepCompleted, RepResult,
                                    RepSeries, RepStarted, SetFinished, SetResult, WinkWarning)

__all__ = ["AnalysisParams", "SquatAnalyzer", "set_sentence", "summarise_set", "DepthReached", "FrameState",
           "LifterReady", "RepCompleted", "RepResult", "RepSeries", "RepStarted", "SetFinished", "SetResult",
           "WinkWarning"]
