"""Training: loss goes down, nothing reaches the backbone, resume is exact, DDP runs, recipes load."""
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from efftrack.config import load_config
from efftrack.engine.checkpoint import (CheckpointError, load_checkpoint, publish_checkpoint, read_checkpoint,
                                        save_checkpoint)
from efftrack.models.builder import build_model
from train_helpers import REPO, make_tiny_dataset, run_tool, tiny_overrides


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny_tao"))


def _cfg(data, **extra):
    from mmengine.config import DictAction  # the same parsing as --cfg-options
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--o", nargs="+", action=DictAction)
    opts = p.parse_args(["--o", *tiny_overrides(data, **extra)]).o
    opts["data.train"] = [dict(type="tao", ann_file=str(data / "train.json"), img_root=str(data), subset="known",
                               max_gap=3)]
    return load_config(REPO / "configs/synthetic_owt.py", opts)


def _batch(cfg):
    from efftrack.data.views import collate_pairs
    from efftrack.engine.data import build_train_dataset
    torch.manual_seed(0)
    ds = build_train_dataset(cfg.data["train"], cfg.model["input_size"])
    return collate_pairs([ds[0], ds[1]])


def test_training_steps_lower_the_loss_and_leave_the_backbone_alone(tiny_data):
    cfg = _cfg(tiny_data)
    model = build_model(cfg.model).train()
    frozen_before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    batch = _batch(cfg)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-3)

    def loss_value():
        torch.manual_seed(1)  # same RoI sample each time
        return sum(model(batch).values())

    first = float(loss_value().detach())
    for _ in range(8):
        opt.zero_grad()
        loss = loss_value()
        loss.backward()
        assert all(p.grad is None for p in model.backbone.parameters())
        opt.step()
    assert float(loss_value().detach()) < 0.8 * first
    assert all(torch.equal(v, model.backbone.state_dict()[k]) for k, v in frozen_before.items())


def _train_cmd(data, work_dir, iters=6):
    return ["tools/train.py", "configs/synthetic_owt.py", "--work-dir", str(work_dir), "--cfg-options",
            *tiny_overrides(data, iters=iters), f"data.train.0.ann_file={data / 'train.json'}",
            f"data.train.0.img_root={data}"]


def test_kill_and_resume_ends_with_the_same_weights(tiny_data, tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    run_tool(_train_cmd(tiny_data, straight))

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, *_train_cmd(tiny_data, killed)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not (killed / "iter_2.pth").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # whatever it is doing now: a step, or writing the next checkpoint
    proc.wait()
    assert not (killed / "iter_6.pth").exists(), "the run finished before it could be killed"

    run_tool(_train_cmd(tiny_data, killed) + ["--resume"])
    a, b = read_checkpoint(straight / "iter_6.pth"), read_checkpoint(killed / "iter_6.pth")
    assert a["model"].keys() == b["model"].keys()
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert all(torch.equal(x, y) for x, y in zip(_flat(a["optimizer"]), _flat(b["optimizer"])))


def _flat(state):
    return [t for s in state["state"].values() for t in s.values() if torch.is_tensor(t)]


def test_two_process_ddp_run_on_cpu(tiny_data, tmp_path):
    run_tool(["-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29631",
              *_train_cmd(tiny_data, tmp_path, iters=2), "--launcher", "pytorch", "--device", "cpu"])
    ckpt = read_checkpoint(tmp_path / "iter_2.pth")
    assert ckpt["iteration"] == 2
    log = (tmp_path / "train.log").read_text()
    assert "world size 2" in log


def test_tao_owt_recipe_loads_and_runs_with_overrides(tiny_data, tmp_path):
    cfg = load_config(REPO / "configs/tao_owt.py")
    assert cfg.model["backbone"]["model_name"] == "ViT-B-16" and cfg.model["backbone"]["pretrained"] == "openai"
    assert [d["type"] for d in cfg.data["train"]] == ["tao", "coco"]
    proc = run_tool(["tools/train.py", "configs/tao_owt.py", "--work-dir", str(tmp_path), "--cfg-options",
                     *tiny_overrides(tiny_data, iters=2),
                     f"data.train.0.ann_file={tiny_data / 'train.json'}", f"data.train.0.img_root={tiny_data}",
                     f"data.train.1.ann_file={tiny_data / 'train.json'}", f"data.train.1.img_root={tiny_data}",
                     "train.val_interval=2", "train.lr_steps=[1]"])
    assert "validation:" in proc.stdout and "OWTA_unknown" in proc.stdout
    assert read_checkpoint(tmp_path / "iter_2.pth")["backbone"]["model_name"] == "tiny"


def test_checkpoints_from_another_backbone_or_corrupt_files_are_refused(tiny_data, tmp_path):
    cfg = _cfg(tiny_data)
    model = build_model(cfg.model)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad])
    path = save_checkpoint(tmp_path / "a.pth", model=model, optimizer=opt, iteration=3)
    assert load_checkpoint(path, model)["iteration"] == 3
    published = publish_checkpoint(path, tmp_path / "pub.pth")
    assert "optimizer" not in read_checkpoint(published) and load_checkpoint(published, model)["iteration"] == 3
    small = publish_checkpoint(path, tmp_path / "half.pth", half=True)
    assert small.stat().st_size < 0.6 * published.stat().st_size
    load_checkpoint(small, model)
    assert all(torch.equal(v, read_checkpoint(small)["model"][k].float()) for k, v in model.trainable_state_dict().items()
               if v.is_floating_point())

    tower = {k: v + 0.01 for k, v in model.backbone.body.visual.state_dict().items()}
    torch.save(tower, tmp_path / "other_tower.pt")
    cfg.model["backbone"]["pretrained"] = str(tmp_path / "other_tower.pt")
    other = build_model(cfg.model)  # same architecture, other backbone weights
    with pytest.raises(CheckpointError, match="trained on backbone tiny .* weights_sha256 differs"):
        load_checkpoint(path, other)

    data = path.read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or not an efftrack checkpoint"):
        load_checkpoint(tmp_path / "cut.pth", model)
    proc = run_tool(["tools/train.py", "configs/synthetic_owt.py", "--work-dir", str(tmp_path / "w"),
                     "--resume", str(tmp_path / "cut.pth"), "--cfg-options", *tiny_overrides(tiny_data),
                     f"data.train.0.ann_file={tiny_data / 'train.json'}", f"data.train.0.img_root={tiny_data}"],
                    check=False)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error: checkpoint")
    assert "Traceback" not in proc.stderr
