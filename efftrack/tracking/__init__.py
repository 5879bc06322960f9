"""Online association of per-frame proposals into tracks (numpy; no models or images in here)."""
from .results import FinishedTracks, Tracks
from .tracker import Tracker, TrackerInputError


def build_tracker(cfg=None) -> Tracker:
    """Tracker from a config mapping (e.g. ``cfg.tracker``); None gives the defaults."""
    return Tracker.from_config(cfg or {})


__all__ = ["Tracker", "Tracks", "FinishedTracks", "TrackerInputError", "build_tracker"]
