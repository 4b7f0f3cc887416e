"""Squat analysis: tracking, angles, view gate, reps and sets, butt wink. Pure numpy, no I/O."""

from station.analysis.analyzer import AnalysisParams, SquatAnalyzer
from station.analysis.summary import set_sentence, summarise_set
from station.analysis.types import (
                                    AnalysisEvent,
                                    DepthReached,
                                    FrameState,
                                    LifterReady,
                                    RepCompleted,
                                    RepResult,
                                    RepSeries,
                                    RepStarted,
                                    SetFinished,
                                    SetResult,
                                    WinkWarning,
)

__all__ = ["AnalysisParams", "SquatAnalyzer", "set_sentence", "summarise_set", "AnalysisEvent", "DepthReached",
           "FrameState", "LifterReady", "RepCompleted", "RepResult", "RepSeries", "RepStarted", "SetFinished",
           "SetResult", "WinkWarning"]
