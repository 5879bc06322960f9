"""HybridSideNetwork: shapes/strides for ViT-like and pyramid taps, gates, dropping, backbone isolation."""
import pytest
import torch

from efftrack.side import HybridSideNetwork, SideInputError, SideNetworkConfigError, build_side_network

TINY_VIT = {"embed_dim": 32, "vision_cfg": {"image_size": 64, "layers": 4, "width": 64, "patch_size": 16}}


def _feats(channels, strides, size, batch=2, requires_grad=False):
    h, w = size
    return [torch.randn(batch, c, h // s, w // s, requires_grad=requires_grad) for c, s in zip(channels, strides)]


def _check_output(net, out, size, batch=2):
    h, w = size
    assert len(out.pyramid) == len(net.out_strides)
    for p, s in zip(out.pyramid, net.out_strides):
        assert p.shape == (batch, net.out_channels, -(-h // s), -(-w // s))
    assert out.fused.shape == (batch, net.fused_channels, -(-h // 8), -(-w // 8))


@pytest.mark.parametrize("size", [(64, 96), (96, 64)])
def test_vit_like_single_stride_taps_give_the_8_16_32_pyramid(size):
    net = HybridSideNetwork(in_channels=[64] * 4, in_strides=[16] * 4, out_channels=24, fused_channels=40)
    assert net.width == 32  # max(min_width, 64 / 8)
    out = net(_feats([64] * 4, [16] * 4, size))
    _check_output(net, out, size)


def test_vit_b_width_is_channels_over_reduction():
    net = HybridSideNetwork(in_channels=[768] * 4, in_strides=[16] * 4)
    assert net.width == 96 and net.stage_strides == (8, 16, 16, 32)


def test_conv_pyramid_taps_with_odd_grid_sizes():
    channels, strides = [24, 40, 112, 320], [4, 8, 16, 32]
    net = HybridSideNetwork(in_channels=channels, in_strides=strides, out_channels=16, fused_channels=24)
    size = (96, 160)
    out = net(_feats(channels, strides, size, batch=1))
    _check_output(net, out, size, batch=1)
    # 32 x 96 image: stride-32 level is 1 x 3
    out = net(_feats(channels, strides, (32, 96), batch=1))
    assert out.pyramid[-1].shape[-2:] == (1, 3)


def test_pyramid_levels_without_a_stage_are_resampled():
    net = HybridSideNetwork(in_channels=[32, 32], in_strides=[16, 16], stage_pattern=("conv", "sim"),
                            stage_strides=(16, 16), out_strides=(8, 16, 32), out_channels=8, fused_channels=8)
    out = net(_feats([32, 32], [16, 16], (64, 64)))
    _check_output(net, out, (64, 64))


def test_gates_start_at_half_and_receive_gradients():
    net = HybridSideNetwork(in_channels=[64] * 4, in_strides=[16] * 4, out_channels=16, fused_channels=16)
    assert sorted(net.gate_values()) == [1, 2, 3]
    assert all(abs(g - 0.5) < 1e-7 for g in net.gate_values().values())
    feats = _feats([64] * 4, [16] * 4, (64, 64), requires_grad=True)
    out = net(feats)
    (sum(p.square().mean() for p in out.pyramid) + out.fused.square().mean()).backward()
    for k, gate in net.gates.items():
        assert gate.alpha.grad is not None and gate.alpha.grad.abs() > 0, f"gate {k}"
    # Ladder inputs are detached: no gradient reaches the feature maps.
    assert all(f.grad is None for f in feats)
    assert all(p.grad is not None for p in net.parameters()), "every side parameter is trained"


def test_side_layer_dropping_removes_blocks_and_their_ladders():
    full = HybridSideNetwork(in_channels=[64] * 4, in_strides=[16] * 4)
    dropped = HybridSideNetwork(in_channels=[64] * 4, in_strides=[16] * 4, drop_layers=(1,))
    assert dropped.used_taps == [0, 2, 3] and sorted(dropped.gate_values()) == [2, 3]
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(dropped) < n(full)
    out = dropped(_feats([64] * 4, [16] * 4, (64, 64)))
    _check_output(dropped, out, (64, 64))


def test_bad_configuration_and_inputs_raise_clear_errors():
    with pytest.raises(SideNetworkConfigError, match="stride"):
        HybridSideNetwork(in_channels=[8, 8], in_strides=[16])
    with pytest.raises(SideNetworkConfigError, match="powers of two"):
        HybridSideNetwork(in_channels=[8], in_strides=[16], stage_pattern=("conv", "sim"), stage_strides=(8, 24))
    with pytest.raises(SideNetworkConfigError, match="drop_layers"):
        HybridSideNetwork(in_channels=[8], in_strides=[16], drop_layers=(7,))
    with pytest.raises(ValueError, match="unknown block kind"):
        HybridSideNetwork(in_channels=[8], in_strides=[16], stage_pattern=("conv", "mlp"))
    net = HybridSideNetwork(in_channels=[8, 8], in_strides=[16, 16])
    with pytest.raises(SideInputError, match="expected 2 feature maps"):
        net([torch.randn(1, 8, 4, 4)])
    with pytest.raises(SideInputError, match="feature map 1"):
        net([torch.randn(1, 8, 4, 4), torch.randn(1, 9, 4, 4)])


def test_on_a_frozen_tiny_vit_nothing_in_the_backbone_gets_gradients():
    backbone_mod = pytest.importorskip("efftrack.backbones")
    backbone = backbone_mod.FrozenBackbone("tiny-vit", model_cfg=TINY_VIT)
    side = build_side_network(backbone, {"out_channels": 16, "fused_channels": 16})
    assert side.in_strides == [16] * len(backbone.channels)
    x = torch.randn(2, 3, 64, 96)
    out = side(backbone(x))
    _check_output(side, out, (64, 96))
    (sum(p.mean() for p in out.pyramid) + out.fused.mean()).backward()
    assert all(p.grad is None and not p.requires_grad for p in backbone.parameters())
    assert all(g.alpha.grad is not None for g in side.gates.values())


def test_on_a_tiny_modified_resnet_pyramid():
    backbone_mod = pytest.importorskip("efftrack.backbones")
    cfg = {"embed_dim": 32, "vision_cfg": {"image_size": 64, "layers": [1, 1, 1, 1], "width": 16}}
    backbone = backbone_mod.FrozenBackbone("tiny-rn", model_cfg=cfg)
    side = HybridSideNetwork.from_backbone(backbone, out_channels=16, fused_channels=16)
    assert side.in_strides == [4, 8, 16, 32] and side.width == 512 // 8
    out = side(backbone(torch.randn(1, 3, 64, 96)))
    _check_output(side, out, (64, 96), batch=1)
