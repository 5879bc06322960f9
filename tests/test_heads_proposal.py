"""ProposalHead: learning on a fixed batch, zero-GT images, decode rules, ATSS assignment, init prior."""
import math

import pytest
import torch
from torchvision.ops import box_iou

from efftrack.heads import ProposalHead, ProposalInputError, atss_assign, level_points

STRIDES = (8, 16, 32)
H, W, C = 64, 96, 16



def _pyramid(b=2):
    return [torch.randn(b, C, H // s, W // s) for s in STRIDES]


def _head(**kw):
    return ProposalHead(C, strides=STRIDES, num_convs=2, feat_channels=16, **kw)


@pytest.mark.parametrize("obj_loss", ["qfl", "focal"])
def test_loss_decreases_and_top_box_hits_gt(obj_loss):
    pyr = _pyramid()
    gt = [torch.tensor([[8.0, 10.0, 40.0, 44.0]]),
          torch.tensor([[50.0, 4.0, 90.0, 30.0], [2.0, 30.0, 20.0, 62.0]])]
    head = _head(obj_loss=obj_loss)
    opt = torch.optim.SGD(head.parameters(), lr=0.01, momentum=0.9)
    totals = []
    for _ in range(30):
        losses = head.loss(head(pyr), gt, (H, W))
        total = losses["loss_obj"] + losses["loss_box"]
        opt.zero_grad()
        total.backward()
        opt.step()
        totals.append(total.item())
    assert sum(totals[-5:]) / 5 < 0.5 * totals[0]
    head.eval()
    for (boxes, scores), g in zip(head.decode(head(pyr), (H, W)), gt):
        assert box_iou(boxes[:1], g).max().item() > 0.5


def test_zero_gt_images_give_finite_loss_and_gradients():
    pyr = [p.requires_grad_() for p in _pyramid()]
    head = _head()
    out = head(pyr)
    empty = head.loss(out, [torch.zeros((0, 4)), torch.zeros((0, 4))], (H, W))
    assert all(torch.isfinite(v) for v in empty.values())
    assert empty["loss_box"].item() == 0.0 and empty["loss_obj"].item() > 0.0
    (empty["loss_obj"] + empty["loss_box"]).backward()
    assert all(torch.isfinite(p.grad).all() for p in head.parameters() if p.grad is not None)
    # A degenerate box (clipped to nothing) counts as no GT; a mixed batch still trains the non-empty image.
    mixed = head(pyr)
    mixed_l = head.loss(mixed, [torch.tensor([[200.0, 200.0, 300.0, 300.0]]), torch.tensor([[8.0, 8.0, 40.0, 40.0]])],
                        (H, W))
    assert torch.isfinite(mixed_l["loss_box"]) and mixed_l["loss_box"].item() > 0.0


def test_initial_objectness_probability_is_about_one_percent():
    head = _head()
    scores, regs = head(_pyramid())
    p = torch.cat([s.flatten() for s in scores]).sigmoid()
    assert abs(p.mean().item() - 0.01) < 0.003
    assert all((r > 0).all() for r in regs)
    assert [s.shape for s in scores] == [(2, 1, H // s, W // s) for s in STRIDES]
    assert [r.shape for r in regs] == [(2, 4, H // s, W // s) for s in STRIDES]


def _manual_outputs(logit_map, dist_map):
    """One-level outputs (stride 8) from hand-set (B,1,h,w) logits and (B,4,h,w) distances."""
    return [logit_map], [dist_map]


def test_decode_known_box_score_order_and_clipping():
    head = ProposalHead(C, strides=(8,), feat_channels=8)
    logits = torch.full((1, 1, 4, 6), -6.0)
    dists = torch.ones((1, 4, 4, 6))
    logits[0, 0, 1, 2] = 3.0                     # centre (20, 12), ltrb 1 stride -> (12, 4, 28, 20)
    logits[0, 0, 3, 5] = 2.0                     # corner cell with huge distances -> clipped to the image
    dists[0, :, 3, 5] = 100.0
    (boxes, scores), = head.decode(_manual_outputs(logits, dists), (32, 48), topk=10, nms_iou=0.7)
    assert torch.allclose(boxes[0], torch.tensor([12.0, 4.0, 28.0, 20.0]))
    assert math.isclose(scores[0].item(), torch.sigmoid(torch.tensor(3.0)).item(), rel_tol=1e-6)
    assert torch.equal(boxes[1], torch.tensor([0.0, 0.0, 48.0, 32.0]))
    assert (scores[:-1] >= scores[1:]).all()
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= 48).all() and (boxes[:, 3] <= 32).all()


def test_decode_respects_topk_nms_and_score_threshold():
    head = _head()
    torch.manual_seed(1)
    b = 2
    logits = [torch.randn(b, 1, 64 // s, 64 // s) for s in STRIDES]
    dists = [torch.rand(b, 4, 64 // s, 64 // s) * 3 + 0.5 for s in STRIDES]
    n_points = sum((64 // s) ** 2 for s in STRIDES)
    for topk, nms_iou in [(5, 0.7), (1000, 0.95), (1000, 0.3)]:
        for boxes, scores in head.decode((logits, dists), (64, 64), topk=topk, nms_iou=nms_iou):
            assert boxes.shape == (scores.shape[0], 4) and 0 < scores.shape[0] <= min(topk, n_points)
            assert (scores[:-1] >= scores[1:]).all() and ((scores > 0) & (scores < 1)).all()
            iou = box_iou(boxes, boxes).fill_diagonal_(0)
            assert iou.max().item() <= nms_iou + 1e-6
            assert (boxes >= 0).all() and (boxes <= 64).all()
    loose = head.decode((logits, dists), (64, 64), topk=1000, nms_iou=1.0)
    assert loose[0][0].shape[0] == n_points      # nothing suppressed at IoU 1: all points come back
    strict = head.decode((logits, dists), (64, 64), topk=1000, nms_iou=1.0, score_thr=0.5)
    assert (strict[0][1] > 0.5).all() and strict[0][1].shape[0] < n_points
    none = head.decode((logits, dists), (64, 64), score_thr=1.0)
    assert none[0][0].shape == (0, 4) and none[0][1].shape == (0,)
    few = head.decode((logits, dists), (64, 64), topk=1000, nms_iou=1.0, pre_nms_topk=3)
    assert few[0][0].shape[0] == 3 * len(STRIDES)


def test_atss_assignment_covers_tiny_and_large_objects():
    h, w = 256, 256
    sizes = [(h // s) * (w // s) for s in STRIDES]
    points = torch.cat([level_points(h // s, w // s, s) for s in STRIDES])
    pstrides = torch.cat([torch.full((n,), float(s)) for n, s in zip(sizes, STRIDES)])
    gt = torch.tensor([[30.0, 30.0, 33.0, 33.0],     # smaller than a stride: no point strictly inside
                       [0.0, 0.0, 250.0, 240.0],     # nearly the whole image
                       [50.0, 10.0, 110.0, 70.0]])   # about one stride-8 anchor (64 px)
    assigned = atss_assign(points, pstrides, sizes, gt)
    for g in range(len(gt)):
        assert (assigned == g).any(), f"GT {g} got no positive"
    assert (pstrides[assigned == 1] == 32).all()     # large box learnt on the coarse level
    assert (pstrides[assigned == 2] == 8).all()      # 60-px box on the fine level
    pts, g = points[assigned >= 1], gt[assigned[assigned >= 1]]
    assert ((pts[:, 0] > g[:, 0]) & (pts[:, 0] < g[:, 2]) & (pts[:, 1] > g[:, 1]) & (pts[:, 1] < g[:, 3])).all()
    assert (atss_assign(points, pstrides, sizes, torch.zeros((0, 4))) == -1).all()


def test_bad_inputs_raise_clear_errors():
    head = _head()
    with pytest.raises(ProposalInputError, match="pyramid levels"):
        head(_pyramid()[:2])
    with pytest.raises(ProposalInputError, match="level 0"):
        head([torch.randn(1, C + 1, 8, 8)] + _pyramid(1)[1:])
    with pytest.raises(ProposalInputError, match="gt_boxes\\[0\\]"):
        head.loss(head(_pyramid(1)), [torch.zeros(4)], (H, W))
    with pytest.raises(ProposalInputError, match="norm"):
        ProposalHead(C, norm="LN")
