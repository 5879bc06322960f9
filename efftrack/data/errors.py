"""Exceptions for bad input data; each message names the file and the item at fault."""


class DatasetFormatError(ValueError):
    """An annotation file is malformed or inconsistent (bad JSON, unknown image/track/category)."""


class MissingImageError(DatasetFormatError):
    """An image (or video frame) referenced by an annotation file cannot be read."""


class VideoSourceError(ValueError):
    """A video source cannot be opened or yields no frames."""
