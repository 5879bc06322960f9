"""EmbeddingHead shapes/normalisation/locality and sample_rois labelling rules."""
import pytest
import torch
from torchvision.ops import box_iou

from efftrack.heads import EmbeddingHead, EmbeddingInputError, RoiSamplingError, sample_rois



def test_embedding_shapes_unit_norm_and_gradients():
    head = EmbeddingHead(12, dim=32, roi_size=7, stride=8, hidden=64)
    fused = torch.randn(3, 12, 8, 10, requires_grad=True)          # input image 64 x 80
    boxes = [torch.tensor([[0.0, 0.0, 20.0, 30.0], [10.0, 5.0, 70.0, 60.0]]), torch.zeros((0, 4)),
             torch.tensor([[30.0, 30.0, 31.0, 31.0]])]
    out = head(fused, boxes)
    assert [o.shape for o in out] == [(2, 32), (0, 32), (1, 32)]
    norms = torch.cat(out).norm(dim=1)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-5)
    torch.cat(out).sum().backward()
    assert fused.grad[1].abs().sum() == 0 and fused.grad[0].abs().sum() > 0
    empty = head(fused, [torch.zeros((0, 4))] * 3)
    assert all(e.shape == (0, 32) for e in empty)


def test_embedding_reads_only_the_box_region_at_the_right_scale():
    head = EmbeddingHead(8, dim=16, stride=8, num_convs=1).eval()
    fused = torch.randn(1, 8, 8, 8)                                   # input image 64 x 64
    box = [torch.tensor([[0.0, 0.0, 16.0, 16.0]])]                    # cells (0..1, 0..1) of the fused map
    ref = head(fused, box)[0]
    far = fused.clone()
    far[..., 4:, 4:] += 5.0                                           # pixels 32..64: outside the box
    assert torch.allclose(head(far, box)[0], ref, atol=1e-6)
    near = fused.clone()
    near[..., 0, 0] += 5.0
    assert not torch.allclose(head(near, box)[0], ref, atol=1e-3)


def test_embedding_bad_input():
    head = EmbeddingHead(8, dim=16)
    with pytest.raises(EmbeddingInputError, match="fused map"):
        head(torch.randn(1, 9, 4, 4), [torch.zeros((1, 4))])
    with pytest.raises(EmbeddingInputError, match="box lists"):
        head(torch.randn(2, 8, 4, 4), [torch.zeros((1, 4))])


def _scene(generator):
    gt = torch.tensor([[10.0, 10.0, 50.0, 50.0], [60.0, 20.0, 100.0, 80.0], [5.0, 70.0, 30.0, 95.0]])
    ids = torch.tensor([7, 3, 11])
    jitter = [g + torch.randn(60, 4, generator=generator) * 6 for g in gt]
    xy = torch.rand(200, 2, generator=generator) * 100
    rand = torch.cat([xy, xy + torch.rand(200, 2, generator=generator) * 40 + 2], dim=1)
    return torch.cat(jitter + [rand]), gt, ids


def test_sample_rois_ids_follow_iou_rules_and_budget():
    props, gt, ids = _scene(torch.Generator().manual_seed(0))
    rois, rid = sample_rois(props, gt, ids, num=64, pos_fraction=0.25, pos_iou=0.7, neg_iou=0.3)
    assert rois.shape == (64, 4) and rid.shape == (64,) and rid.dtype == torch.long
    iou = box_iou(rois, gt)
    best, arg = iou.max(dim=1)
    pos = rid >= 0
    assert pos.sum() == 16                                            # enough positives: exactly the fraction
    assert torch.equal(rid[pos], ids[arg[pos]]) and (best[pos] >= 0.7).all()
    assert (best[~pos] < 0.3).all()
    # Few proposals: every qualifying RoI is taken and the budget is not exceeded.
    rois, rid = sample_rois(props[:5], gt, ids, num=64, add_gt=True)
    assert rois.shape[0] <= 64 and set(ids.tolist()) <= set(rid.tolist())
    rois, rid = sample_rois(props, gt, ids, num=10, pos_fraction=0.5)
    assert rois.shape[0] == 10 and (rid >= 0).sum() == 5


def test_sample_rois_is_seeded_and_handles_no_gt():
    props, gt, ids = _scene(torch.Generator().manual_seed(1))
    torch.manual_seed(5)
    a = sample_rois(props, gt, ids)
    torch.manual_seed(5)
    b = sample_rois(props, gt, ids)
    c = sample_rois(props, gt, ids, generator=torch.Generator().manual_seed(9))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    rois, rid = sample_rois(props, torch.zeros((0, 4)), torch.zeros((0,), dtype=torch.long), num=32)
    assert rois.shape == (32, 4) and (rid == -1).all()
    with pytest.raises(RoiSamplingError, match="gt_track_ids"):
        sample_rois(props, gt, ids[:2])
