"""Frozen-feature cache: the backbone's taps per (exact input image, backbone, preprocessing), reused
across epochs so side-network training skips the backbone after the first pass.

Config switch: ``cache=dict(dir='work_dirs/feature_cache', max_gb=50, variants=4)``. ``variants`` (K) makes
the training sampler draw each item's augmentation from K fixed variants (see
``efftrack.engine.data.IterationBatches``): inputs repeat every K epochs, which is what lets the cache hit.
Epochs 1..K fill the cache (or ``tools/cache_features.py`` does, once); from epoch K+1 every step is a hit.
Default K=4: on the synthetic split (2 seeds, 5 epochs) K=4 matched uncached training's OWTA, while K=1
(the same augmentation every epoch) was lower on unknown objects in both seeds (within seed noise).
"""
from .errors import CacheError
from .keys import FORMAT_VERSION, image_key, namespace_for, namespace_id
from .store import FeatureCache

CACHE_DEFAULTS = dict(dir="work_dirs/feature_cache", max_gb=50.0, variants=4, dtype="float16")


def cache_settings(cache_cfg) -> dict:
    """The config's ``cache`` dict with defaults, checked (CacheError names the bad key)."""
    cfg = {**CACHE_DEFAULTS, **dict(cache_cfg or {})}
    unknown = sorted(set(cfg) - set(CACHE_DEFAULTS))
    if unknown:
        raise CacheError(f"unknown cache setting(s) {unknown}; known: {sorted(CACHE_DEFAULTS)}")
    if not isinstance(cfg["variants"], int) or isinstance(cfg["variants"], bool) or not 1 <= cfg["variants"] <= 65536:
        raise CacheError(f"cache.variants must be an integer in 1..65536, got {cfg['variants']!r}")
    return cfg


def build_feature_cache(cache_cfg, model, input_size, log=None) -> FeatureCache:
    """A ``FeatureCache`` for ``model`` (an ``EffOWT``) from the config's ``cache`` dict."""
    cfg = cache_settings(cache_cfg)
    return FeatureCache.for_model(cfg["dir"], model, input_size, max_gb=cfg["max_gb"], dtype=cfg["dtype"], log=log)


__all__ = ["CACHE_DEFAULTS", "CacheError", "FORMAT_VERSION", "FeatureCache", "build_feature_cache",
           "cache_settings", "image_key", "namespace_for", "namespace_id"]
