import numpy as np
import pytest

from efftrack.data.mot import MotFormatError, read_mot_txt, write_mot_txt


def test_roundtrip(tmp_path):
    rows = np.array([[1, 3, 10.5, 20, 30, 40, 0.9], [2, 3, 11, 21.25, 30, 40, 1.0]])
    p = tmp_path / "res.txt"
    write_mot_txt(p, rows)
    back = read_mot_txt(p)
    assert back.shape == (2, 10) and back.dtype == np.float64
    np.testing.assert_allclose(back[:, :7], rows, atol=1e-3)
    assert (back[:, 7:] == -1).all()
    assert p.read_text().splitlines()[0].startswith("1,3,10.5,20,30,40,0.9,-1,-1,-1")


def test_short_rows_padded_and_empty(tmp_path):
    p = tmp_path / "gt.txt"
    p.write_text("1,1,0,0,5,5\n\n2,1,1,1,5,5,1,1\n")
    arr = read_mot_txt(p)
    assert arr.shape == (2, 10)
    assert arr[0, 0] == 1 and (arr[0, 6:] == -1).all() and arr[1, 7] == 1 and arr[1, 8] == -1
    e = tmp_path / "empty.txt"
    e.write_text("")
    assert read_mot_txt(e).shape == (0, 10)


@pytest.mark.parametrize("bad", ["1,2,3\n", "1,1,a,0,5,5,1\n", "1,1,0,0,5,5,1,1,1,1,1\n"])
def test_malformed(tmp_path, bad):
    p = tmp_path / "bad.txt"
    p.write_text("1,1,0,0,5,5,1,-1,-1,-1\n" + bad)
    with pytest.raises(MotFormatError, match=r"bad\.txt:2"):
        read_mot_txt(p)


def test_write_is_atomic(tmp_path):
    p = tmp_path / "out.txt"
    p.write_text("old\n")
    with pytest.raises(MotFormatError):
        write_mot_txt(p, np.zeros((2, 3)))
    assert p.read_text() == "old\n"
    assert [f.name for f in tmp_path.iterdir()] == ["out.txt"]
