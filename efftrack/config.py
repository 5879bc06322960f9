"""Config files: mmengine ``Config`` with at most one ``_base_`` level and ``--cfg-options k=v`` overrides."""
from __future__ import annotations

from pathlib import Path


class ConfigError(ValueError):
    """A config file that is missing, malformed or has a bad override."""


def load_config(path, cfg_options: dict | None = None):
    """Load an mmengine Config, apply ``k.sub=v`` overrides, refuse deeper inheritance."""
    from mmengine.config import Config, DictAction  # noqa: F401  (DictAction parses --cfg-options)

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        cfg = Config.fromfile(str(path))
    except Exception as exc:
        raise ConfigError(f"cannot load config {path}: {type(exc).__name__}: {exc}") from None
    for base in _bases(path):
        if _bases(path.parent / base):
            raise ConfigError(f"config {path}: its base {base} has a _base_ of its own; keep one level")
    if cfg_options:
        try:
            cfg.merge_from_dict(dict(cfg_options))
        except Exception as exc:
            raise ConfigError(f"bad --cfg-options {cfg_options}: {exc}") from None
    return cfg


def _bases(path: Path) -> list[str]:
    import ast
    try:
        tree = ast.parse(Path(path).read_text())
    except (OSError, SyntaxError):
        return []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_base_" for t in node.targets):
            value = ast.literal_eval(node.value)
            return [value] if isinstance(value, str) else list(value)
    return []
