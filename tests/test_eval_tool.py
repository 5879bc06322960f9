"""tools/eval_owta.py: table, JSON, plot, and one-line errors for bad input."""
import importlib.util
import json
import os

import cv2
import motmetrics
import pytest

from efftrack.evaluation.synthetic import make_tao

from efftrack.evaluation import evaluate_tao_ow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("eval_owta", os.path.join(ROOT, "tools", "eval_owta.py"))
eval_owta = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(eval_owta)


@pytest.fixture()
def tao_files(tmp_path):
    gt, preds = make_tao(seed=2)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "pred.json").write_text(json.dumps(preds))
    return gt, preds, tmp_path


def test_tao_table_json_and_plot(tao_files, capsys):
    gt, preds, tmp = tao_files
    rc = eval_owta.main(["--gt", str(tmp / "gt.json"), "--pred", str(tmp / "pred.json"), "--subset", "known,unknown",
                         "--out", str(tmp / "out" / "res.json"), "--plot", str(tmp / "owta.png")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "| known" in out and "| unknown" in out and "OWTA" in out
    saved = json.loads((tmp / "out" / "res.json").read_text())
    direct = evaluate_tao_ow(gt, preds, subsets=("known", "unknown"))
    assert saved["results"]["known"]["summary"]["OWTA"] == pytest.approx(direct["known"]["summary"]["OWTA"])
    assert len(saved["results"]["unknown"]["hota"]["AssA"]) == 19
    img = cv2.imread(str(tmp / "owta.png"))
    assert img is not None and img.shape[1] == 2 * img.shape[0] * 460 // 360  # one panel per subset
    assert not [f for f in os.listdir(tmp / "out") if f.startswith(".tmp_")]


def test_mot_table_has_mota_and_idf1(capsys):
    data = os.path.join(os.path.dirname(motmetrics.__file__), "data", "TUD-Campus")
    rc = eval_owta.main(["--gt", os.path.join(data, "gt.txt"), "--pred", os.path.join(data, "test.txt")])
    assert rc == 0
    out = capsys.readouterr().out
    assert "MOTA" in out and "IDF1" in out


def test_bad_input_is_one_line_and_non_zero(tao_files, capsys):
    gt, preds, tmp = tao_files
    preds[1]["bbox"][2] = float("nan")
    (tmp / "bad.json").write_text(json.dumps(preds))
    rc = eval_owta.main(["--gt", str(tmp / "gt.json"), "--pred", str(tmp / "bad.json")])
    err = capsys.readouterr().err
    assert rc != 0
    assert err.count("\n") == 1 and "record 1" in err and "Traceback" not in err
    rc = eval_owta.main(["--gt", str(tmp / "gt.json"), "--pred", str(tmp / "pred.json"), "--subset", "nope"])
    assert rc != 0 and "unknown subset 'nope'" in capsys.readouterr().err
