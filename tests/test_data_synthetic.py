import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from efftrack.data.synthetic import generate_dataset, make_categories
from efftrack.data.tao_ow_ids import KNOWN_IDS, UNKNOWN_IDS, subset_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def syn(tmp_path_factory):
    out = tmp_path_factory.mktemp("syn")
    generate_dataset(str(out), train_videos=3, val_videos=3, frames=8, size=96, seed=3, annotate_every=2,
                     camera_motion=True, num_objects=(5, 8))
    return out, json.loads((out / "train.json").read_text()), json.loads((out / "val.json").read_text())


def test_categories_disjoint_families_and_tao_ow_ids():
    cats = make_categories()
    known = [c for c in cats if c["split"] == "known"]
    unknown = [c for c in cats if c["split"] == "unknown"]
    assert known and unknown
    assert {c["shape"] for c in known}.isdisjoint({c["shape"] for c in unknown})
    assert {c["texture"] for c in known}.isdisjoint({c["texture"] for c in unknown})
    assert all(c["id"] in KNOWN_IDS and subset_of(c["id"]) == "known" for c in known)
    assert all(c["id"] in UNKNOWN_IDS and subset_of(c["id"]) == "unknown" for c in unknown)
    assert len({c["id"] for c in cats}) == len(cats)


def test_structure_sparse_annotation_and_boxes(syn):
    out, train, val = syn
    for data in (train, val):
        assert {"videos", "images", "tracks", "annotations", "categories"} <= set(data)
        imgs = {im["id"]: im for im in data["images"]}
        assert len(imgs) == 3 * 8
        for im in imgs.values():
            assert os.path.isfile(out / im["file_name"])
            assert im["annotated"] == (im["frame_index"] % 2 == 0)
        tracks = {t["id"]: t for t in data["tracks"]}
        for a in data["annotations"]:
            im = imgs[a["image_id"]]
            assert im["annotated"] and tracks[a["track_id"]]["video_id"] == im["video_id"] == a["video_id"]
            x, y, w, h = a["bbox"]
            assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= 96 and y + h <= 96
            assert 0.3 <= a["visibility"] <= 1.0
        for v in data["videos"]:
            assert v["neg_category_ids"] == [] and v["not_exhaustive_category_ids"] == []
    splits = {subset_of(a["category_id"]) for a in train["annotations"] + val["annotations"]}
    assert splits == {"known", "unknown"}
    # Occlusion happens: some annotated objects are partly hidden.
    assert min(a["visibility"] for a in val["annotations"] + train["annotations"]) < 0.95


def test_deterministic_from_seed(tmp_path):
    kw = dict(train_videos=1, val_videos=1, frames=3, size=64, camera_motion=True)
    generate_dataset(str(tmp_path / "a"), seed=5, **kw)
    generate_dataset(str(tmp_path / "b"), seed=5, **kw)
    generate_dataset(str(tmp_path / "c"), seed=6, **kw)
    ja, jb, jc = ((tmp_path / d / "val.json").read_text() for d in "abc")
    assert ja == jb and ja != jc
    f = "val/0000/000002.jpg"
    assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


def test_objects_move(syn):
    out, train, _ = syn
    by_track = {}
    for a in train["annotations"]:
        by_track.setdefault(a["track_id"], []).append(a["bbox"])
    moved = [np.abs(np.diff(np.array(b), axis=0)).max() for b in by_track.values() if len(b) > 1]
    assert moved and max(moved) > 0.5


def test_mp4_format_matches_jpg(tmp_path):
    from efftrack.data.tao import TaoVideos
    kw = dict(train_videos=0, val_videos=1, frames=5, size=64, seed=1)
    generate_dataset(str(tmp_path / "j"), fmt="jpg", **kw)
    generate_dataset(str(tmp_path / "m"), fmt="mp4", **kw)
    vj, vm = TaoVideos(tmp_path / "j" / "val.json", tmp_path / "j"), TaoVideos(tmp_path / "m" / "val.json", tmp_path / "m")
    assert vm[0].frames[3].path.endswith(".mp4")
    a = vj.load_image(vj[0].frames[3]).astype(float)
    diffs = [np.abs(a - vm.load_image(f).astype(float)).mean() for f in vm[0].frames]
    assert int(np.argmin(diffs)) == 3  # the seek lands on the right frame


def test_cli(tmp_path):
    tool = os.path.join(ROOT, "tools", "make_synthetic.py")
    r = subprocess.run([sys.executable, tool, str(tmp_path / "o"), "--train-videos", "1", "--val-videos", "1",
                        "--frames", "3", "--size", "48", "--annotate-every", "2", "--camera-motion"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o" / "train.json").is_file() and "frames/s" in r.stdout
    r = subprocess.run([sys.executable, tool, str(tmp_path / "p"), "--frames", "0"], capture_output=True, text=True)
    assert r.returncode != 0 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    shutil.rmtree(tmp_path / "o")


def test_camera_motion_moves_the_background():
    from efftrack.data.synthetic import make_categories, render_video
    cats = make_categories()
    for moving in (False, True):
        frames = [f for f, _ in render_video(np.random.default_rng(0), 64, 12, cats, camera_motion=moving,
                                             num_objects=(0, 0))]
        change = np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean()
        assert (change > 1.0) == moving
