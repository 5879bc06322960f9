"""tools/track.py: end to end on a tiny model, and one clear line for each user mistake."""
import json

import numpy as np
import pytest

from efftrack.data.mot import read_mot_txt
from train_helpers import make_tiny_dataset, run_tool, tiny_overrides


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("track")
    data = make_tiny_dataset(root / "data")
    opts = [o for o in tiny_overrides(data) if o.startswith("model.")]
    opts += ["tracker.high_thr=0.0", "tracker.low_thr=0.0", "tracker.new_track_thr=0.0"]
    from efftrack.config import load_config
    from efftrack.engine.checkpoint import save_checkpoint
    from efftrack.models.builder import build_model
    from mmengine.config import DictAction
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--o", nargs="+", action=DictAction)
    cfg = load_config("configs/synthetic_owt.py", p.parse_args(["--o", *opts]).o)
    ckpt = save_checkpoint(root / "tiny.pth", model=build_model(cfg.model))
    video = sorted(p for p in (data / "val").iterdir() if p.is_dir())[0]
    return dict(root=root, ckpt=ckpt, video=video, opts=opts)


def _track(setup, *extra, check=True):
    return run_tool(["tools/track.py", str(setup["video"]), "--checkpoint", str(setup["ckpt"]), "--quiet",
                     "--score-thr", "0", *extra, "--cfg-options", *setup["opts"]], check=check)


def test_tracks_a_frame_folder_into_all_three_outputs(setup, tmp_path):
    proc = _track(setup, "--work-dir", str(tmp_path / "out"), "--fps", "10")
    out = tmp_path / "out"
    name = setup["video"].name
    rows = read_mot_txt(out / f"{name}.txt")
    preds = json.loads((out / f"{name}.json").read_text())
    assert len(rows) > 0 and len(preds) == len(rows)
    assert rows[:, 0].min() == 1 and rows[:, 0].max() == 6  # 6 frames, 1-based
    assert {"image_id", "video_id", "category_id", "bbox", "score", "track_id"} <= set(preds[0])
    assert (out / f"{name}.mp4").stat().st_size > 0
    assert "6 frames" in proc.stdout and "association" in proc.stdout and f"outputs are in {out}" in proc.stdout
    assert not list(out.glob(".*tmp*"))  # no temp files left behind


@pytest.mark.parametrize("case,pattern", [
    ("missing_source", "no such video file or folder"),
    ("bad_output_dir", "output folder .* does not exist"),
    ("foreign_checkpoint", "trained on backbone"),
    ("corrupt_checkpoint", "corrupt or not an efftrack checkpoint"),
])
def test_user_mistakes_give_one_line_and_exit_2_before_any_output(setup, tmp_path, case, pattern):
    args = [str(setup["video"]), "--checkpoint", str(setup["ckpt"]), "--mot-output", str(tmp_path / "o.txt")]
    opts = setup["opts"]
    if case == "missing_source":
        args[0] = str(tmp_path / "nope.mp4")
    elif case == "bad_output_dir":
        args[-1] = str(tmp_path / "no" / "such" / "o.txt")
    elif case == "foreign_checkpoint":
        opts = [o.replace("tiny_vit.json", "tiny_resnet.json") for o in opts]
    else:
        (tmp_path / "bad.pth").write_bytes(np.random.bytes(100))
        args[2] = str(tmp_path / "bad.pth")
    proc = run_tool(["tools/track.py", *args, "--quiet", "--cfg-options", *opts], check=False)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proc.stderr
    import re
    assert re.search(pattern, lines[0])
    assert not (tmp_path / "o.txt").exists()
