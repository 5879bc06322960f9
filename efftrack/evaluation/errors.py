"""Errors raised for evaluation inputs a user can fix."""
from __future__ import annotations


class EvalInputError(ValueError):
    """Ground truth or predictions are malformed; the message names the file and first bad record."""
