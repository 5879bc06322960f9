"""The efficiency benchmark's worker on a tiny tower (in-process: no subprocess start-up cost)."""
import importlib.util
import json
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "benchmark_efficiency.py"
TINY = json.dumps({"embed_dim": 16, "vision_cfg": {"image_size": 32, "layers": 2, "width": 32,
                                                   "patch_size": 16, "head_width": 16}})


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("benchmark_efficiency", TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _args(bench, *extra):
    return bench.parse_args(["--model", "tiny", "--model-cfg", TINY, "--size", "32", "--batch", "1",
                             "--steps", "1", "--warmup", "0", "--threads", "1", *extra])


def test_modes_train_the_parts_they_claim(bench):
    results = {}
    for mode in bench.MODES:
        args = _args(bench)
        args.worker = mode
        results[mode] = r = bench.run_worker(args)
        assert len(r["step_times_s"]) == 1 and r["peak_rss_mib"] > 0
    parts = {m: r["params"]["parts"] for m, r in results.items()}
    assert parts["side"]["backbone"]["trainable"] == 0 and parts["side"]["side"]["trainable"] > 0
    assert parts["full"]["backbone"]["frozen"] == 0
    assert parts["full"]["backbone"]["trainable"] == parts["side"]["backbone"]["frozen"]
    lora_bb = parts["lora"]["backbone"]
    assert 0 < lora_bb["trainable"] < lora_bb["frozen"]
    assert "side" not in parts["frozen-linear"] or parts["frozen-linear"]["side"]["total"] == 0
    assert parts["frozen-linear"]["head"]["trainable"] > 0


def test_model_in_full_mode_sends_gradients_into_the_backbone(bench):
    import torch
    args = _args(bench)
    for mode, expect in (("full", True), ("side", False)):
        model = bench.build_model(mode, args, {"side": {}, "head": {}})
        out = model(torch.randn(1, 3, 32, 32))
        sum(o.mean() for o in out).backward()
        got = any(p.grad is not None for p in model.backbone.parameters())
        assert got == expect, mode


def test_table_and_targets_from_results(bench):
    def res(mem, step, trainable, total):
        return {"train_memory_mib": mem, "median_step_s": step, "median_step_cpu_s": 2 * step,
                "params": {"trainable": trainable, "total": total, "trainable_fraction": trainable / total}}
    results = {"side": res(100.0, 1.0, 10, 1000), "full": res(500.0, 3.0, 1000, 1000)}
    table = bench.markdown_table(results)
    assert "| side | 10 | 1,000 | 1.00 | 100 | 20.0% | 1.000 | 3.00x | 2.00 | 3.00x |" in table
    t = bench.check_targets(results)
    assert t["side_memory_vs_full"]["met"] and t["side_speedup_vs_full"]["met"]
    assert t["side_trainable_fraction"]["met"]
    results["side"] = res(200.0, 1.5, 20, 1000)
    t = bench.check_targets(results)
    assert not t["side_memory_vs_full"]["met"] and not t["side_speedup_vs_full"]["met"]
    assert not t["side_trainable_fraction"]["met"]


def test_user_mistakes_give_one_line_and_exit_2(bench, capsys):
    assert bench.main(["--modes", "side,bogus"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bogus" in err[0]
    assert bench.main(["--cfg-options", "nodot=1"]) == 2
    assert "cfg-options" in capsys.readouterr().err
