"""Frozen-feature cache: stored values, stale-proof keys, atomic and concurrent writes, size limit, sampler."""
import multiprocessing as mp
import os

import numpy as np
import pytest
import torch

from efftrack.cache import CacheError, FeatureCache, cache_settings, namespace_for
from efftrack.cache.store import TEMP_PREFIX
from efftrack.engine.data import IterationBatches, variant_seed

IDENTITY = {"model_name": "toy", "pretrained": None, "taps": [0, 1], "weights_sha256": "0123456789abcdef"}


def _ns(**change):
    args = dict(backbone_identity=IDENTITY, input_size=(32, 32), mean=[0.5] * 3, std=[0.25] * 3)
    args.update(change)
    return namespace_for(**args)


class Toy(torch.nn.Module):
    """Two taps (stride 4 and 8) and a call counter: how many images really went through the 'backbone'."""

    def __init__(self, scale=1.0):
        super().__init__()
        torch.manual_seed(1)
        self.a = torch.nn.Conv2d(3, 6, 4, 4)
        self.b = torch.nn.Conv2d(6, 5, 2, 2)
        self.scale, self.images_seen = scale, 0

    def forward(self, x):
        self.images_seen += x.shape[0]
        f = self.a(x)
        return [f, self.b(f) * self.scale]


def test_hits_return_stored_fp16_values_and_skip_the_backbone(tmp_path):
    cache, toy = FeatureCache(tmp_path, namespace=_ns()), Toy()
    x = torch.rand(3, 3, 32, 32)
    cold = cache.features(x, toy)
    assert toy.images_seen == 3 and cache.misses == 3 and cache.hits == 0
    warm = cache.features(x, toy)
    assert toy.images_seen == 3 and cache.hits == 3
    live = toy(x)
    for c, w, l in zip(cold, warm, live):
        assert c.dtype == torch.float32 and c.shape == l.shape
        assert torch.equal(c, w)  # cold and warm runs see the same numbers
        assert torch.equal(c, l.detach().half().float())  # exactly the fp16 rounding of the live features
    entry = cache.get(cache.key(x[0]))
    assert isinstance(entry[0], np.memmap) and entry[0].dtype == np.float16
    f = cache.footprint()
    assert f["entries"] == 3 and f["hit_rate"] == 0.5 and f["gb"] > 0


def test_duplicate_images_in_a_batch_are_computed_once(tmp_path):
    cache, toy = FeatureCache(tmp_path, namespace=_ns()), Toy()
    x = torch.rand(2, 3, 32, 32)
    out = cache.features(torch.stack([x[0], x[1], x[0]]), toy)
    assert toy.images_seen == 2
    assert torch.equal(out[0][0], out[0][2]) and not torch.equal(out[0][0], out[0][1])


def test_values_beyond_fp16_are_stored_in_fp32_not_as_inf(tmp_path):
    cache, toy = FeatureCache(tmp_path, namespace=_ns()), Toy(scale=1e6)
    x = torch.rand(1, 3, 32, 32)
    cache.features(x, toy)
    out = cache.features(x, toy)
    assert cache.hits == 1 and torch.isfinite(out[1]).all() and out[1].abs().max() > 65504
    assert cache.footprint()["fp32_entries"] == 1


@pytest.mark.parametrize("change", [
    dict(backbone_identity={**IDENTITY, "weights_sha256": "fedcba9876543210"}),
    dict(backbone_identity={**IDENTITY, "taps": [1, 2]}),
    dict(input_size=(64, 32)),
    dict(mean=[0.4, 0.5, 0.5]),
])
def test_other_backbone_or_preprocessing_never_reads_an_entry(tmp_path, change):
    x = torch.rand(2, 3, 32, 32)
    FeatureCache(tmp_path, namespace=_ns()).features(x, Toy())
    other, toy = FeatureCache(tmp_path, namespace=_ns(**change)), Toy()
    other.features(x, toy)
    assert other.hits == 0 and toy.images_seen == 2
    assert other.footprint()["other_namespaces"] == 1


def test_one_changed_pixel_is_another_entry(tmp_path):
    cache, toy = FeatureCache(tmp_path, namespace=_ns()), Toy()
    x = torch.rand(1, 3, 32, 32)
    cache.features(x, toy)
    y = x.clone()
    y[0, 1, 7, 9] += 1 / 255  # e.g. another colour-jitter draw
    cache.features(y, toy)
    assert cache.hits == 0 and toy.images_seen == 2


def test_leftover_temp_files_and_damaged_entries_are_never_read(tmp_path):
    cache, toy = FeatureCache(tmp_path, namespace=_ns()), Toy()
    x = torch.rand(2, 3, 32, 32)
    ref = [t.clone() for t in cache.features(x, toy)]
    k0, k1 = cache.key(x[0]), cache.key(x[1])
    # a writer killed mid-write leaves a temp file beside the entries
    (cache.path(k0).parent / f"{TEMP_PREFIX}killed").write_bytes(b"\0" * 100)
    # a truncated entry (not made by this code: os.replace never exposes one)
    data = cache.path(k1).read_bytes()
    cache.path(k1).write_bytes(data[:-10])
    fresh, toy2 = FeatureCache(tmp_path, namespace=_ns()), Toy()
    out = fresh.features(x, toy2)
    assert toy2.images_seen == 1 and fresh.unreadable == 1  # only the damaged entry recomputed, and rewritten
    assert all(torch.equal(a, b) for a, b in zip(out, ref))
    assert fresh.get(k1) is not None
    assert fresh.footprint()["temp_files"] == 1 and fresh.remove_temp_files() == 1
    assert fresh.footprint()["temp_files"] == 0 and fresh.footprint()["entries"] == 2
    os.replace(cache.path(k0), cache.path(k1))  # an entry file under another key's name is not that key's entry
    assert fresh.get(k1) is None


def test_size_limit_stops_adding_and_says_so(tmp_path):
    messages = []
    probe = FeatureCache(tmp_path / "probe", namespace=_ns())
    probe.features(torch.rand(1, 3, 32, 32), Toy())
    entry_bytes = probe.footprint()["gb"] * 1e9
    meta_bytes = probe.footprint()["folder_gb"] * 1e9 - entry_bytes
    limit_gb = (meta_bytes + 2.5 * entry_bytes) / 1e9  # room for two entries
    cache, toy = FeatureCache(tmp_path / "c", namespace=_ns(), max_gb=limit_gb, log=messages.append), Toy()
    x = torch.rand(4, 3, 32, 32)
    out = cache.features(x, toy)
    assert cache.full and cache.writes == 2 and cache.skipped_full == 2
    assert len(messages) == 1 and "full" in messages[0] and "max_gb" in messages[0]
    f = cache.footprint()
    assert f["entries"] == 2 and f["folder_gb"] <= limit_gb
    assert all(torch.equal(o, l.detach().half().float()) for o, l in zip(out, toy(x)))  # still correct values
    with pytest.raises(CacheError, match="max_gb"):
        FeatureCache(tmp_path, namespace=_ns(), max_gb=0)


def _writer(root, ns, seed, rounds, queue):
    cache = FeatureCache(root, namespace=ns)
    rng = np.random.default_rng(seed)
    bad = 0
    for _ in range(rounds):
        for i in rng.permutation(8):
            taps = [np.full((4, 8, 8), i, np.float32), np.arange(40, dtype=np.float32).reshape(5, 2, 4) + i]
            cache.put(f"{i:064x}", taps)
            got = cache.get(f"{(i + 3) % 8:064x}")
            if got is not None and not (got[0] == (i + 3) % 8).all():
                bad += 1
    queue.put(bad)


def test_two_processes_writing_one_folder_do_not_corrupt_it(tmp_path):
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), _ns(), s, 15, queue)) for s in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert [queue.get(timeout=5) for _ in procs] == [0, 0]  # no torn read while the other wrote
    cache = FeatureCache(tmp_path, namespace=_ns())
    for i in range(8):
        got = cache.get(f"{i:064x}")
        assert (got[0] == i).all() and (got[1] == np.arange(40).reshape(5, 2, 4) + i).all()
    f = cache.footprint()
    assert f["entries"] == 8 and f["temp_files"] == 0 and cache.unreadable == 0


def test_variant_sampler_repeats_augmentations_every_k_epochs():
    n, k = 6, 3
    it_per_epoch = 2  # batch 3
    s = IterationBatches(n, 3, it_per_epoch * 7, seed=5, variants=k)
    epochs = [dict() for _ in range(7)]
    for it, batch in enumerate(s):
        for item, seed in batch:
            epochs[it // it_per_epoch][item] = seed
    assert all(sorted(e) == list(range(n)) for e in epochs)
    for e in range(7):
        assert epochs[e] == epochs[e % k]  # the same seed for every item every k epochs
    assert all(epochs[0][i] != epochs[1][i] != epochs[2][i] for i in range(n))
    assert epochs[1][4] == variant_seed(5, 4, 1)
    # without variants, seeds never repeat (the default stream is unchanged)
    plain = [seed for b in IterationBatches(n, 3, it_per_epoch * 3, seed=5) for _, seed in b]
    assert len(set(plain)) == len(plain) and plain[0] == (5 * 1000003) % 2 ** 31


def test_cache_settings_name_the_bad_key():
    assert cache_settings({"dir": "x"})["variants"] == 4
    with pytest.raises(CacheError, match="max_items"):
        cache_settings({"dir": "x", "max_items": 3})
    with pytest.raises(CacheError, match="variants"):
        cache_settings({"variants": 0})


def test_channels_last_taps_come_back_channels_last(tmp_path):
    """Conv towers run channels_last; a hit must give the side network the same memory format as a live pass."""
    cache, toy = FeatureCache(tmp_path, namespace=_ns()), Toy()

    def tower(x):
        a, b = toy(x)
        return [a.contiguous(memory_format=torch.channels_last), b.contiguous()]

    x = torch.rand(2, 3, 32, 32)
    cold = cache.features(x, tower)
    warm = FeatureCache(tmp_path, namespace=_ns()).features(x, tower)
    for out in (cold, warm):
        assert out[0].is_contiguous(memory_format=torch.channels_last) and not out[0].is_contiguous()
        assert out[1].is_contiguous()
        assert all(torch.equal(o, l.detach().half().float()) for o, l in zip(out, tower(x)))
