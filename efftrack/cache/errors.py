"""Errors a user can cause with the feature cache's settings or folder; tools print them as one line."""


class CacheError(ValueError):
    """A cache setting or cache folder that cannot be used (bad max_gb/variants, unwritable folder)."""
