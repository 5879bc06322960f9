"""Pause Python's cyclic garbage collector around allocation-heavy, cycle-free work."""
from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def gc_paused():
    """Large parsed JSON (one dict per record) makes every gen-2 collection walk all records;
    reading and scoring create no reference cycles, so collection can wait until the end."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
