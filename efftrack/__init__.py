"""efftrack: open-world multi-object tracking on a frozen vision-language backbone."""
__version__ = "0.1.0"
