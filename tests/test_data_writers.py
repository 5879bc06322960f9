import json
import os

import numpy as np
import pytest

from efftrack.data.mot import read_mot_txt
from efftrack.data.video import open_source
from efftrack.data.writers import AnnotatedVideoWriter, MotWriter, TaoJsonWriter, id_colour

IDS = np.array([7, 3])
BOXES = np.array([[10, 20, 30, 60], [0, 0, 5.5, 8]], np.float32)
SCORES = np.array([0.9, 0.4])


def test_mot_writer(tmp_path):
    p = tmp_path / "seq.txt"
    with MotWriter(p) as w:
        w.write(0, IDS, BOXES, SCORES)
        w.write(4, IDS[:1], BOXES[:1], SCORES[:1])
        assert not p.exists()  # nothing visible before a successful close
    rows = read_mot_txt(p)
    assert rows.shape == (3, 10)
    np.testing.assert_allclose(rows[0, :7], [1, 3, 0, 0, 5.5, 8, 0.4])  # sorted by frame, id; 1-based
    np.testing.assert_allclose(rows[2, :7], [5, 7, 10, 20, 20, 40, 0.9])


@pytest.mark.parametrize("cls,name", [(MotWriter, "a.txt"), (TaoJsonWriter, "a.json")])
def test_exception_leaves_no_output(tmp_path, cls, name):
    with pytest.raises(RuntimeError):
        with cls(tmp_path / name) as w:
            w.write(0, IDS, BOXES, SCORES, image_id=1, video_id=1)
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_tao_writer_format(tmp_path):
    p = tmp_path / "pred.json"
    with TaoJsonWriter(p) as w:
        w.write(0, IDS, BOXES, SCORES, image_id=11, video_id=2)
        with pytest.raises(ValueError, match="image_id and video_id"):
            w.write(1, IDS, BOXES, SCORES)
    items = json.loads(p.read_text())
    assert len(items) == 2
    assert items[0] == dict(image_id=11, video_id=2, category_id=1, bbox=[10.0, 20.0, 20.0, 40.0],
                            score=pytest.approx(0.9), track_id=7)


def test_annotated_video_writer(tmp_path):
    p = tmp_path / "vis.avi"
    img = np.zeros((48, 64, 3), np.uint8)
    with AnnotatedVideoWriter(p, fps=5, frame_size=(64, 48)) as w:
        for t in range(3):
            w.write(t, [1], [[5 + 10 * t, 5, 20 + 10 * t, 30]], [1.0], image=img)
    src = open_source(str(p))
    frames = list(src)
    assert len(frames) == 3 and src.fps == pytest.approx(5)
    # A box was drawn in the id's colour near the expected place; the trail is in the last frame.
    assert frames[0].image[5:31, 5:21].max() > 100 and frames[0].image[:, 45:].max() < 40
    assert frames[2].image[15:20, 12:35].max() > 100
    assert id_colour(1) == id_colour(1) and id_colour(1) != id_colour(2)
    with pytest.raises(ValueError):
        with AnnotatedVideoWriter(tmp_path / "x.avi", fps=5, frame_size=(64, 48)) as w:
            w.write(0, [1], [[0, 0, 1, 1]], [1.0])  # no image
    assert not (tmp_path / "x.avi").exists()
    assert sorted(os.listdir(tmp_path)) == ["vis.avi"]


def test_annotated_video_draws_only_confident_tracks_and_sizes_itself(tmp_path):
    p = tmp_path / "vis.avi"
    img = np.zeros((48, 64, 3), np.uint8)
    with AnnotatedVideoWriter(p, fps=5, min_score=0.5) as w:  # frame size from the first frame
        w.write(0, [1, 2], [[5, 5, 20, 30], [40, 5, 60, 30]], [0.9, 0.2], image=img)
    frame = list(open_source(str(p)))[0].image
    assert frame.shape[:2] == (48, 64)
    assert frame[5:31, 5:21].max() > 100 and frame[:, 38:].max() < 40  # the 0.2 track is not drawn
