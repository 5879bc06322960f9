"""On-disk store of frozen-backbone features, one memory-mapped half-precision file per input image.

Layout::

    ROOT/<namespace id>/namespace.json        what the namespace is (backbone identity, input size, ...)
    ROOT/<namespace id>/<k[:2]>/<k>.effc      one entry: all taps of one image

An entry file is ``MAGIC``, a 4-byte little-endian header length, a JSON header (key, dtype, tap shapes
(C,h,w), layouts) padded to a 64-byte boundary, then the taps' raw values back to back, each in its layout:
'chw', or 'hwc' for taps the tower produced channels-last (conv towers run channels_last on CPU, and the side
network is faster on what it gets live), so a hit has the same memory format as a live pass. Reading maps the file
(``np.memmap``) and checks that its size and key match the header; anything else counts as a miss.

Concurrency: an entry is written to a temp file in its shard folder and moved into place with ``os.replace``
(atomic on POSIX), so a reader sees a whole entry or none; two processes (DDP ranks) writing the same key
write the same bytes, so whichever rename lands last is as good as the first. Temp files left by a crash
(``.tmp-*``) are never read; ``footprint()`` counts them and ``remove_temp_files()`` deletes them.

Size limit: when ``max_gb`` is reached the cache stops adding entries (and logs it once) rather than evicting.
Training reads entries in a cyclic order, where evicting the oldest entry means evicting the next one needed
(every read a miss); keeping the first ``max_gb`` worth keeps that share of reads hits.
"""
from __future__ import annotations

import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from .errors import CacheError
from .keys import image_key, namespace_id

MAGIC = b"EFFC1\n"
ENTRY_SUFFIX = ".effc"
TEMP_PREFIX = ".tmp-"
FP16_MAX = float(np.finfo(np.float16).max)


class FeatureCache:
    """Frozen-backbone taps per input image, content-addressed, fp16, memory-mapped, size-limited.

    Args:
        root: cache folder (created). Several namespaces (backbones, input sizes) may share it.
        namespace: ``keys.namespace_for(...)`` dict; ``FeatureCache.for_model`` builds it from an ``EffOWT``.
        max_gb: stop adding entries once the whole folder holds this many GB (10**9 bytes).
        dtype: 'float16' (default) or 'float32'. A float16 entry whose values overflow float16 is stored in
            float32 instead, so no value is ever lost to inf.
        log: callable taking one message string (e.g. ``logger.info``); None prints nothing.

    ``features(images, compute)``: images (B,3,H,W) (any float dtype, any device) -> list over taps of
    (B,C_l,h_l,w_l) float32 on the images' device. Misses are computed in one ``compute(images[misses])`` call
    and stored; every returned value, hit or miss, is the stored (fp16-rounded) value, so a run gives the same
    numbers whether its cache was cold or warm.
    """

    def __init__(self, root, *, namespace: dict, max_gb: float = 50.0, dtype: str = "float16",
                 log: Callable[[str], None] | None = None):
        if not (isinstance(max_gb, (int, float)) and max_gb > 0):
            raise CacheError(f"cache max_gb must be a positive number of GB, got {max_gb!r}")
        if dtype not in ("float16", "float32"):
            raise CacheError(f"cache dtype must be 'float16' or 'float32', got {dtype!r}")
        self.root = Path(root)
        self.namespace = dict(namespace)
        self.ns_id = namespace_id(self.namespace)
        self.dir = self.root / self.ns_id
        self.max_bytes = int(float(max_gb) * 1e9)
        self.max_gb = float(max_gb)
        self.dtype = np.dtype(dtype)
        self.log = log
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            _write_atomic(self.dir / "namespace.json", json.dumps(self.namespace, indent=1, sort_keys=True).encode())
        except OSError as exc:
            raise CacheError(f"cache folder {self.root} is not writable: {exc}") from None
        self.hits = self.misses = self.writes = self.skipped_full = self.unreadable = self.fp32_entries = 0
        self.full = False
        self._folder_bytes = self._scan_bytes()

    @classmethod
    def for_model(cls, root, model, input_size, **kwargs) -> "FeatureCache":
        """A cache for ``model.backbone`` (a ``FrozenBackbone``) fed ``input_size`` (h, w) images."""
        from .keys import namespace_for
        ns = namespace_for(model.backbone.identity, input_size, model.mean.flatten().tolist(),
                           model.std.flatten().tolist(), kwargs.get("dtype", "float16"))
        return cls(root, namespace=ns, **kwargs)

    # ---- keys and paths -------------------------------------------------------------------------------
    def key(self, image: torch.Tensor) -> str:
        """image (3,H,W) -> hex key (namespace + exact content)."""
        return image_key(self.ns_id, image)

    def path(self, key: str) -> Path:
        return self.dir / key[:2] / f"{key}{ENTRY_SUFFIX}"

    # ---- one entry ------------------------------------------------------------------------------------
    def get(self, key: str) -> list[np.ndarray] | None:
        """The taps stored for ``key`` as read-only memory-mapped arrays (C_l,h_l,w_l), or None."""
        path = self.path(key)
        try:
            with open(path, "rb") as f:
                if f.read(len(MAGIC)) != MAGIC:
                    raise ValueError("bad magic")
                (n,) = struct.unpack("<I", f.read(4))
                header = json.loads(f.read(n))
            offset = _data_offset(n)
            dtype = np.dtype(header["dtype"])
            shapes = [tuple(s) for s in header["shapes"]]
            layouts = header.get("layouts") or ["chw"] * len(shapes)
            total = sum(int(np.prod(s)) for s in shapes)
            if header.get("key") != key or path.stat().st_size != offset + total * dtype.itemsize:
                raise ValueError("size or key mismatch")
            flat = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=(total,))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, struct.error):
            self.unreadable += 1
            return None
        out, start = [], 0
        for s, layout in zip(shapes, layouts):
            size = int(np.prod(s))
            a = flat[start:start + size]
            out.append(a.reshape(s[1], s[2], s[0]).transpose(2, 0, 1) if layout == "hwc" else a.reshape(s))
            start += size
        return out

    def put(self, key: str, taps: Sequence[np.ndarray]) -> bool:
        """Store one image's taps (C_l,h_l,w_l); False (nothing written) when the cache is full."""
        return self._store(key, self._encode(taps))

    def _encode(self, taps: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The arrays an entry holds: ``dtype``, or float32 where float16 would overflow to inf."""
        dtype = self.dtype
        if dtype == np.float16 and any(np.abs(t).max(initial=0.0) > FP16_MAX for t in taps):
            dtype = np.dtype(np.float32)  # keep the values finite: this entry costs twice the space
        return [np.ascontiguousarray(t.transpose(1, 2, 0), dtype=dtype).transpose(2, 0, 1) if _is_hwc(t)
                else np.ascontiguousarray(t, dtype=dtype) for t in taps]

    def _store(self, key: str, arrays: Sequence[np.ndarray]) -> bool:
        dtype = arrays[0].dtype
        header = json.dumps({"key": key, "dtype": dtype.name, "shapes": [list(a.shape) for a in arrays],
                             "layouts": ["hwc" if _is_hwc(a) else "chw" for a in arrays]}).encode()
        offset = _data_offset(len(header))
        size = offset + sum(a.nbytes for a in arrays)
        if self._folder_bytes + size > self.max_bytes:
            self._folder_bytes = self._scan_bytes()  # other processes may have written or someone cleaned up
            if self._folder_bytes + size > self.max_bytes:
                self.skipped_full += 1
                if not self.full and self.log:
                    self.log(f"feature cache full ({self._folder_bytes / 1e9:.2f} of {self.max_gb:g} GB in "
                             f"{self.root}): new entries are no longer stored; raise cache.max_gb to cache more")
                self.full = True
                return False
        blob = MAGIC + struct.pack("<I", len(header)) + header
        blob += b"\0" * (offset - len(blob))
        path = self.path(key)
        path.parent.mkdir(exist_ok=True)
        _write_atomic(path, blob, arrays)
        self.writes += 1
        self.fp32_entries += int(dtype != self.dtype)
        self._folder_bytes += size
        return True

    # ---- a batch ----------------------------------------------------------------------------------------
    @torch.no_grad()
    def features(self, images: torch.Tensor, compute: Callable[[torch.Tensor], Sequence[torch.Tensor]]
                 ) -> list[torch.Tensor]:
        """images (B,3,H,W) -> taps [(B,C_l,h_l,w_l) float32] from the cache, computing and storing misses."""
        keys = [self.key(img) for img in images]
        entries: list = [None] * len(keys)
        first: dict[str, int] = {}
        for i, k in enumerate(keys):
            if k in first:  # the same view twice in a batch (e.g. a video with one annotated frame)
                continue
            first[k] = i
            entries[i] = self.get(k)
        todo = [i for i in first.values() if entries[i] is None]
        self.hits += len(first) - len(todo)
        self.misses += len(todo)
        if todo:
            computed = compute(images[todo])
            for j, i in enumerate(todo):
                arrays = self._encode([t[j].detach().float().cpu().numpy() for t in computed])
                self._store(keys[i], arrays)
                entries[i] = arrays
        for i, k in enumerate(keys):
            if entries[i] is None:
                entries[i] = entries[first[k]]
        device = images.device
        out = []
        for level in range(len(entries[0])):
            maps = [e[level] for e in entries]
            if all(_is_hwc(m) for m in maps):  # (B,h,w,C) memory seen as NCHW: torch's channels_last
                stacked = np.stack([m.transpose(1, 2, 0) for m in maps]).astype(np.float32, copy=False)
                out.append(torch.from_numpy(stacked).permute(0, 3, 1, 2).to(device))
            else:
                out.append(torch.from_numpy(np.stack(maps).astype(np.float32, copy=False)).to(device))
        return out

    # ---- reporting --------------------------------------------------------------------------------------
    def footprint(self) -> dict:
        """Entries and bytes of this namespace, of the whole folder, temp files, and this process's counters."""
        entries = ns_bytes = temp = 0
        for shard in _subdirs(self.dir):
            for e in os.scandir(shard):
                if e.name.startswith(TEMP_PREFIX):
                    temp += 1
                elif e.name.endswith(ENTRY_SUFFIX):
                    entries += 1
                    ns_bytes += e.stat().st_size
        self._folder_bytes = self._scan_bytes()
        looked_up = self.hits + self.misses
        return {"dir": str(self.dir), "entries": entries, "gb": ns_bytes / 1e9,
                "folder_gb": self._folder_bytes / 1e9, "max_gb": self.max_gb, "full": self.full,
                "other_namespaces": sum(1 for d in _subdirs(self.root) if d.name != self.ns_id),
                "temp_files": temp, "hits": self.hits, "misses": self.misses,
                "hit_rate": self.hits / looked_up if looked_up else 0.0, "writes": self.writes,
                "skipped_full": self.skipped_full, "unreadable": self.unreadable, "fp32_entries": self.fp32_entries}

    def summary(self) -> str:
        """One line from this process's counters (no folder scan: cheap enough to log every few steps)."""
        looked_up = self.hits + self.misses
        rate = self.hits / looked_up if looked_up else 0.0
        return (f"feature cache: hit rate {rate:.1%} ({self.hits} hits, {self.misses} misses), {self.writes} "
                f"written, folder ~{self._folder_bytes / 1e9:.3f} of {self.max_gb:g} GB{' FULL' if self.full else ''}")

    def report(self) -> str:
        """Footprint in words (scans the folder)."""
        f = self.footprint()
        return (f"feature cache {f['dir']}: {f['entries']} entries, {f['gb']:.3f} GB (folder {f['folder_gb']:.3f} of "
                f"{f['max_gb']:g} GB{', FULL' if f['full'] else ''}, {f['other_namespaces']} other namespace(s), "
                f"{f['temp_files']} temp file(s)), hit rate {f['hit_rate']:.1%} ({f['hits']} hits, "
                f"{f['misses']} misses), {f['writes']} written")

    def remove_temp_files(self) -> int:
        """Delete temp files left by killed writers (call when no writer is running). Returns how many."""
        n = 0
        for shard in _subdirs(self.dir):
            for e in os.scandir(shard):
                if e.name.startswith(TEMP_PREFIX):
                    Path(e.path).unlink(missing_ok=True)
                    n += 1
        return n

    def _scan_bytes(self) -> int:
        total = 0
        for dirpath, _, files in os.walk(self.root):
            for name in files:
                try:
                    total += os.stat(os.path.join(dirpath, name)).st_size
                except FileNotFoundError:  # renamed or removed by another process meanwhile
                    pass
        return total


def _is_hwc(a: np.ndarray) -> bool:
    """A (C,h,w) array whose memory is (h,w,C) C-order (a channels_last tap), and not also plain C-order."""
    return a.ndim == 3 and not a.flags.c_contiguous and a.transpose(1, 2, 0).flags.c_contiguous


def _data_offset(header_len: int) -> int:
    return -(-(len(MAGIC) + 4 + header_len) // 64) * 64


def _subdirs(path: Path):
    try:
        return [Path(e.path) for e in os.scandir(path) if e.is_dir()]
    except FileNotFoundError:
        return []


def _write_atomic(path: Path, head: bytes, arrays: Sequence[np.ndarray] = ()) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(head)
            for a in arrays:
                f.write(memoryview(a.transpose(1, 2, 0) if _is_hwc(a) else a).cast("B"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
