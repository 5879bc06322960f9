"""tools/track_mot.py end to end on noisy detections made from motmetrics' TUD-Campus ground truth."""
import importlib.util
import os

import numpy as np
import pytest

from efftrack.data.mot import read_mot_txt, write_mot_txt
from efftrack.tracking import Tracker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "tools", name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


track_mot = _load("track_mot")
bench = _load("benchmark_tracker")
mm = pytest.importorskip("motmetrics")
TUD = os.path.join(os.path.dirname(mm.__file__), "data", "TUD-Campus", "gt.txt")


@pytest.fixture()
def tud_split(tmp_path):
    """A MOTChallenge-style split folder with one sequence whose det.txt is noisy ground truth."""
    gt = read_mot_txt(TUD)
    seq = tmp_path / "split" / "TUD-Campus"
    (seq / "det").mkdir(parents=True)
    (seq / "gt").mkdir()
    write_mot_txt(seq / "det" / "det.txt", bench.noisy_detections(gt, seed=0))
    write_mot_txt(seq / "gt" / "gt.txt", gt)
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=TUD-Campus\nframeRate=25\n")
    return tmp_path / "split", gt


def test_cli_tracks_noisy_detections_well_and_output_round_trips(tud_split, capsys):
    split, gt = tud_split
    out = split.parent / "res"
    assert track_mot.main([str(split), "--output", str(out), "--gt", str(split)]) == 0
    printed = capsys.readouterr().out
    assert "fps 25" in printed and "idf1" in printed  # frame rate from seqinfo.ini, metrics printed
    res = read_mot_txt(out / "TUD-Campus.txt")
    assert res.shape[1] == 10 and len(res)
    assert res[:, 0].min() >= 1 and res[:, 0].max() <= gt[:, 0].max()          # 1-based frames kept
    assert np.all(res[:, 1] >= 1) and np.all((res[:, 6] > 0) & (res[:, 6] <= 1))  # ids, track scores
    for f in np.unique(res[:, 0]):
        ids = res[res[:, 0] == f, 1]
        assert len(ids) == len(np.unique(ids))
    tracked = track_mot.evaluate([("t", gt, res)]).loc["t"]
    # Baseline: every confident detection its own id, no association at all.
    det = read_mot_txt(split / "TUD-Campus" / "det" / "det.txt")
    det = det[det[:, 6] >= 0.5]
    naive = np.column_stack([det[:, 0], np.arange(1, len(det) + 1), det[:, 2:7]])
    base = track_mot.evaluate([("b", gt, naive)]).loc["b"]
    assert tracked["idf1"] > base["idf1"] + 0.4
    assert tracked["mota"] > 0.6 and tracked["idf1"] > 0.6


def test_mot_writer_round_trips_tracker_rows(tmp_path):
    det = bench.noisy_detections(read_mot_txt(TUD), seed=1)
    rows = track_mot.track_rows(det, Tracker(report_tentative=True), "TUD")
    write_mot_txt(tmp_path / "r.txt", rows)
    back = read_mot_txt(tmp_path / "r.txt")
    assert back.shape == (len(rows), 10)
    np.testing.assert_allclose(back[:, :7], rows, atol=1e-3)
    assert np.all(back[:, 7:] == -1)


def test_single_file_to_txt_output_and_empty_det(tmp_path):
    det = tmp_path / "seq1.txt"
    det.write_text("")
    out = tmp_path / "o" / "seq1_res.txt"
    assert track_mot.main([str(det), "--output", str(out)]) == 0
    assert read_mot_txt(out).shape == (0, 10)


@pytest.mark.parametrize("content,argv_extra,needle", [
    (None, [], "no such file"),
    ("1,-1,10,10,20,30,0.9\n1,-1,oops,10,20,30,0.9\n", [], ":2:"),
    ("0,-1,10,10,20,30,0.9\n", [], "1-based"),
    ("1,-1,10,10,20,30,0.9\n", ["--cfg-options", "hgh_thr=0.3"], "unknown"),
    ("1,-1,10,10,20,30,0.9\n", ["--low-thr", "0.9", "--high-thr", "0.5"], "low_thr"),
])
def test_bad_input_gives_one_line_and_nonzero_exit(tmp_path, capsys, content, argv_extra, needle):
    det = tmp_path / "d.txt"
    if content is not None:
        det.write_text(content)
    rc = track_mot.main([str(det), "--output", str(tmp_path / "out")] + argv_extra)
    err = capsys.readouterr().err.strip()
    assert rc != 0
    assert needle in err and "\n" not in err and "Traceback" not in err
