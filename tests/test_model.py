"""EffOWT.predict: shapes, order, and the score filter in front of the embedding head."""
import torch

from efftrack.models.builder import build_model

CFG = dict(backbone=dict(model_name="tiny", model_cfg="configs/models/tiny_resnet.json"), input_size=(64, 96),
           side=dict(out_channels=32, fused_channels=32), proposal_head=dict(feat_channels=32),
           embedding_head=dict(dim=16), topk=50)


def test_predict_filters_before_embedding_without_changing_the_kept_results():
    model = build_model(CFG).eval()
    images = torch.rand(2, 3, 64, 96)
    full = model.predict(images)
    threshold = float(full[0]["scores"].median())
    kept = model.predict(images, min_score=threshold)
    for a, b in zip(full, kept):
        assert a["boxes"].shape[0] <= 50 and a["embeddings"].shape == (a["boxes"].shape[0], 16)
        assert torch.all(a["scores"][:-1] >= a["scores"][1:])
        m = a["scores"] >= threshold
        assert torch.equal(b["boxes"], a["boxes"][m]) and torch.allclose(b["embeddings"], a["embeddings"][m])
    assert kept[0]["boxes"].shape[0] < full[0]["boxes"].shape[0]
    assert torch.allclose(full[0]["embeddings"].norm(dim=1), torch.ones(len(full[0]["boxes"])), atol=1e-5)
