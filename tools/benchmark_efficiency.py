#!/usr/bin/env python
"""Training-efficiency benchmark: side network vs full fine-tuning vs LoRA vs frozen backbone + linear heads.

Every mode uses the same image tower, input size, batch, heads stand-in and optimizer (AdamW):

  side           frozen backbone (no autograd graph), gradients only in side network + heads (ours)
  full           the same model, backbone trainable, gradients flow through the backbone
  lora           backbone frozen, LoRA (rank 8) on attention and MLP linears, gradients flow through it
  frozen-linear  heads on the last backbone map only, no side network (zero-shot-style baseline)

Each mode runs in its own processes. On CPU: a baseline process builds the model, the data and the optimizer
and takes no step; a memory process takes 2 steps; the training memory is the memory process's peak
resident memory (VmHWM) minus the baseline's (both with a fixed glibc mmap threshold, see MALLOC_ENV); a
timing process (default allocator) takes `--warmup` + `--steps` steps. On CUDA one process does both:
torch.cuda.max_memory_allocated during the steps minus the memory allocated before the first step. Step
time is the median over the measured steps (wall and CPU seconds).

    python tools/benchmark_efficiency.py --model ViT-B-16 --size 512 --batch 2 --json work_dirs/bench_vitb.json
    python tools/benchmark_efficiency.py --model tiny --model-cfg '{"embed_dim": 32, "vision_cfg": {...}}'

Prints a markdown table (and the target check when `side` and `full` both ran) and writes JSON with the
environment (device, torch version, threads).
"""
import argparse
import ast
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODES = ("side", "full", "lora", "frozen-linear")
RESULT_TAG = "BENCH_RESULT "
# glibc raises its mmap threshold as large blocks are freed and then keeps freed activations in the heap, so
# peak RSS measured the allocator's retention, not live tensors (LoRA read above full fine-tuning). A fixed
# threshold returns every large block to the OS at once; all modes and baselines run with the same setting.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
TARGETS = {"memory_ratio_max": 0.25, "speedup_min": 2.5, "trainable_fraction_max": 0.013}


class BenchmarkError(ValueError):
    """A user mistake in the benchmark's arguments."""


# ----------------------------------------------------------------------------------------------- heads
def build_dense_standin(in_channels: List[int], hidden: int = 64, strides=None):
    """Light dense head per pyramid level: 3x3 conv -> GELU -> 1x1 conv to 5 maps (objectness + 4 box).

    The first stand-in, kept as `--head dense-standin`; `loss(maps, targets)` is a dummy focal-free loss of the same
    shape of work (BCE on objectness, L1 on box channels). Levels with equal channels share weights, as
    dense detection heads do.
    """
    import torch.nn.functional as F
    from torch import nn

    class DenseHeadStandIn(nn.Module):
        def __init__(self):
            super().__init__()
            self.towers = nn.ModuleDict()
            for c in sorted(set(in_channels)):
                self.towers[str(c)] = nn.Sequential(nn.Conv2d(c, hidden, 3, padding=1), nn.GELU(),
                                                    nn.Conv2d(hidden, 5, 1))

        def forward(self, maps):
            return [self.towers[str(m.shape[1])](m) for m in maps]

        @staticmethod
        def loss(outputs, targets):
            total = 0.0
            for out, tgt in zip(outputs, targets):
                total = total + F.binary_cross_entropy_with_logits(out[:, :1], tgt[:, :1]) \
                    + F.l1_loss(out[:, 1:], tgt[:, 1:])
            return total

    return DenseHeadStandIn()


def build_proposal_head(in_channels: List[int], strides=(8, 16, 32), **kwargs):
    """The real efftrack ProposalHead (ATSS assignment, quality focal + GIoU) on fixed ground-truth boxes,
    with the settings of ``configs/_base_/effowt.py`` unless ``head.K=V`` overrides them.

    ``forward`` returns the flat list [scores per level..., boxes per level...] so the worker's dummy targets
    keep their shape; ``loss`` ignores them and trains against a 3x3 grid of boxes per image.
    """
    import torch
    from torch import nn

    from efftrack.heads.proposal import ProposalHead

    from efftrack.config import load_config

    base = load_config(Path(__file__).resolve().parents[1] / "configs/_base_/effowt.py")
    kwargs = {**dict(base.model.get("proposal_head", {})), **kwargs}

    class RealProposalHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = ProposalHead(in_channels[0], strides=tuple(strides), **kwargs)

        def forward(self, maps):
            scores, boxes = self.head(maps)
            return list(scores) + list(boxes)

        def loss(self, outputs, targets):
            n = len(outputs) // 2
            b, _, h, w = outputs[0].shape
            size = (h * self.head.strides[0], w * self.head.strides[0])
            gt = torch.tensor([[x * size[1] / 3 + 4, y * size[0] / 3 + 4, (x + 1) * size[1] / 3 - 4,
                                (y + 1) * size[0] / 3 - 4] for y in range(3) for x in range(3)],
                              device=outputs[0].device)
            losses = self.head.loss((outputs[:n], outputs[n:]), [gt] * b, image_size=size)
            return sum(losses.values())

    return RealProposalHead()


HEAD_BUILDERS: Dict[str, Callable] = {"proposal": build_proposal_head, "dense-standin": build_dense_standin}


# ----------------------------------------------------------------------------------------------- model
def _parse_model_cfg(text: Optional[str]):
    if not text:
        return None
    if os.path.exists(text):
        return text  # a JSON path; the backbone reads it
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BenchmarkError(f"--model-cfg is neither a file nor JSON: {e}") from None


def _parse_cfg_options(items: List[str]) -> Dict[str, object]:
    """`side.width=64 side.drop_layers=[1] head.hidden=32` -> {'side': {...}, 'head': {...}}."""
    out: Dict[str, Dict[str, object]] = {"side": {}, "head": {}}
    for item in items or []:
        key, sep, value = item.partition("=")
        group, dot, name = key.partition(".")
        if not sep or not dot or group not in out or not name:
            raise BenchmarkError(f"--cfg-options: expected side.KEY=VALUE or head.KEY=VALUE, got {item!r}")
        try:
            out[group][name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[group][name] = value
    return out


def build_model(mode: str, args, options: Dict[str, dict]):
    """nn.Module with children backbone / side / head (side absent for frozen-linear)."""
    from torch import nn

    from efftrack.backbones import FrozenBackbone, TowerTaps, build_image_tower
    from efftrack.side import HybridSideNetwork
    from efftrack.utils.lora import apply_lora

    model_cfg = _parse_model_cfg(args.model_cfg)
    taps = args.taps
    if mode in ("side", "frozen-linear"):
        backbone = FrozenBackbone(args.model, pretrained=args.pretrained, model_cfg=model_cfg, taps=taps)
    else:
        backbone = TowerTaps(build_image_tower(args.model, args.pretrained, model_cfg), taps)
        if mode == "lora":
            apply_lora(backbone.visual, rank=args.lora_rank, alpha=2.0 * args.lora_rank)
    channels, strides = list(backbone.channels), list(backbone.strides)

    class BenchModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone
            if mode == "frozen-linear":
                self.side = None
                self.head = HEAD_BUILDERS[args.head]([channels[-1]], strides=(strides[-1],), **options["head"])
            else:
                self.side = HybridSideNetwork(in_channels=channels, in_strides=strides,
                                              detach_ladders=(mode == "side"), **options["side"])
                self.head = HEAD_BUILDERS[args.head]([self.side.out_channels] * len(self.side.out_strides),
                                                     strides=self.side.out_strides, **options["head"])

        def forward(self, images):
            feats = self.backbone(images)
            maps = [feats[-1]] if self.side is None else self.side(feats).pyramid
            return self.head(maps)

    return BenchModel()


# ---------------------------------------------------------------------------------------------- worker
def _peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (VmHWM; ru_maxrss where /proc is missing)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024.0 * 1024.0) if sys.platform == "darwin" else rss / 1024.0


def run_worker(args) -> dict:
    import torch

    from efftrack.utils.params import parameter_report

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    options = _parse_cfg_options(args.cfg_options)
    model = build_model(args.worker, args, options).to(device)
    model.train()
    report = parameter_report(model)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.05)
    images = torch.randn(args.batch, 3, args.size, args.size, device=device)
    with torch.no_grad():  # shapes of the head outputs, for fixed dummy targets
        shapes = [o.shape for o in model(images[:1])]
    targets = [torch.rand(args.batch, *s[1:], device=device) for s in shapes]
    result = {"mode": args.worker, "params": report.as_dict(), "param_table": report.table()}
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        result["cuda_allocated_before_mib"] = torch.cuda.memory_allocated() / 2 ** 20
    times, cpu_times = [], []
    if not args.no_step:
        for step in range(args.warmup + args.steps):
            t0, c0 = time.perf_counter(), time.process_time()
            loss = model.head.loss(model(images), targets)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if device.type == "cuda":
                torch.cuda.synchronize()
            if step >= args.warmup:
                times.append(time.perf_counter() - t0)
                # CPU seconds over all threads: steadier than wall time on a shared, preempting machine.
                cpu_times.append(time.process_time() - c0)
        result["loss"] = float(loss.detach())
    result["step_times_s"] = times
    result["step_cpu_s"] = cpu_times
    result["peak_rss_mib"] = _peak_rss_mib()
    if device.type == "cuda":
        result["cuda_peak_mib"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return result


# ---------------------------------------------------------------------------------------------- parent
def _worker_cmd(args, mode: str, no_step: bool = False, steps: Optional[int] = None,
                warmup: Optional[int] = None) -> List[str]:
    steps = args.steps if steps is None else steps
    warmup = args.warmup if warmup is None else warmup
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", mode, "--model", args.model,
           "--size", str(args.size), "--batch", str(args.batch), "--steps", str(steps),
           "--warmup", str(warmup), "--threads", str(args.threads), "--device", args.device,
           "--lora-rank", str(args.lora_rank), "--head", args.head]
    if args.model_cfg:
        cmd += ["--model-cfg", args.model_cfg]
    if args.pretrained:
        cmd += ["--pretrained", args.pretrained]
    if args.taps:
        cmd += ["--taps", *map(str, args.taps)]
    if args.cfg_options:
        cmd += ["--cfg-options", *args.cfg_options]
    if no_step:
        cmd.append("--no-step")
    return cmd


def _run(cmd: List[str], timeout: float, malloc_env: bool) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=cmd[cmd.index("--threads") + 1], **(MALLOC_ENV if malloc_env else {}))
    repo = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"timed out after {timeout:.0f} s") from None
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG):])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    raise RuntimeError(f"exit {proc.returncode}: {tail}")


def measure_mode(args, mode: str) -> dict:
    """Three processes: baseline (no step) and memory (2 steps) with MALLOC_ENV, then timing with the
    default allocator (MALLOC_ENV turns every large free into munmap + page faults, which slows steps)."""
    cuda = args.device.startswith("cuda")
    if cuda:
        res = _run(_worker_cmd(args, mode), args.timeout, malloc_env=False)
        res["train_memory_mib"] = res["cuda_peak_mib"] - res["cuda_allocated_before_mib"]
    else:
        base = _run(_worker_cmd(args, mode, no_step=True), args.timeout, malloc_env=True)
        mem = _run(_worker_cmd(args, mode, steps=2, warmup=0), args.timeout, malloc_env=True)
        res = _run(_worker_cmd(args, mode), args.timeout, malloc_env=False)
        res["baseline_rss_mib"] = base["peak_rss_mib"]
        res["memory_run_peak_rss_mib"] = mem["peak_rss_mib"]
        res["train_memory_mib"] = mem["peak_rss_mib"] - base["peak_rss_mib"]
    res["median_step_s"] = statistics.median(res["step_times_s"]) if res["step_times_s"] else float("nan")
    res["median_step_cpu_s"] = statistics.median(res["step_cpu_s"]) if res["step_cpu_s"] else float("nan")
    return res


def markdown_table(results: Dict[str, dict]) -> str:
    full = results.get("full")
    rows = ["| mode | trainable params | total params | trainable % | train memory (MiB) | vs full | "
            "median step (s) | speed-up vs full | step CPU (s) | CPU speed-up |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for mode, r in results.items():
        if "error" in r:
            rows.append(f"| {mode} | failed: {r['error']} | | | | | | | | |")
            continue
        p = r["params"]
        mem_ratio = f"{r['train_memory_mib'] / full['train_memory_mib']:.1%}" if full and "error" not in full \
            else "-"
        ok = full and "error" not in full
        speed = f"{full['median_step_s'] / r['median_step_s']:.2f}x" if ok else "-"
        cpu = r.get("median_step_cpu_s", float("nan"))
        cpu_speed = f"{full.get('median_step_cpu_s', float('nan')) / cpu:.2f}x" if ok else "-"
        rows.append(f"| {mode} | {p['trainable']:,} | {p['total']:,} | {100 * p['trainable_fraction']:.2f} | "
                    f"{r['train_memory_mib']:.0f} | {mem_ratio} | {r['median_step_s']:.3f} | {speed} | "
                    f"{cpu:.2f} | {cpu_speed} |")
    return "\n".join(rows)


def check_targets(results: Dict[str, dict]) -> Optional[Dict[str, dict]]:
    side, full = results.get("side"), results.get("full")
    if not side or not full or "error" in side or "error" in full:
        return None
    mem = side["train_memory_mib"] / full["train_memory_mib"]
    speed = full["median_step_s"] / side["median_step_s"]
    frac = side["params"]["trainable_fraction"]
    return {
        "side_memory_vs_full": {"value": mem, "target": f"<= {TARGETS['memory_ratio_max']}",
                                "met": mem <= TARGETS["memory_ratio_max"]},
        "side_speedup_vs_full": {"value": speed, "target": f">= {TARGETS['speedup_min']}",
                                 "met": speed >= TARGETS["speedup_min"]},
        "side_trainable_fraction": {"value": frac, "target": f"<= {TARGETS['trainable_fraction_max']}",
                                    "met": frac <= TARGETS["trainable_fraction_max"]},
    }


def environment(args) -> dict:
    import torch
    env = {"device": args.device, "torch": torch.__version__, "threads": args.threads, "malloc_env": MALLOC_ENV,
           "cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
           "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        import open_clip
        env["open_clip"] = open_clip.__version__
    except ImportError:
        pass
    try:
        env["load_average"] = os.getloadavg()  # at the end; shared machines make timings noisy
    except OSError:
        pass
    if args.device.startswith("cuda") and torch.cuda.is_available():
        env["cuda_device"] = torch.cuda.get_device_name(0)
    return env


def _write_json_atomic(path: str, payload: dict) -> None:
    from efftrack.utils.atomic import write_json_atomic
    write_json_atomic(path, payload, indent=2)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="ViT-B-16", help="open_clip model name (or any name with --model-cfg)")
    ap.add_argument("--model-cfg", default=None, help="open_clip model config, JSON text or file")
    ap.add_argument("--pretrained", default=None, help="weights (default: random init, fine for cost)")
    ap.add_argument("--taps", type=int, nargs="+", default=None, help="backbone layers to tap")
    ap.add_argument("--size", type=int, default=512, help="square input size")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--modes", default=",".join(MODES), help=f"comma list from {MODES}")
    ap.add_argument("--steps", type=int, default=3, help="measured steps")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up steps (not measured)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads per worker; 1 by default: on a shared, oversubscribed machine every "
                    "parallel op of a 2-thread pool waits for a descheduled thread (~10 ms each)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--lora-rank", type=int, default=8)
    ap.add_argument("--head", default="proposal", help=f"heads builder: {sorted(HEAD_BUILDERS)}")
    ap.add_argument("--cfg-options", nargs="+", default=None, help="side.KEY=VALUE / head.KEY=VALUE overrides")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per worker process")
    ap.add_argument("--json", default=None, help="write results and environment here")
    ap.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    ap.add_argument("--no-step", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise BenchmarkError(f"--modes: unknown {bad or 'empty'}; choose from {', '.join(MODES)}")
    if args.head not in HEAD_BUILDERS:
        raise BenchmarkError(f"--head: unknown {args.head!r}; choose from {', '.join(sorted(HEAD_BUILDERS))}")
    if args.size < 1 or args.batch < 1 or args.steps < 1 or args.warmup < 0 or args.threads < 1:
        raise BenchmarkError("--size, --batch, --steps, --threads must be >= 1 and --warmup >= 0")
    _parse_cfg_options(args.cfg_options)
    _parse_model_cfg(args.model_cfg)
    args.mode_list = modes
    return args


def main(argv=None) -> int:
    try:
        args = parse_args(argv)
        if args.worker:
            print(RESULT_TAG + json.dumps(run_worker(args)), flush=True)
            return 0
    except ValueError as e:  # BenchmarkError, BackboneError, side-network config errors: user mistakes
        print(f"benchmark_efficiency: {e}", file=sys.stderr)
        return 2
    results: Dict[str, dict] = {}
    load_at_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    for mode in args.mode_list:
        print(f"[{time.strftime('%H:%M:%S')}] {mode} ...", file=sys.stderr, flush=True)
        try:
            results[mode] = measure_mode(args, mode)
        except RuntimeError as e:
            results[mode] = {"mode": mode, "error": str(e)}
            print(f"benchmark_efficiency: mode {mode} failed: {e}", file=sys.stderr)
    title = (f"{args.model} @ {args.size}x{args.size}, batch {args.batch}, {args.device}, {args.threads} threads, "
             f"{args.warmup} warm-up + {args.steps} measured steps")
    print(f"\n{title}\n")
    print(markdown_table(results))
    targets = check_targets(results)
    if targets:
        print()
        for name, t in targets.items():
            print(f"- {name}: {t['value']:.3f} (target {t['target']}): {'MET' if t['met'] else 'NOT MET'}")
    if args.json:
        env = dict(environment(args), load_average_at_start=load_at_start)
        payload = {"title": title, "environment": env,
                   "config": {k: v for k, v in vars(args).items() if k not in ("worker", "no_step")},
                   "results": results, "targets": targets}
        _write_json_atomic(args.json, payload)
        print(f"\nwrote {args.json}")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
