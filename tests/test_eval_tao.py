"""TAO-OW evaluation against TrackEval's TAO_OW dataset run end to end, plus input validation."""
import copy
import json

import numpy as np
import pytest

from helpers_trackeval import trackeval_tao_ow
from efftrack.evaluation.synthetic import make_tao

from efftrack.evaluation import EvalInputError, available_subsets, evaluate_tao_ow
from efftrack.evaluation.tao_ow import limit_detections, unique_track_ids

SUBSETS = ("all", "known", "unknown", "distractor")


@pytest.mark.parametrize("max_dets,extra", [(300, 0), (6, 5)])
def test_all_four_subsets_match_trackeval(tmp_path, max_dets, extra):
    gt, preds = make_tao(seed=3, extra_dets=extra)
    ours = evaluate_tao_ow(copy.deepcopy(gt), copy.deepcopy(preds), subsets=SUBSETS, max_dets=max_dets)
    for subset in SUBSETS:
        ref = trackeval_tao_ow(tmp_path, copy.deepcopy(gt), copy.deepcopy(preds), subset=subset, max_dets=max_dets)
        for field, value in ref.items():
            np.testing.assert_allclose(ours[subset]["hota"][field], value, rtol=0, atol=1e-9,
                                       err_msg=f"{subset} {field}")
    assert ours["known"]["num_gt_dets"] + ours["unknown"]["num_gt_dets"] + ours["distractor"]["num_gt_dets"] \
        == ours["all"]["num_gt_dets"]


def test_paths_and_loaded_objects_agree(tmp_path):
    gt, preds = make_tao(seed=4)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "pred.json").write_text(json.dumps(preds))
    a = evaluate_tao_ow(str(tmp_path / "gt.json"), tmp_path / "pred.json", subsets=("known", "unknown"))
    b = evaluate_tao_ow(gt, preds, subsets=("known", "unknown"))
    assert set(a) == {"known", "unknown"}
    for s in a:
        np.testing.assert_array_equal(a[s]["hota"]["OWTA"], b[s]["hota"]["OWTA"])


def test_split_recorded_in_ground_truth():
    gt, preds = make_tao(seed=5)
    for c in gt["categories"]:
        c["split"] = {"known": "seen", "unknown": "novel"}.get(c["split"], c["split"])
    assert {"seen", "novel"} <= set(available_subsets(gt))
    res = evaluate_tao_ow(gt, preds, subsets=("seen", "novel", "known", "unknown"))
    np.testing.assert_array_equal(res["seen"]["hota"]["OWTA"], res["known"]["hota"]["OWTA"])
    np.testing.assert_array_equal(res["novel"]["hota"]["OWTA"], res["unknown"]["hota"]["OWTA"])
    with pytest.raises(EvalInputError, match="unknown subset 'bogus'.*novel"):
        evaluate_tao_ow(gt, preds, subsets="bogus")


def test_only_frames_with_subset_ground_truth_are_scored():
    gt, preds = make_tao(seed=6, fp_per_frame=0)
    base = evaluate_tao_ow(gt, preds, subsets="known")["known"]
    stray_image = max(im["id"] for im in gt["images"]) + 1
    gt["images"].append({"id": stray_image, "video_id": gt["videos"][0]["id"], "frame_index": 999})
    preds = preds + [{"image_id": stray_image, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 1.0, "track_id": 1}]
    again = evaluate_tao_ow(gt, preds, subsets="known")["known"]
    assert again["num_pred_dets"] == base["num_pred_dets"]
    np.testing.assert_array_equal(again["hota"]["HOTA"], base["hota"]["HOTA"])


def test_limit_keeps_highest_scores_in_stable_order():
    image = np.array([7, 7, 3, 7, 7, 3])
    score = np.array([0.1, 0.9, 0.5, 0.9, 0.2, 0.4])
    kept = limit_detections(image, score, max_dets=2)
    assert kept.tolist() == [1, 3, 2, 5]  # image 7 first (first seen), ties keep file order; image 3 untouched
    assert limit_detections(image, score, max_dets=0).tolist() == [0, 1, 3, 4, 2, 5]


def test_track_ids_shared_by_videos_are_split():
    track = np.array([5, 5, 9, 5, 9])
    video = np.array([1, 1, 1, 2, 1])
    assert unique_track_ids(track, video).tolist() == [10, 10, 9, 11, 9]


def _error(gt, preds):
    with pytest.raises(EvalInputError) as info:
        evaluate_tao_ow(gt, preds, subsets="all")
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_bad_predictions_name_the_first_offending_record():
    gt, preds = make_tao(seed=7)
    p = copy.deepcopy(preds)
    p[3]["image_id"] = 99999
    assert "record 3" in _error(gt, p) and "unknown image_id 99999" in _error(gt, p)
    p = copy.deepcopy(preds)
    p[4]["video_id"] = 4242
    assert "record 4" in _error(gt, p) and "unknown video_id 4242" in _error(gt, p)
    p = copy.deepcopy(preds)
    del p[2]["score"]
    assert "record 2 is missing field 'score'" in _error(gt, p)
    p = copy.deepcopy(preds)
    p[6]["track_id"] = -3
    assert "record 6" in _error(gt, p) and "negative track_id" in _error(gt, p)
    p = copy.deepcopy(preds)
    p[5]["bbox"] = [1.0, float("nan"), 3.0, 4.0]
    assert "record 5" in _error(gt, p) and "NaN" in _error(gt, p)
    p = copy.deepcopy(preds)
    p.append(dict(p[1]))
    assert f"record {len(p) - 1}: track_id {p[1]['track_id']} appears twice" in _error(gt, p)


def test_bad_ground_truth_and_files(tmp_path):
    gt, preds = make_tao(seed=8)
    g = copy.deepcopy(gt)
    g["annotations"][2]["image_id"] = 12345
    assert "annotation 2 refers to unknown image_id 12345" in _error(g, preds)
    g = copy.deepcopy(gt)
    del g["images"]
    assert "missing 'images'" in _error(g, preds)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert "not valid JSON" in _error(str(bad), preds)
    assert "not found" in _error(str(tmp_path / "missing.json"), preds)


def test_split_contradicting_trackeval_ids_warns():
    gt, preds = make_tao(seed=9)
    gt["categories"][0]["split"] = "unknown"  # id 4 is a TrackEval 'known' id
    with pytest.warns(UserWarning, match=r"categories \[4\].*follows the id lists"):
        evaluate_tao_ow(gt, preds, subsets="known")


def test_videos_sharing_a_name_are_both_scored():
    gt, preds = make_tao(seed=10)
    base = evaluate_tao_ow(gt, preds, subsets="all")["all"]
    for v in gt["videos"]:
        v["name"] = "same"
    again = evaluate_tao_ow(gt, preds, subsets="all")["all"]
    assert again["num_sequences"] == base["num_sequences"] == len(gt["videos"])
    np.testing.assert_allclose(again["hota"]["OWTA"], base["hota"]["OWTA"], atol=1e-12)
