"""Fast (vectorised) readers agree with the record-by-record ones; batched IoU equals per-frame IoU."""
import numpy as np

from efftrack.data.mot import read_mot_txt
from efftrack.evaluation import tao_inputs
from efftrack.evaluation.iou import box_iou, box_iou_blocks
from efftrack.evaluation.mot_eval import _fast_read
from efftrack.evaluation.synthetic import make_tao


def test_fast_and_slow_tao_readers_agree(monkeypatch):
    gt, preds = make_tao(seed=11, extra_dets=2)
    preds[0].pop("video_id", None)  # video_id is optional in predictions
    fast_gt = tao_inputs.load_tao_gt(gt)
    fast_p = tao_inputs.load_tao_predictions(preds, fast_gt)
    monkeypatch.setattr(tao_inputs, "_fast_annotations", lambda *a: None)
    monkeypatch.setattr(tao_inputs, "_fast_predictions", lambda *a: None)
    slow_gt = tao_inputs.load_tao_gt(gt)
    slow_p = tao_inputs.load_tao_predictions(preds, slow_gt)
    for name in ("ann_image", "ann_video", "ann_track", "ann_category", "ann_box"):
        np.testing.assert_array_equal(getattr(fast_gt, name), getattr(slow_gt, name), err_msg=name)
    for name in ("image", "video", "track", "score", "box"):
        np.testing.assert_array_equal(getattr(fast_p, name), getattr(slow_p, name), err_msg=name)
    assert fast_p.video[0] == gt["images"][[im["id"] for im in gt["images"]].index(preds[0]["image_id"])]["video_id"]


def test_fast_mot_read_matches_reader(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("1,1,10.5,20,30,40,1,1,0.5\n2,3,1,2,3,4,0,7,1\n")
    np.testing.assert_array_equal(_fast_read(str(path)), read_mot_txt(path))
    ragged = tmp_path / "b.txt"
    ragged.write_text("1,1,10,20,30,40\n2,3,1,2,3,4,1,1,1,-1\n")
    assert _fast_read(str(ragged)) is None  # falls back to read_mot_txt, which pads row by row


def test_batched_iou_is_bit_identical():
    rng = np.random.default_rng(0)
    g = rng.uniform(0, 100, (30, 4))
    g[:, 2:] = g[:, :2] + rng.uniform(0, 30, (30, 2))
    g[4, 3] = g[4, 1]  # zero-area box
    p = rng.uniform(0, 100, (40, 4))
    p[:, 2:] = p[:, :2] + rng.uniform(0, 30, (40, 2))
    g_groups = [np.arange(0, 8), np.arange(8, 8), np.arange(8, 30), np.array([3, 1])]
    p_groups = [np.arange(0, 25), np.arange(25, 31), np.arange(31, 31), np.array([39, 0, 5])]
    blocks = box_iou_blocks(g, g_groups, p, p_groups)
    for blk, gi, pi in zip(blocks, g_groups, p_groups):
        assert blk.shape == (len(gi), len(pi))
        np.testing.assert_array_equal(blk, box_iou(g[gi], p[pi]))
    assert blocks[0].max() > 0
