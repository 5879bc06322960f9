"""MOTChallenge txt evaluation against TrackEval's MotChallenge2DBox run end to end."""
import os
import shutil

import motmetrics
import numpy as np
import pytest

from helpers_trackeval import trackeval_mot

from efftrack.data.mot import read_mot_txt
from efftrack.evaluation import EvalInputError, evaluate_mot

MM_DATA = os.path.join(os.path.dirname(motmetrics.__file__), "data")
CLEAR_FIELDS = ("MOTA", "MOTP", "CLR_TP", "CLR_FN", "CLR_FP", "IDSW", "CLR_Frames")
ID_FIELDS = ("IDF1", "IDTP", "IDFN", "IDFP")


def _compare(ours, ref):
    for field, value in ref["HOTA"].items():
        np.testing.assert_allclose(ours["hota"][field], value, rtol=0, atol=1e-9, err_msg=field)
    for field in CLEAR_FIELDS:
        assert ours["clear"][field] == pytest.approx(ref["CLEAR"][field], abs=1e-9), field
    for field in ID_FIELDS:
        assert ours["clear"][field] == pytest.approx(ref["Identity"][field], abs=1e-9), field


def _write(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        for r in rows:
            fh.write(",".join(f"{v:g}" for v in r) + "\n")


def test_tud_sequences_match_trackeval_mot15(tmp_path):
    lengths = {}
    for seq in ("TUD-Campus", "TUD-Stadtmitte"):
        os.makedirs(tmp_path / "gt" / seq / "gt")
        os.makedirs(tmp_path / "tr" / "trk" / "data", exist_ok=True)
        shutil.copy(os.path.join(MM_DATA, seq, "gt.txt"), tmp_path / "gt" / seq / "gt" / "gt.txt")
        shutil.copy(os.path.join(MM_DATA, seq, "test.txt"), tmp_path / "tr" / "trk" / "data" / f"{seq}.txt")
        frames = np.r_[read_mot_txt(os.path.join(MM_DATA, seq, "gt.txt"))[:, 0],
                       read_mot_txt(os.path.join(MM_DATA, seq, "test.txt"))[:, 0]]
        lengths[seq] = int(frames.max())
    ours = evaluate_mot(tmp_path / "gt", tmp_path / "tr" / "trk" / "data")
    assert ours["num_sequences"] == 2
    _compare(ours, trackeval_mot(tmp_path / "gt", tmp_path / "tr", lengths, benchmark="MOT15"))


def _mot17_case(rng, frames=20):
    """Pedestrians (class 1), a static person (7, distractor), a car (3), an ignored row (conf 0)."""
    gt, pred = [], []
    for t in range(1, frames + 1):
        objs = [(1, 1, 10 + 3 * t, 20), (2, 1, 200 - 3 * t, 40), (3, 7, 120, 150), (4, 3, 300, 300)]
        for oid, cls, x, y in objs:
            conf = 0 if (oid == 2 and t % 7 == 0) else 1
            gt.append([t, oid, x, y, 30, 60, conf, cls, 1.0])
            if rng.random() < 0.9:
                pid = oid if not (oid == 1 and t > frames // 2) else 9
                pred.append([t, pid, x + rng.normal(0, 2), y + rng.normal(0, 2), 30, 60, 0.9, -1, -1, -1])
        pred.append([t, 50 + t % 2, rng.uniform(0, 400), rng.uniform(0, 400), 30, 60, 0.3, -1, -1, -1])
    return gt, pred


def test_mot17_preprocessing_matches_trackeval(tmp_path):
    rng = np.random.default_rng(0)
    lengths = {}
    for i, seq in enumerate(("SEQ-A", "SEQ-B")):
        gt, pred = _mot17_case(rng, frames=20 + 5 * i)
        _write(tmp_path / "gt" / seq / "gt" / "gt.txt", gt)
        _write(tmp_path / "tr" / "trk" / "data" / f"{seq}.txt", pred)
        lengths[seq] = 22 + 5 * i  # trailing empty frames count for CLEAR's frame total
        (tmp_path / "gt" / seq / "seqinfo.ini").write_text(f"[Sequence]\nname={seq}\nseqLength={lengths[seq]}\n")
    ours = evaluate_mot(tmp_path / "gt", tmp_path / "tr" / "trk" / "data")
    _compare(ours, trackeval_mot(tmp_path / "gt", tmp_path / "tr", lengths, benchmark="MOT17"))
    no_pre = evaluate_mot(tmp_path / "gt", tmp_path / "tr" / "trk" / "data", preprocess="none")
    assert no_pre["num_gt_dets"] > ours["num_gt_dets"]  # cars and static persons are scored without preprocessing


def test_single_files(tmp_path):
    rng = np.random.default_rng(1)
    gt, pred = _mot17_case(rng)
    _write(tmp_path / "g.txt", gt)
    _write(tmp_path / "p.txt", pred)
    res = evaluate_mot(tmp_path / "g.txt", tmp_path / "p.txt")
    assert 0 < res["summary"]["OWTA"] < 1 and res["summary"]["IDSW"] >= 1


@pytest.mark.parametrize("row,message", [
    ([3, -2, 0, 0, 10, 10, 1, -1, -1, -1], "negative track id"),
    ([0, 1, 0, 0, 10, 10, 1, -1, -1, -1], "frame 0 outside"),
    ([1, 1, 0, 0, 10, 10, 1, -1, -1, -1], "track id 1 repeated in frame 1"),
])
def test_bad_prediction_rows(tmp_path, row, message):
    _write(tmp_path / "g.txt", [[1, 1, 0, 0, 10, 10, 1, 1, 1], [2, 1, 0, 0, 10, 10, 1, 1, 1]])
    _write(tmp_path / "p.txt", [[1, 1, 0, 0, 10, 10, 1, -1, -1, -1], row])
    with pytest.raises(EvalInputError, match=message) as info:
        evaluate_mot(tmp_path / "g.txt", tmp_path / "p.txt")
    assert "p.txt" in str(info.value) and "row 2" in str(info.value)


def test_malformed_and_missing_files(tmp_path):
    _write(tmp_path / "g.txt", [[1, 1, 0, 0, 10, 10, 1, 1, 1]])
    (tmp_path / "p.txt").write_text("1,1,a,0,10,10\n")
    with pytest.raises(EvalInputError, match="p.txt:1: non-numeric"):
        evaluate_mot(tmp_path / "g.txt", tmp_path / "p.txt")
    with pytest.raises(EvalInputError, match="no prediction file"):
        evaluate_mot(tmp_path / "g.txt", tmp_path / "missing.txt")


def test_empty_prediction_file_scores_zero(tmp_path, recwarn):
    _write(tmp_path / "g.txt", [[1, 1, 0, 0, 10, 10, 1, 1, 1], [2, 1, 0, 0, 10, 10, 1, 1, 1]])
    (tmp_path / "p.txt").write_text("")
    res = evaluate_mot(tmp_path / "g.txt", tmp_path / "p.txt")
    assert res["summary"]["OWTA"] == 0 and res["hota"]["HOTA_FN"][0] == 2
    assert res["summary"]["MOTA"] == 0 and res["summary"]["CLR_FN"] == 2
    assert not [w for w in recwarn if "no data" in str(w.message)]
