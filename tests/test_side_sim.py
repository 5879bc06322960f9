"""SIM receptive field, grid-size independence and speed-relevant properties."""
import pytest
import torch

from efftrack.side import SIMBlock, SparseInteraction


def _line_mask(h, w, i, j):
    ii, jj = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return (ii == i) | (jj == j) | (ii - jj == i - j) | (ii + jj == i + j)


def _grad_support(module, h, w, i, j, channels):
    x = torch.randn(1, channels, h, w, dtype=torch.float64, requires_grad=True)
    module(x)[0, :, i, j].sum().backward()
    return x.grad[0].abs().sum(0) > 0


@pytest.mark.parametrize("h,w", [(5, 9), (9, 4)])
def test_sim_receptive_field_is_exactly_row_col_and_diagonals(h, w):
    sim = SparseInteraction(6).double()
    positions = [(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1), (h // 2, w // 2), (1, w - 2)]
    for i, j in positions:
        support = _grad_support(sim, h, w, i, j, 6)
        expected = _line_mask(h, w, i, j)
        assert torch.equal(support, expected), f"position {(i, j)} on {h}x{w}"


def test_sim_block_keeps_the_receptive_field():
    block = SIMBlock(8).double()
    h, w = 6, 11
    for i, j in [(0, 10), (5, 0), (3, 4)]:
        assert torch.equal(_grad_support(block, h, w, i, j, 8), _line_mask(h, w, i, j))


def test_sim_long_lines_keep_nonzero_weight_far_away():
    # Fastest decay on a line longer than the distance cap: the far end must still contribute.
    sim = SparseInteraction(4, distance_cap=160).double()
    with torch.no_grad():
        sim.decay_logit.fill_(20.0)  # rate -> max_rate
    support = _grad_support(sim, 1, 400, 0, 0, 4)
    assert bool(support.all())


def test_sim_parameter_count_and_output_do_not_depend_on_grid():
    sim = SparseInteraction(16)
    n_params = sum(p.numel() for p in sim.parameters())
    for h, w in [(4, 4), (7, 13), (1, 5), (32, 20)]:
        y = sim(torch.randn(2, 16, h, w))
        assert y.shape == (2, 16, h, w)
        assert torch.isfinite(y).all()
    assert sum(p.numel() for p in sim.parameters()) == n_params
    assert n_params == 4 * 16 + 4 * 16 * 16 + 16


def test_sim_weighs_near_tokens_more_than_far_ones():
    # With the output projection set to pick the row channel, the response to a row impulse must decay
    # with distance along the row (the learned-decay formulation) and be symmetric around the impulse.
    sim = SparseInteraction(1).double()
    with torch.no_grad():
        sim.proj.weight.zero_()
        sim.proj.weight[0, 0] = 1.0  # row direction only
        sim.proj.bias.zero_()
    x = torch.zeros(1, 1, 1, 21, dtype=torch.float64)
    x[..., 10] = 1.0
    y = sim(x)[0, 0, 0]
    assert y[10] > y[9] > y[5] > y[0] > 0
    assert torch.allclose(y[9], y[11]) and torch.allclose(y[5], y[15])


def test_sim_rejects_wrong_channels():
    with pytest.raises(ValueError, match="expected"):
        SparseInteraction(8)(torch.randn(1, 4, 3, 3))
