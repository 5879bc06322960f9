"""Synthetic open-world video benchmark in TAO format (deterministic from a seed).

Categories are (shape family) x (texture family). Known and unknown categories use DISJOINT shape
families and DISJOINT texture families (pattern AND colour palette), so an unknown object shares
neither outline nor appearance with anything labelled in training. Known categories take ids from
TrackEval's TAO-OW ``KNOWN_IDS`` and unknown ones from ``UNKNOWN_IDS``, so TrackEval's
known/unknown subsets score the output unchanged; each category also records ``split``, ``shape``
and ``texture``.

Annotation convention: the box is the object's FULL extent (occluded parts included, as
MOTChallenge does), clipped to the frame. ``visibility`` = fraction of the object's pixels that are
visible (not occluded, inside the frame); annotations with visibility < ``min_visibility`` are
dropped (mostly occluded or mostly out of frame). All frames are listed in ``images``;
with ``annotate_every=k`` only every k-th frame has ``"annotated": true`` and annotations (TAO
annotates about 1 frame in 30); un-annotated frames carry ``"annotated": false``.

Objects move smoothly (drift + sinusoidal sway), change scale, occlude each other by a fixed
per-object depth order, enter from and leave through the frame border or appear mid-video;
backgrounds are procedural per video; optional smooth camera pan.
"""
from __future__ import annotations

import os

import cv2
import numpy as np

from .tao_ow_ids import DISTRACTOR_IDS, KNOWN_IDS, UNKNOWN_IDS
from ..utils.atomic import write_json_atomic

KNOWN_SHAPES = ("circle", "square", "triangle", "cross")
UNKNOWN_SHAPES = ("star", "ring", "hexagon", "crescent")
# texture family -> (pattern, palette of RGB colours); palettes are disjoint hue groups.
KNOWN_TEXTURES = {
    "stripes_warm": ("stripes", [(220, 40, 30), (250, 170, 20), (120, 20, 10)]),
    "checkers_cool": ("checkers", [(30, 80, 220), (150, 220, 250), (20, 30, 90)]),
    "dots_green": ("dots", [(30, 170, 60), (190, 240, 150), (10, 70, 30)]),
}
UNKNOWN_TEXTURES = {
    "noise_purple": ("noise", [(140, 40, 180), (240, 150, 230), (60, 10, 80)]),
    "gradient_teal": ("gradient", [(20, 160, 160), (220, 250, 240), (10, 60, 70)]),
    "rings_mono": ("rings", [(245, 245, 245), (25, 25, 25), (128, 128, 128)]),
}
BASE = 96  # resolution of per-instance texture and mask sprites


def make_categories() -> list:
    """Category records: known = KNOWN_SHAPES x KNOWN_TEXTURES, unknown likewise (disjoint)."""
    known_ids, unknown_ids = sorted(KNOWN_IDS), sorted(UNKNOWN_IDS)
    cats = []
    for split, shapes, textures, ids in (("known", KNOWN_SHAPES, KNOWN_TEXTURES, known_ids),
                                         ("unknown", UNKNOWN_SHAPES, UNKNOWN_TEXTURES, unknown_ids)):
        k = 0
        for s in shapes:
            for t in textures:
                cats.append(dict(id=ids[k], name=f"{s}_{t}", split=split, shape=s, texture=t,
                                 supercategory=split))
                k += 1
    assert not any(c["id"] in DISTRACTOR_IDS for c in cats)
    return cats


def _shape_mask(shape: str) -> np.ndarray:
    m = np.zeros((BASE, BASE), np.uint8)
    c, r = BASE // 2, BASE // 2 - 1

    def poly(n, rot=0.0, inner=None):
        pts = []
        for i in range(n * (2 if inner else 1)):
            ang = rot + i * np.pi * 2 / (n * (2 if inner else 1))
            rad = r if (not inner or i % 2 == 0) else r * inner
            pts.append((c + rad * np.cos(ang), c + rad * np.sin(ang)))
        cv2.fillPoly(m, [np.round(np.array(pts)).astype(np.int32)], 255)

    if shape == "circle":
        cv2.circle(m, (c, c), r, 255, -1)
    elif shape == "square":
        m[4:-4, 4:-4] = 255
    elif shape == "triangle":
        cv2.fillPoly(m, [np.array([[c, 1], [BASE - 2, BASE - 2], [1, BASE - 2]], np.int32)], 255)
    elif shape == "cross":
        m[BASE // 3:2 * BASE // 3, :] = 255
        m[:, BASE // 3:2 * BASE // 3] = 255
    elif shape == "star":
        poly(5, rot=-np.pi / 2, inner=0.45)
    elif shape == "ring":
        cv2.circle(m, (c, c), r, 255, -1)
        cv2.circle(m, (c, c), r // 2, 0, -1)
    elif shape == "hexagon":
        poly(6)
    elif shape == "crescent":
        cv2.circle(m, (c, c), r, 255, -1)
        cv2.circle(m, (c + r // 2, c - r // 4), int(r * 0.8), 0, -1)
    else:
        raise ValueError(f"unknown shape family {shape!r}")
    return m


def _texture(family: str, rng: np.random.Generator) -> np.ndarray:
    """Per-instance BASE x BASE x 3 uint8 RGB texture of one family (random phase/scale/colours)."""
    pattern, palette = {**KNOWN_TEXTURES, **UNKNOWN_TEXTURES}[family]
    cols = np.array(palette, np.float32)[rng.permutation(3)]
    cols = (cols + rng.uniform(-20, 20, size=cols.shape)).clip(0, 255)
    y, x = np.mgrid[0:BASE, 0:BASE].astype(np.float32)
    period = rng.uniform(10, 24)
    ang = rng.uniform(0, np.pi)
    u = x * np.cos(ang) + y * np.sin(ang)
    if pattern == "stripes":
        t = (np.sin(2 * np.pi * u / period + rng.uniform(0, 6.3)) > 0).astype(np.float32)
    elif pattern == "checkers":
        t = ((np.floor(x / period * 1.2) + np.floor(y / period * 1.2)) % 2).astype(np.float32)
    elif pattern == "dots":
        px, py = (x + rng.uniform(0, period)) % period - period / 2, y % period - period / 2
        t = ((px ** 2 + py ** 2) < (period * 0.3) ** 2).astype(np.float32)
    elif pattern == "noise":
        low = rng.random((6, 6)).astype(np.float32)
        t = cv2.resize(low, (BASE, BASE), interpolation=cv2.INTER_CUBIC)
        t = np.digitize(t, [0.4, 0.6]).astype(np.float32) / 2
    elif pattern == "gradient":
        t = (u - u.min()) / max(float(np.ptp(u)), 1e-6)
    elif pattern == "rings":
        d = np.hypot(x - rng.uniform(0, BASE), y - rng.uniform(0, BASE))
        t = (np.sin(2 * np.pi * d / period) > 0).astype(np.float32)
    else:
        raise ValueError(pattern)
    t = t[..., None]
    # Blend first two colours by the pattern, third as a thin outline-free tint.
    img = cols[0] * (1 - t) + cols[1] * t
    img = img * 0.85 + cols[2] * 0.15
    return img.clip(0, 255).astype(np.uint8)


def _background(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Muted procedural background: colour gradient + low-frequency noise + grey clutter."""
    c0, c1 = rng.uniform(40, 200, 3), rng.uniform(40, 200, 3)
    c0 = c0 * 0.6 + c0.mean() * 0.4  # desaturate so objects stay distinct
    c1 = c1 * 0.6 + c1.mean() * 0.4
    ramp = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    img = c0 * (1 - ramp) + c1 * ramp
    img = np.broadcast_to(img, (h, w, 3)).copy()
    noise = cv2.resize(rng.normal(0, 18, (max(2, h // 48), max(2, w // 48), 3)).astype(np.float32), (w, h),
                       interpolation=cv2.INTER_CUBIC)
    img += noise
    img = img.clip(0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(4, 12))):
        g = int(rng.integers(60, 190))
        p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        p2 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        if rng.random() < 0.5:
            cv2.line(img, p1, p2, (g, g, g), int(rng.integers(1, 4)))
        else:
            cv2.rectangle(img, p1, (p1[0] + int(rng.integers(5, 40)), p1[1] + int(rng.integers(5, 40))),
                          (g, g, g), -1)
    return img


class _Object:
    def __init__(self, rng, cat, size, frames, track_id):
        self.cat, self.track_id = cat, track_id
        self.mask = _shape_mask(cat["shape"])
        self.tex = _texture(cat["texture"], rng)
        self.mask_area = float((self.mask > 127).sum())
        self.depth = rng.random()
        self.base = rng.uniform(0.12, 0.28) * size
        self.aspect = rng.uniform(0.7, 1.4)
        self.birth = int(rng.integers(0, max(1, frames // 2))) if rng.random() < 0.3 else 0
        self.death = frames
        speed = rng.uniform(0.5, 3.0) * size / 384
        if rng.random() < 0.35:  # enter through a border, heading inwards
            side = int(rng.integers(4))
            p = rng.uniform(0.2, 0.8) * size
            self.p0 = np.array([[-self.base, p], [size + self.base, p], [p, -self.base], [p, size + self.base]][side])
            direction = (size / 2 - self.p0) / np.linalg.norm(size / 2 - self.p0)
            self.v = direction * speed * 1.5
        else:
            self.p0 = rng.uniform(0.15, 0.85, 2) * size
            ang = rng.uniform(0, 2 * np.pi)
            self.v = np.array([np.cos(ang), np.sin(ang)]) * speed
        self.sway = rng.uniform(0, 0.04, 2) * size
        self.omega = rng.uniform(0.05, 0.2, 2)
        self.phase = rng.uniform(0, 2 * np.pi, 3)
        self.scale_amp, self.scale_omega = rng.uniform(0.05, 0.35), rng.uniform(0.02, 0.1)

    def state(self, t):
        """Centre (world pixels) and (w, h) at frame t."""
        dt = t - self.birth
        c = self.p0 + self.v * dt + self.sway * np.sin(self.omega * dt + self.phase[:2])
        s = self.base * (1 + self.scale_amp * np.sin(self.scale_omega * dt + self.phase[2]))
        return c, (s * np.sqrt(self.aspect), s / np.sqrt(self.aspect))


def render_video(rng, size: int, frames: int, categories: list, camera_motion: bool,
                 num_objects=(3, 8), min_visibility: float = 0.3, first_track_id: int = 1):
    """Yield ``(frame_rgb (S,S,3) uint8, [(track, box_xyxy, visibility), ...])`` for each frame.

    Objects are drawn back to front by depth; visibility counts the object's own pixels that end
    up visible in the frame, divided by all its pixels.
    """
    margin = int(0.15 * size) if camera_motion else 0
    bg = _background(size + 2 * margin, size + 2 * margin, rng)
    n = int(rng.integers(num_objects[0], num_objects[1] + 1))
    objs = [_Object(rng, categories[int(rng.integers(len(categories)))], size, frames, first_track_id + i)
            for i in range(n)]
    objs.sort(key=lambda o: o.depth)
    cam_amp, cam_om, cam_ph = rng.uniform(0.3, 1.0, 2) * margin, rng.uniform(0.03, 0.08, 2), rng.uniform(0, 6.3, 2)
    for t in range(frames):
        cam = (margin + cam_amp * np.sin(cam_om * t + cam_ph) - margin) if camera_motion else np.zeros(2)
        ox, oy = int(round(margin + cam[0])), int(round(margin + cam[1]))
        frame = bg[oy:oy + size, ox:ox + size].copy()
        owner = np.full((size, size), -1, np.int16)
        placed = []
        for k, o in enumerate(objs):
            if not (o.birth <= t < o.death):
                continue
            c, (w, h) = o.state(t)
            c = c - cam
            wi, hi = int(round(w)), int(round(h))
            if wi < 4 or hi < 4:
                continue
            x1, y1 = int(round(c[0] - wi / 2)), int(round(c[1] - hi / 2))
            cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x1 + wi, size), min(y1 + hi, size)
            if cx2 <= cx1 or cy2 <= cy1:
                continue
            m = cv2.resize(o.mask, (wi, hi), interpolation=cv2.INTER_NEAREST)[cy1 - y1:cy2 - y1, cx1 - x1:cx2 - x1] > 127
            tex = cv2.resize(o.tex, (wi, hi), interpolation=cv2.INTER_LINEAR)[cy1 - y1:cy2 - y1, cx1 - x1:cx2 - x1]
            frame[cy1:cy2, cx1:cx2][m] = tex[m]
            owner[cy1:cy2, cx1:cx2][m] = k
            total = o.mask_area * (wi * hi) / (BASE * BASE)
            placed.append((k, o, (x1, y1, x1 + wi, y1 + hi), (cx1, cy1, cx2, cy2), total))
        anns = []
        for k, o, full, clip, total in placed:
            vis = float((owner[clip[1]:clip[3], clip[0]:clip[2]] == k).sum()) / max(total, 1.0)
            if vis < min_visibility:
                continue
            box = (float(clip[0]), float(clip[1]), float(clip[2]), float(clip[3]))
            anns.append((o, box, min(vis, 1.0)))
        yield frame, anns


def _atomic_json(path, obj):
    write_json_atomic(path, obj, indent=None)


def generate_split(out_dir, split: str, num_videos: int, frames: int = 60, size: int = 384, seed: int = 0,
                   annotate_every: int = 1, camera_motion: bool = False, fmt: str = "jpg",
                   jpeg_quality: int = 90, num_objects=(3, 8), min_visibility: float = 0.3) -> dict:
    """Render one split into ``out_dir/<split>/`` and return its COCO-video dict (not yet written)."""
    if fmt not in ("jpg", "mp4"):
        raise ValueError(f"format must be 'jpg' or 'mp4', got {fmt!r}")
    if annotate_every < 1 or frames < 1 or size < 16:
        raise ValueError("annotate_every and frames must be >= 1 and size >= 16")
    categories = make_categories()
    split_code = {"train": 1, "val": 2}.get(split, 3)
    videos, images, tracks, annotations = [], [], [], []
    next_track = 1
    for v in range(num_videos):
        rng = np.random.default_rng([seed, split_code, v])
        vid = v + 1
        name = f"{split}/{v:04d}"
        rel_video = f"{split}/{v:04d}.mp4"
        writer = None
        if fmt == "mp4":
            os.makedirs(os.path.join(out_dir, split), exist_ok=True)
            writer = cv2.VideoWriter(os.path.join(out_dir, rel_video), cv2.VideoWriter_fourcc(*"mp4v"),
                                     30.0, (size, size))
        else:
            os.makedirs(os.path.join(out_dir, name), exist_ok=True)
        seen = {}
        try:
            for t, (frame, anns) in enumerate(render_video(rng, size, frames, categories, camera_motion,
                                                           num_objects, min_visibility, next_track)):
                image_id = len(images) + 1
                rel = rel_video if fmt == "mp4" else f"{name}/{t:06d}.jpg"
                bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
                if writer is not None:
                    writer.write(bgr)
                else:
                    cv2.imwrite(os.path.join(out_dir, rel), bgr, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
                annotated = t % annotate_every == 0
                images.append(dict(id=image_id, video_id=vid, frame_index=t, file_name=rel, width=size,
                                   height=size, annotated=annotated))
                if not annotated:
                    continue
                for o, (x1, y1, x2, y2), vis in anns:
                    seen[o.track_id] = o
                    annotations.append(dict(id=len(annotations) + 1, image_id=image_id, video_id=vid,
                                            track_id=o.track_id, category_id=o.cat["id"],
                                            bbox=[x1, y1, x2 - x1, y2 - y1], area=(x2 - x1) * (y2 - y1),
                                            iscrowd=0, visibility=round(vis, 3)))
        finally:
            if writer is not None:
                writer.release()
        next_track += max(100, num_objects[1])  # track ids stay unique across the whole split
        for tid in sorted(seen):
            tracks.append(dict(id=tid, video_id=vid, category_id=seen[tid].cat["id"]))
        video = dict(id=vid, name=name, width=size, height=size, num_frames=frames,
                     neg_category_ids=[], not_exhaustive_category_ids=[])
        if fmt == "mp4":
            video["file_name"] = rel_video
        videos.append(video)
    return dict(info=dict(description=f"efftrack synthetic open-world benchmark ({split})", seed=seed,
                          annotate_every=annotate_every, camera_motion=camera_motion,
                          box_convention="full extent clipped to the frame",
                          min_visibility=min_visibility),
                licenses=[], videos=videos, images=images, tracks=tracks, annotations=annotations,
                categories=categories)


def generate_dataset(out_dir, train_videos: int = 20, val_videos: int = 10, frames: int = 60, size: int = 384,
                     seed: int = 0, annotate_every: int = 1, camera_motion: bool = False, fmt: str = "jpg",
                     **kwargs) -> dict:
    """Write ``out_dir/train.json``, ``out_dir/val.json`` and the frames (``file_name`` relative to
    ``out_dir``). Returns ``{split: path_to_json}``. Deterministic from ``seed``."""
    os.makedirs(out_dir, exist_ok=True)
    out = {}
    for split, n in (("train", train_videos), ("val", val_videos)):
        data = generate_split(out_dir, split, n, frames=frames, size=size, seed=seed,
                              annotate_every=annotate_every, camera_motion=camera_motion, fmt=fmt, **kwargs)
        path = os.path.join(out_dir, f"{split}.json")
        _atomic_json(path, data)
        out[split] = path
    return out
