"""TAO-OW category subsets, exactly as TrackEval's `tao_ow.py` hard-codes them.

Category ids are TAO ids. ``KNOWN_IDS`` are the 78 TAO categories that match COCO classes,
``DISTRACTOR_IDS`` the 45 from "Opening up Open-World Tracking"; every other id below
``MAX_CATEGORY_ID`` is unknown. The synthetic benchmark draws its known category ids from
``KNOWN_IDS`` and its unknown ones from the unknown range, so TrackEval scores it unchanged.
"""
from __future__ import annotations

MAX_CATEGORY_ID = 2000  # TrackEval: "larger than the max category id in TAO-OW"

KNOWN_IDS = frozenset({
    4, 13, 1038, 544, 1057, 34, 35, 36, 41, 45, 58, 60, 579, 1091, 1097, 1099, 78, 79, 81, 91, 1115,
    1117, 95, 1122, 99, 1132, 621, 1135, 625, 118, 1144, 126, 642, 1155, 133, 1162, 139, 154, 174, 185,
    699, 1215, 714, 717, 1229, 211, 729, 221, 229, 747, 235, 237, 779, 276, 805, 299, 829, 852, 347,
    371, 382, 896, 392, 926, 937, 428, 429, 961, 452, 979, 980, 982, 475, 480, 993, 1001, 502, 1018,
})

DISTRACTOR_IDS = frozenset({
    20, 63, 108, 180, 188, 204, 212, 247, 303, 403, 407, 415, 490, 504, 507, 513, 529, 567,
    569, 588, 672, 691, 702, 708, 711, 720, 736, 737, 798, 813, 815, 827, 831, 851, 877, 883,
    912, 971, 976, 1130, 1133, 1134, 1169, 1184, 1220,
})

UNKNOWN_IDS = frozenset(range(1, MAX_CATEGORY_ID)) - KNOWN_IDS - DISTRACTOR_IDS

SUBSETS = ("all", "known", "unknown", "distractor")


def subset_ids(subset: str) -> frozenset:
    """Category ids of a TAO-OW subset ('all' means every id TrackEval considers)."""
    table = {"known": KNOWN_IDS, "unknown": UNKNOWN_IDS, "distractor": DISTRACTOR_IDS,
             "all": KNOWN_IDS | UNKNOWN_IDS | DISTRACTOR_IDS}
    if subset not in table:
        raise ValueError(f"unknown TAO-OW subset {subset!r}; choose one of {', '.join(SUBSETS)}")
    return table[subset]


def subset_of(category_id: int) -> str:
    """'known', 'distractor' or 'unknown' for one TAO category id."""
    if category_id in KNOWN_IDS:
        return "known"
    if category_id in DISTRACTOR_IDS:
        return "distractor"
    return "unknown"
