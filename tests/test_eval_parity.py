"""HOTA/OWTA, MOTA and IDF1 of evaluate_sequences against TrackEval's own metric classes."""
import numpy as np
import pytest

from helpers_trackeval import trackeval_on_sequences

from efftrack.evaluation import ALPHAS, EvalInputError, evaluate_sequences

TOL = 1e-9
CLEAR_FIELDS = ("MOTA", "MODA", "MOTP", "CLR_TP", "CLR_FN", "CLR_FP", "IDSW", "CLR_Re", "CLR_Pr", "ML")
ID_FIELDS = ("IDF1", "IDR", "IDP", "IDTP", "IDFN", "IDFP")


def _box(x, y, w=20.0, h=20.0):
    return [x, y, x + w, y + h]


def _seq(gt, pred):
    """gt/pred: list over frames of [(id, xyxy box), ...]."""
    def split(frames):
        ids = [np.array([i for i, _ in f], dtype=np.int64) for f in frames]
        boxes = [np.array([b for _, b in f], dtype=np.float64).reshape(-1, 4) for f in frames]
        return ids, boxes
    gi, gb = split(gt)
    pi, pb = split(pred)
    return {"gt_ids": gi, "gt_boxes": gb, "pred_ids": pi, "pred_boxes": pb}


def _two_objects(n=8):
    return [[(1, _box(10 + 5 * t, 10)), (2, _box(100 - 5 * t, 60))] for t in range(n)]


def _random_seq(seed, frames=25, objects=6):
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, 200, (objects, 2))
    gt, pred = [], []
    for t in range(frames):
        g, p = [], []
        for k in range(objects):
            if rng.random() < 0.8:
                b = _box(*(start[k] + 2 * t))
                g.append((k, b))
                if rng.random() < 0.85:
                    pid = k if t < frames // 2 else (k + 1) % objects
                    p.append((pid + 10 * (t // 8 == 1 and k == 0), list(np.add(b, rng.normal(0, 3, 4)))))
        for j in range(2):
            p.append((100 + j + t % 3 * 5, _box(*rng.uniform(0, 250, 2))))
        ids = [i for i, _ in p]
        p = [x for n, x in enumerate(p) if ids.index(x[0]) == n]  # unique ids per frame
        gt.append(g)
        pred.append(p)
    return _seq(gt, pred)


CASES = {
    "perfect": lambda: {"a": _seq(_two_objects(), _two_objects())},
    "empty_predictions": lambda: {"a": _seq(_two_objects(), [[] for _ in range(8)])},
    "empty_ground_truth": lambda: {"a": _seq([[] for _ in range(8)], _two_objects())},
    "identity_switch": lambda: {"a": _seq(_two_objects(), [[(1 if t < 4 else 2, b1), (2 if t < 4 else 1, b2)]
                                                            for t, ((_, b1), (_, b2)) in enumerate(_two_objects())])},
    "fragmented": lambda: {"a": _seq(_two_objects(10), [[(1 + 10 * (t // 3), b1), (2, b2)] if t % 4 != 2 else []
                                                         for t, ((_, b1), (_, b2)) in enumerate(_two_objects(10))])},
    "fp_separate_ids": lambda: {"a": _seq(_two_objects(), [f + [(50 + t, _box(300, 300))]
                                                          for t, f in enumerate(_two_objects())])},
    "fp_shared_ids": lambda: {"a": _seq(_two_objects(), [f if t < 5 else [f[0], (2, _box(300, 300))]
                                                        for t, f in enumerate(_two_objects())])},
    # IoU = k/100 exactly on each alpha: gt 100x1 strip, prediction k x 1
    "iou_on_threshold": lambda: {"a": _seq([[(1, [0.0, 0.0, 100.0, 1.0])] for _ in range(19)],
                                           [[(1, [0.0, 0.0, float(5 * (k + 1)), 1.0])] for k in range(19)])},
    "zero_area_gt": lambda: {"a": _seq([[(1, _box(10, 10, 0.0, 20.0)), (2, _box(50, 50))] for _ in range(5)],
                                       [[(1, _box(10, 10, 0.0, 20.0)), (2, _box(52, 50))] for _ in range(5)])},
    "several_sequences": lambda: {f"s{i}": _random_seq(i) for i in range(3)},
}


def _compare(ours, ref):
    for field, value in ref["HOTA"].items():
        np.testing.assert_allclose(ours["hota"][field], value, rtol=0, atol=TOL, err_msg=field)
    for field in CLEAR_FIELDS:
        assert ours["clear"][field] == pytest.approx(ref["CLEAR"][field], abs=TOL), field
    for field in ID_FIELDS:
        assert ours["clear"][field] == pytest.approx(ref["Identity"][field], abs=TOL), field


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_trackeval(case):
    seqs = CASES[case]()
    _compare(evaluate_sequences(seqs), trackeval_on_sequences(seqs))


def test_random_sequences_match_trackeval():
    for seed in range(10, 14):
        seqs = {"r": _random_seq(seed, frames=15, objects=5)}
        ours = evaluate_sequences(seqs, with_clear=False)
        ref = trackeval_on_sequences(seqs, metrics=("HOTA",))
        for field, value in ref["HOTA"].items():
            np.testing.assert_allclose(ours["hota"][field], value, rtol=0, atol=TOL, err_msg=f"{seed} {field}")


def test_semantics_perfect_and_switch():
    perfect = evaluate_sequences(CASES["perfect"]())
    assert perfect["summary"]["OWTA"] == pytest.approx(1.0)
    assert perfect["summary"]["MOTA"] == pytest.approx(1.0)
    switched = evaluate_sequences(CASES["identity_switch"]())
    assert switched["summary"]["DetRe"] == pytest.approx(1.0)  # detection is perfect ...
    assert switched["summary"]["AssA"] == pytest.approx(1 / 3)  # ... association halves each track
    assert switched["summary"]["IDSW"] == 2


def test_owta_is_mean_of_per_alpha_and_fps_are_free():
    res = evaluate_sequences(CASES["fp_separate_ids"](), with_clear=False)
    per_alpha = np.sqrt(res["hota"]["DetRe"] * res["hota"]["AssA"])
    assert res["summary"]["OWTA"] == pytest.approx(per_alpha.mean())
    assert res["summary"]["OWTA"] == pytest.approx(1.0)  # unmatched false positives cost OWTA nothing
    assert res["summary"]["HOTA"] < 0.95  # but HOTA pays for them
    assert len(res["alphas"]) == len(ALPHAS) == 19


def test_combination_is_tp_weighted_not_mean_of_sequences():
    seqs = {"big": _random_seq(1, frames=30), "small": _seq(_two_objects(2), [[] for _ in range(2)])}
    res = evaluate_sequences(seqs, with_clear=False)
    per = res["per_sequence"]
    assert res["summary"]["AssA"] == pytest.approx(per["big"]["summary"]["AssA"])  # small has no TP: no weight
    assert res["summary"]["DetRe"] < per["big"]["summary"]["DetRe"]  # but its misses count


def test_bad_sequence_input_is_rejected():
    seq = _seq(_two_objects(2), _two_objects(2))
    seq["pred_ids"][1] = np.array([1, 1])
    with pytest.raises(EvalInputError, match="appears more than once"):
        evaluate_sequences({"x": seq})
    seq = _seq(_two_objects(2), _two_objects(2))
    del seq["gt_boxes"]
    with pytest.raises(EvalInputError, match="missing gt_boxes"):
        evaluate_sequences([seq])
