"""Tracking evaluation: HOTA/OWTA family matching TrackEval, CLEAR and IDF1 through motmetrics.

Entry points: ``evaluate_sequences`` (in-memory sequences), ``evaluate_tao_ow`` (TAO-OW JSON, per
subset) and ``evaluate_mot`` (MOTChallenge txt files).
"""
from .api import evaluate_sequences
from .errors import EvalInputError
from .hota import ALPHAS
from .mot_eval import evaluate_mot
from .results import to_jsonable
from .tao_inputs import load_tao_gt, load_tao_predictions
from .tao_ow import available_subsets, evaluate_tao_ow

__all__ = ["ALPHAS", "EvalInputError", "available_subsets", "evaluate_mot", "evaluate_sequences", "evaluate_tao_ow",
           "load_tao_gt", "load_tao_predictions", "to_jsonable"]
