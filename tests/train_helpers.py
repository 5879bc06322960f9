"""Shared by the training tests: a tiny TAO-format folder and overrides that make any recipe tiny."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_tiny_dataset(root: Path) -> Path:
    from efftrack.data.synthetic import generate_dataset
    generate_dataset(str(root), train_videos=2, val_videos=1, frames=6, size=96, seed=3)
    return root


def tiny_overrides(data: Path, work_dir: Path | None = None, iters: int = 4, **extra) -> list[str]:
    """--cfg-options that shrink a recipe to a 2-layer random ViT on 64x64 inputs."""
    opts = {
        "model.backbone.model_name": "tiny",
        "model.backbone.model_cfg": str(REPO / "configs/models/tiny_vit.json"),
        "model.backbone.pretrained": "None",
        "model.backbone.taps": "None",
        "model.input_size": "[64,64]",
        "model.side.out_channels": "32",
        "model.side.fused_channels": "32",
        "model.proposal_head.feat_channels": "32",
        "model.embedding_head.dim": "16",
        "model.embed_rois": "16",
        "model.train_proposals": "32",
        "train.max_iters": str(iters),
        "train.batch_size": "1",
        "train.num_workers": "0",
        "train.log_interval": "1",
        "train.ckpt_interval": "2",
        "train.warmup_iters": "1",
        "data.val.ann_file": str(data / "val.json"),
        "data.val.img_root": str(data),
    }
    opts.update({k: str(v) for k, v in extra.items()})
    return [f"{k}={v}" for k, v in opts.items()]


def run_tool(args, cwd=REPO, env_extra=None, timeout=300, check=True) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **(env_extra or {})}
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{args} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc
