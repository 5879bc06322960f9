import numpy as np
import pytest

from efftrack.data.transforms import (ColorJitter, Compose, Letterbox, RandomCrop, RandomFlip,
                                      ScaleJitter, crop, letterbox, unletterbox_boxes)

COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]


def _scene():
    img = np.zeros((90, 140, 3), np.uint8)
    boxes = np.array([[10, 5, 40, 30], [60, 40, 130, 85], [0, 50, 20, 90]], np.float32)
    for (x1, y1, x2, y2), c in zip(boxes.astype(int), COLOURS):
        img[y1:y2, x1:x2] = c
    return img, boxes


def _mask_box(img, colour):
    m = np.all(np.abs(img.astype(int) - colour) < 60, axis=2)
    ys, xs = np.nonzero(m)
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], np.float32)


@pytest.mark.parametrize("t", [Letterbox((64, 64)), Letterbox((200, 100)), RandomFlip(p=1.0),
                               ScaleJitter((0.5, 1.5)), RandomCrop(min_ratio=0.7, min_visible=0.0)])
def test_boxes_follow_pixels(t):
    img, boxes = _scene()
    for seed in range(3):
        out, b, meta = Compose([t])(img, boxes, rng=np.random.default_rng(seed))
        for k, box in zip(meta["keep"], b):
            np.testing.assert_allclose(_mask_box(out, COLOURS[k]), box, atol=2.0)


def test_flip_twice_is_identity():
    img, boxes = _scene()
    out, b, meta = Compose([RandomFlip(1.0), RandomFlip(1.0)])(img, boxes)
    assert np.array_equal(out, img) and np.array_equal(b, boxes) and meta["flipped"] is False


def test_letterbox_roundtrip():
    img, boxes = _scene()
    out, meta = letterbox(img, (64, 96))
    assert out.shape == (64, 96, 3) and meta["orig_size"] == (90, 140) and meta["pad"] == (0, 0)
    back = unletterbox_boxes(boxes * meta["scale"], meta)
    np.testing.assert_allclose(back, boxes, atol=1e-4)


def test_crop_drops_boxes_and_tracks_keep():
    img, boxes = _scene()
    out, b, meta = crop(img, boxes, {}, x0=50, y0=35, cw=90, ch=55, min_visible=0.3)
    assert out.shape[:2] == (55, 90)
    assert list(meta["keep"]) == [1]  # box 0 is outside; box 2 keeps 0% of its area
    np.testing.assert_allclose(b[0], [10, 5, 80, 50])


def test_color_jitter_keeps_boxes_and_changes_pixels():
    img, boxes = _scene()
    out, b, _ = Compose([ColorJitter(0.5, 0.5, 0.5, 0.1)])(img, boxes, rng=np.random.default_rng(1))
    assert np.array_equal(b, boxes) and out.dtype == np.uint8 and not np.array_equal(out, img)


def test_full_pipeline_shapes():
    from efftrack.data.transforms import build_pipeline
    img, boxes = _scene()
    out, b, meta = build_pipeline((64, 64), augment=True)(img, boxes, rng=np.random.default_rng(0))
    assert out.shape == (64, 64, 3) and b.shape == (len(meta["keep"]), 4)
    assert (b >= 0).all() and (b <= 64).all()
