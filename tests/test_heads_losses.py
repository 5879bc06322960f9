"""Loss functions against hand-computed values, and the quasi-dense embedding losses' behaviour."""
import math

import pytest
import torch
import torch.nn.functional as F

from efftrack.models.losses import (LossInputError, aux_cosine_loss, giou_loss, quality_focal_loss,
                                    quasi_dense_loss, sigmoid_focal_loss)


def _sig(x):
    return 1.0 / (1.0 + math.exp(-x))


def test_sigmoid_focal_loss_by_hand():
    logits = torch.tensor([0.0, 2.0, -1.0])
    targets = torch.tensor([1.0, 0.0, 1.0])
    p = [_sig(0.0), _sig(2.0), _sig(-1.0)]
    expect = [0.25 * (1 - p[0]) ** 2 * -math.log(p[0]),
              0.75 * p[1] ** 2 * -math.log(1 - p[1]),
              0.25 * (1 - p[2]) ** 2 * -math.log(p[2])]
    got = sigmoid_focal_loss(logits, targets, reduction="none")
    assert torch.allclose(got, torch.tensor(expect), atol=1e-6)
    assert math.isclose(sigmoid_focal_loss(logits, targets).item(), sum(expect), rel_tol=1e-5)


def test_quality_focal_loss_by_hand():
    logits = torch.tensor([0.0, 1.0, -2.0])
    targets = torch.tensor([0.5, 0.0, 0.8])
    p1, p2 = _sig(1.0), _sig(-2.0)
    expect = [0.0,                                              # prediction equals the soft target
              -math.log(1 - p1) * p1 ** 2,
              -(0.8 * math.log(p2) + 0.2 * math.log(1 - p2)) * (0.8 - p2) ** 2]
    assert torch.allclose(quality_focal_loss(logits, targets, reduction="none"), torch.tensor(expect), atol=1e-6)
    with pytest.raises(LossInputError):
        quality_focal_loss(logits, targets[:2])


def test_giou_loss_by_hand():
    pred = torch.tensor([[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 4.0, 5.0]])
    target = torch.tensor([[1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 3.0, 1.0], [1.0, 1.0, 4.0, 5.0]])
    expect = [1 - (1 / 7 - 2 / 9),      # IoU 1/7, hull 9, union 7
              1 - (0 - 1 / 3),          # disjoint: IoU 0, hull 3, union 2
              0.0]
    assert torch.allclose(giou_loss(pred, target, reduction="none"), torch.tensor(expect), atol=1e-5)
    assert giou_loss(pred[:0], target[:0]).item() == 0.0


def test_quasi_dense_loss_by_hand():
    key = F.normalize(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), dim=1)
    key_ids = torch.tensor([1, 5, -1])          # id 5 is absent from the refs, -1 is background: only key 0 counts
    ref = F.normalize(torch.tensor([[1.0, 0.2], [0.3, 1.0], [-1.0, 0.5]]), dim=1)
    ref_ids = torch.tensor([1, -1, 2])
    t = 0.1
    s = (key[0] @ ref.t() / t).tolist()
    expect = math.log(1 + math.exp(s[1] - s[0]) + math.exp(s[2] - s[0]))
    assert math.isclose(quasi_dense_loss(key, key_ids, ref, ref_ids, temperature=t).item(), expect, rel_tol=1e-5)
    # Two positives: log(1 + sum over (pos, neg) pairs).
    ref_ids2 = torch.tensor([1, 1, 2])
    expect2 = math.log(1 + math.exp(s[2] - s[0]) + math.exp(s[2] - s[1]))
    assert math.isclose(quasi_dense_loss(key, key_ids, ref, ref_ids2, temperature=t).item(), expect2, rel_tol=1e-5)


def _tracks(n_ids=6, per_id=3, dim=16, noise=0.1):
    centres = F.normalize(torch.randn(n_ids, dim), dim=1)
    ids = torch.arange(n_ids).repeat_interleave(per_id)
    emb = lambda: F.normalize(centres[ids] + noise * torch.randn(len(ids), dim), dim=1)  # noqa: E731
    bg = F.normalize(torch.randn(8, dim), dim=1)
    return emb(), ids, torch.cat([emb(), bg]), torch.cat([ids, torch.full((8,), -1)])


def test_embedding_losses_prefer_matching_embeddings():
    key, key_ids, ref, ref_ids = _tracks()
    shuffled = ref_ids[torch.randperm(len(ref_ids))]
    assert quasi_dense_loss(key, key_ids, ref, ref_ids) < 0.5 * quasi_dense_loss(key, key_ids, ref, shuffled)
    assert aux_cosine_loss(key, key_ids, ref, ref_ids) < 0.5 * aux_cosine_loss(key, key_ids, ref, shuffled)


def test_embedding_losses_zero_with_grad_without_positives():
    key = F.normalize(torch.randn(4, 8), dim=1).requires_grad_()
    ref = F.normalize(torch.randn(5, 8), dim=1).requires_grad_()
    for key_ids, ref_ids in [(torch.tensor([0, 1, -1, -1]), torch.tensor([2, 3, -1, -1, -1])),
                             (torch.full((4,), -1), torch.full((5,), -1))]:
        for fn in (quasi_dense_loss, aux_cosine_loss):
            loss = fn(key, key_ids, ref, ref_ids)
            assert loss.item() == 0.0 and loss.requires_grad
            loss.backward()
            assert key.grad is not None and (key.grad == 0).all()
            key.grad = ref.grad = None
    # Positives but no negatives: loss 0, finite gradients.
    loss = quasi_dense_loss(key[:1], torch.tensor([4]), ref[:2], torch.tensor([4, 4]))
    loss.backward()
    assert loss.item() == pytest.approx(0.0, abs=1e-6) and torch.isfinite(key.grad).all()
    with pytest.raises(LossInputError, match="ids"):
        quasi_dense_loss(key, torch.zeros(3, dtype=torch.long), ref, torch.zeros(5, dtype=torch.long))


def test_aux_cosine_loss_by_hand():
    # Build unit vectors with chosen cosines to key e0: ref0 (pos) 0.5, ref1 (neg) 0.6, ref2 (neg) 0.05.
    def unit(c):
        return torch.tensor([c, math.sqrt(1 - c * c)])
    key = torch.tensor([[1.0, 0.0]])
    ref = torch.stack([unit(0.5), unit(0.6), unit(0.05)])
    ids_k, ids_r = torch.tensor([3]), torch.tensor([3, -1, 8])
    pos, n1, n2 = (1 - 0.5) ** 2, (0.6 - 0.1) ** 2, 0.0
    assert math.isclose(aux_cosine_loss(key, ids_k, ref, ids_r).item(), (pos + n1 + n2) / 3, rel_tol=1e-5)
    # One negative per positive: the hardest one is kept.
    assert math.isclose(aux_cosine_loss(key, ids_k, ref, ids_r, neg_pos_ratio=1).item(), (pos + n1) / 2,
                        rel_tol=1e-5)
