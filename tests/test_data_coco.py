import json

import cv2
import numpy as np
import pytest
import torch

from efftrack.data.coco import CocoPseudoPairDataset
from efftrack.data.errors import DatasetFormatError


@pytest.fixture()
def coco(tmp_path):
    img = np.zeros((60, 80, 3), np.uint8)
    img[10:30, 5:25] = (255, 0, 0)
    img[30:55, 40:75] = (0, 255, 0)
    cv2.imwrite(str(tmp_path / "a.png"), img)
    cv2.imwrite(str(tmp_path / "b.png"), img)
    data = dict(images=[dict(id=1, file_name="a.png", width=80, height=60),
                        dict(id=2, file_name="b.png", width=80, height=60)],
                annotations=[dict(id=101, image_id=1, category_id=3, bbox=[5, 10, 20, 20]),
                             dict(id=102, image_id=1, category_id=8, bbox=[40, 30, 35, 25]),
                             dict(id=103, image_id=1, category_id=8, bbox=[0, 0, 80, 60], iscrowd=1)],
                categories=[dict(id=3, name="a"), dict(id=8, name="b")])
    p = tmp_path / "coco.json"
    p.write_text(json.dumps(data))
    return p


def test_two_views_carry_ids_class_agnostic(coco):
    with pytest.warns(UserWarning, match="1 crowd"):
        ds = CocoPseudoPairDataset(coco, coco.parent, input_size=(48, 64), augment=True)
    assert len(ds) == 1  # image 2 has no annotations
    p = ds[0]
    k, r = p["key"], p["ref"]
    assert set(k["track_ids"].tolist()) <= {101, 102} and set(r["track_ids"].tolist()) <= {101, 102}
    assert (k["labels"] == 1).all() and (r["labels"] == 1).all()
    assert k["img"].shape == (3, 48, 64) and k["meta"]["image_id"] == r["meta"]["image_id"] == 1
    # Views are augmented independently.
    views = [ds[0] for _ in range(3)]
    assert any(not torch.equal(v["key"]["img"], v["ref"]["img"]) for v in views)


def test_no_augment_is_exact(coco):
    with pytest.warns(UserWarning):
        ds = CocoPseudoPairDataset(coco, coco.parent, input_size=(60, 80), augment=False, keep_empty=True)
    assert len(ds) == 2
    k = ds[0]["key"]
    assert k["track_ids"].tolist() == [101, 102]
    np.testing.assert_allclose(k["boxes"].numpy(), [[5, 10, 25, 30], [40, 30, 75, 55]])
    assert torch.equal(ds[0]["key"]["img"], ds[0]["ref"]["img"])


def test_coco_needs_no_videos_but_checks_references(coco):
    data = json.loads(coco.read_text())
    data["annotations"][0]["image_id"] = 9
    coco.write_text(json.dumps(data))
    with pytest.raises(DatasetFormatError, match="unknown image 9"):
        CocoPseudoPairDataset(coco, coco.parent)
