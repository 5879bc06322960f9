import json
import warnings

import numpy as np
import pytest
import torch

from efftrack.data.annotations import load_annotations
from efftrack.data.errors import DatasetFormatError, MissingImageError
from efftrack.data.synthetic import generate_dataset
from efftrack.data.tao import TaoPairDataset, TaoVideos
from efftrack.data.tao_ow_ids import subset_of
from efftrack.data.transforms import unletterbox_boxes
from efftrack.data.views import collate_pairs


@pytest.fixture(scope="module")
def syn(tmp_path_factory):
    out = tmp_path_factory.mktemp("tao")
    generate_dataset(str(out), train_videos=2, val_videos=2, frames=6, size=80, seed=1, annotate_every=2,
                     num_objects=(5, 7))
    return out


def test_pairs_from_one_video_within_gap(syn):
    ds = TaoPairDataset(syn / "train.json", syn, subset="all", max_gap=2, input_size=(64, 96), augment=True)
    assert len(ds) == 2 * 3  # only annotated frames (0, 2, 4) are sampled
    for i in range(len(ds)):
        p = ds[i]
        k, r = p["key"], p["ref"]
        assert k["meta"]["video_id"] == r["meta"]["video_id"]
        assert abs(k["meta"]["frame_index"] - r["meta"]["frame_index"]) == 2
        assert k["img"].shape == (3, 64, 96) and k["img"].dtype == torch.float32
        assert 0.0 <= float(k["img"].min()) and float(k["img"].max()) <= 1.0
        assert k["boxes"].shape == (len(k["track_ids"]), 4) == (len(k["labels"]), 4)
        assert k["track_ids"].dtype == torch.int64 and k["labels"].dtype == torch.int64
    # Objects persist across frames, so pairs share track ids.
    shared = [len(set(ds[i]["key"]["track_ids"].tolist()) & set(ds[i]["ref"]["track_ids"].tolist()))
              for i in range(len(ds))]
    assert max(shared) > 0


def test_subsets_filter_labels(syn):
    seen = {}
    for subset in ("all", "known", "unknown"):
        ds = TaoPairDataset(syn / "train.json", syn, subset=subset, input_size=(64, 64), augment=False)
        labels = torch.cat([ds[i]["key"]["labels"] for i in range(len(ds))]).tolist()
        seen[subset] = labels
    assert {subset_of(c) for c in seen["known"]} == {"known"}
    assert {subset_of(c) for c in seen["unknown"]} == {"unknown"}
    assert len(seen["all"]) == len(seen["known"]) + len(seen["unknown"])


def test_no_augment_meta_maps_back_to_original(syn):
    ds = TaoPairDataset(syn / "val.json", syn, input_size=(40, 60), augment=False)
    videos = TaoVideos(syn / "val.json", syn)
    gt = {im_id: g for v in videos for im_id, g in v.gt.items()}
    view = ds[0]["key"]
    m = view["meta"]
    assert m["orig_size"] == (80, 80) and m["input_size"] == (40, 60) and m["scale"] == pytest.approx(0.5)
    back = unletterbox_boxes(view["boxes"].numpy(), m)
    np.testing.assert_allclose(back, gt[m["image_id"]]["boxes"], atol=1e-3)


def test_collate(syn):
    ds = TaoPairDataset(syn / "train.json", syn, input_size=(32, 32))
    batch = collate_pairs([ds[0], ds[1], ds[2]])
    assert batch["key"]["img"].shape == (3, 3, 32, 32) and batch["ref"]["img"].shape == (3, 3, 32, 32)
    assert len(batch["key"]["boxes"]) == 3 and len(batch["ref"]["meta"]) == 3
    assert batch["key"]["meta"][1]["image_id"] == ds[1]["key"]["meta"]["image_id"]
    loader = torch.utils.data.DataLoader(ds, batch_size=2, collate_fn=collate_pairs)
    assert next(iter(loader))["key"]["img"].shape == (2, 3, 32, 32)


def test_tao_videos(syn):
    videos = TaoVideos(syn / "val.json", syn)
    assert len(videos) == 2
    v = videos[0]
    assert [f.frame_index for f in v.frames] == list(range(6))
    assert [f.annotated for f in v.frames] == [True, False] * 3
    assert set(v.gt) == {f.image_id for f in v.frames if f.annotated}
    img = videos.load_image(v.frames[1])
    assert img.shape == (80, 80, 3) and img.dtype == np.uint8


def test_trackeval_sees_known_unknown_split(syn, tmp_path):
    """Ground truth written through TaoJsonWriter scores OWTA 1 on every subset; keeping only the
    known (unknown) tracks scores 1 on known (unknown) and far less on the other subset (not 0: a box of
    one object can overlap another object's box at low IoU thresholds), so TrackEval sees the split."""
    trackeval = pytest.importorskip("trackeval")
    from efftrack.data.writers import TaoJsonWriter
    gt_dir = tmp_path / "gt"
    gt_dir.mkdir()
    (gt_dir / "val.json").write_text((syn / "val.json").read_text())
    videos = TaoVideos(syn / "val.json", syn)
    names = {"perfect": ("known", "unknown"), "known_only": ("known",), "unknown_only": ("unknown",)}
    for name, keep in names.items():
        d = tmp_path / "trackers" / name / "data"
        with TaoJsonWriter(d / "pred.json") as w:
            for v in videos:
                for f in v.frames:
                    if f.annotated:
                        g = v.gt[f.image_id]
                        m = np.array([subset_of(int(c)) in keep for c in g["labels"]], bool)
                        w.write(f.frame_index, g["track_ids"][m], g["boxes"][m], np.ones(m.sum()),
                                image_id=f.image_id, video_id=v.video_id)
    ev = trackeval.Evaluator(dict(USE_PARALLEL=False, PRINT_RESULTS=False, PRINT_CONFIG=False,
                                  TIME_PROGRESS=False, OUTPUT_SUMMARY=False, OUTPUT_DETAILED=False,
                                  PLOT_CURVES=False, DISPLAY_LESS_PROGRESS=True, OUTPUT_EMPTY_CLASSES=False))
    owta = {}
    for subset in ("known", "unknown"):
        ds = trackeval.datasets.TAO_OW(dict(GT_FOLDER=str(gt_dir), TRACKERS_FOLDER=str(tmp_path / "trackers"),
                                           OUTPUT_FOLDER=str(tmp_path / "out"), SUBSET=subset, PRINT_CONFIG=False))
        res, _ = ev.evaluate([ds], [trackeval.metrics.HOTA(dict(PRINT_CONFIG=False))])
        for name in names:
            owta[name, subset] = float(np.mean(res[ds.get_name()][name]["COMBINED_SEQ"]["object"]["HOTA"]["OWTA"]))
    assert owta["perfect", "known"] == pytest.approx(1.0) and owta["perfect", "unknown"] == pytest.approx(1.0)
    assert owta["known_only", "known"] == pytest.approx(1.0) and owta["known_only", "unknown"] < 0.5
    assert owta["unknown_only", "unknown"] == pytest.approx(1.0) and owta["unknown_only", "known"] < 0.5


# ---- bad input ---------------------------------------------------------------------------------

def _base():
    return dict(videos=[dict(id=1, name="v")],
                images=[dict(id=1, video_id=1, frame_index=0, file_name="a.jpg", width=50, height=40)],
                tracks=[dict(id=5, video_id=1, category_id=4)],
                annotations=[dict(id=9, image_id=1, track_id=5, category_id=4, bbox=[1, 2, 10, 10])],
                categories=[dict(id=4, name="thing")])


def _write(tmp_path, data, name="ann.json"):
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    return p


def test_malformed_json(tmp_path):
    with pytest.raises(DatasetFormatError, match=r"broken\.json: malformed JSON"):
        load_annotations(_write(tmp_path, '{"videos": [', "broken.json"))
    d = _base()
    del d["videos"]
    with pytest.raises(DatasetFormatError, match="'videos'"):
        load_annotations(_write(tmp_path, d))
    with pytest.raises(DatasetFormatError, match="not found"):
        load_annotations(tmp_path / "nope.json")


@pytest.mark.parametrize("field,value,msg", [
    ("image_id", 77, "annotation 9 points at unknown image 77"),
    ("track_id", 66, "annotation 9 points at unknown track 66"),
    ("category_id", 55, "annotation 9 points at unknown category 55"),
])
def test_dangling_references(tmp_path, field, value, msg):
    d = _base()
    d["annotations"][0][field] = value
    with pytest.raises(DatasetFormatError, match=msg):
        load_annotations(_write(tmp_path, d))


def test_degenerate_and_outside_boxes_are_counted(tmp_path):
    d = _base()
    d["annotations"] += [dict(id=10, image_id=1, track_id=5, category_id=4, bbox=[1, 1, 0, 5]),
                         dict(id=11, image_id=1, track_id=5, category_id=4, bbox=[1, 1, 5, -2]),
                         dict(id=12, image_id=1, track_id=5, category_id=4, bbox=[60, 1, 5, 5]),
                         dict(id=13, image_id=1, track_id=5, category_id=4, bbox=[45, 35, 10, 10])]
    with pytest.warns(UserWarning, match=r"2 degenerate box\(es\), 1 outside box\(es\), 1 clipped"):
        ann = load_annotations(_write(tmp_path, d))
    boxes = ann.per_image[1]["boxes"]
    np.testing.assert_allclose(boxes, [[1, 2, 11, 12], [45, 35, 50, 40]])


def test_clean_file_gives_no_warning(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ann = load_annotations(_write(tmp_path, _base()))
    assert ann.per_image[1]["track_ids"].tolist() == [5]


def test_missing_image_file(tmp_path):
    p = _write(tmp_path, _base())
    ds = TaoPairDataset(p, tmp_path, input_size=(32, 32))
    with pytest.raises(MissingImageError, match=r"a\.jpg: image file missing \(image id 1\)"):
        ds[0]
    (tmp_path / "a.jpg").write_bytes(b"garbage")
    with pytest.raises(MissingImageError, match=r"a\.jpg: cannot decode"):
        TaoVideos(p, tmp_path).load_image(TaoVideos(p, tmp_path)[0].frames[0])
