"""The cache inside training: loss from cached features vs the live backbone, pre-fill tool, trainer hook."""
import argparse

import pytest
import torch

from efftrack.config import load_config
from efftrack.models.builder import build_model
from train_helpers import REPO, make_tiny_dataset, run_tool, tiny_overrides


def _tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location("cache_features", REPO / "tools/cache_features.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny_tao_cache"))


def _opts(data, cache_dir, **extra):
    opts = tiny_overrides(data, **{"cache.dir": str(cache_dir), **extra})
    opts += [f"data.train.0.ann_file={data / 'train.json'}", f"data.train.0.img_root={data}"]
    return opts


def _cfg(data, cache_dir, **extra):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser()
    p.add_argument("--o", nargs="+", action=DictAction)
    return load_config(REPO / "configs/synthetic_owt.py", p.parse_args(["--o", *_opts(data, cache_dir, **extra)]).o)


@pytest.mark.parametrize("tower", ["tiny_vit.json", "tiny_resnet.json"])
def test_loss_from_cached_features_matches_live_backbone(tiny_data, tmp_path, tower):
    from efftrack.cache import build_feature_cache
    from efftrack.data.views import collate_pairs
    from efftrack.engine.data import build_train_dataset
    cfg = _cfg(tiny_data, tmp_path / "cache", **{"model.backbone.model_cfg": str(REPO / "configs/models" / tower)})
    torch.manual_seed(0)
    model = build_model(cfg.model).train()
    ds = build_train_dataset(cfg.data["train"], cfg.model["input_size"])
    batch = collate_pairs([ds[0], ds[3]])
    images = torch.cat([batch["key"]["img"], batch["ref"]["img"]])

    def loss(feats=None):
        torch.manual_seed(7)  # RoI sampling draws the same way in every call
        return {k: float(v.detach()) for k, v in model.loss(batch, backbone_feats=feats).items()}

    live = loss()
    cache = build_feature_cache(cfg.cache, model, cfg.model["input_size"])
    cold = loss(cache.features(images, model.backbone_features))
    warm = loss(cache.features(images, model.backbone_features))
    assert cache.hits == len(images) and cold == warm
    for k in live:
        # fp16 keeps 11 significant bits: each feature moves by <= 2**-11 relative; the losses move far less
        # (measured ~1e-6), so the fp16 unit roundoff is a bound with room, not a fudge factor
        assert abs(cold[k] - live[k]) <= 2 ** -11 * max(1.0, abs(live[k])), (k, cold[k], live[k])
    assert any(cold[k] != live[k] for k in live)  # the comparison does see the rounding


def test_prefilled_cache_serves_every_training_step(tiny_data, tmp_path):
    from efftrack.engine.trainer import Trainer
    _tool().main(["configs/synthetic_owt.py", "--batch", "4", "--cfg-options",
               *_opts(tiny_data, tmp_path / "cache", **{"cache.variants": 2})])
    cfg = _cfg(tiny_data, tmp_path / "cache", **{"cache.variants": 2, "train.batch_size": 4, "train.max_iters": 6,
                                                 "train.ckpt_interval": 100})
    trainer = Trainer(cfg, tmp_path / "work")
    assert len(trainer._loader().dataset) == 12  # 6 iterations x 4 = 2 epochs: variants 0 and 1
    trainer.run()
    f = trainer.cache.footprint()
    assert trainer.cache.misses == 0 and trainer.cache.hits > 0
    assert f["entries"] <= 2 * 12 * 2 and f["writes"] == 0


def test_cache_tool_errors_are_one_line(tiny_data, tmp_path):
    opts = [o for o in _opts(tiny_data, tmp_path / "c") if not o.startswith("cache.")]
    proc = run_tool(["tools/cache_features.py", str(REPO / "configs/synthetic_owt.py"), "--cfg-options", *opts],
                    check=False)
    assert proc.returncode == 2 and "no cache section" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    with pytest.raises(ValueError, match="--shard"):
        _tool().main(["configs/synthetic_owt.py", "--shard", "3/2"])
