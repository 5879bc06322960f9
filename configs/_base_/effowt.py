# The EffOWT model: frozen open_clip tower -> hybrid side network -> class-agnostic proposals + embeddings.
# Recipes (tao_owt.py, synthetic_owt.py) inherit this file and set the backbone, data and schedule.
model = dict(
    backbone=dict(model_name='ViT-B-16', pretrained='openai', model_cfg=None, taps=None),
    side=dict(reduction=8, stage_pattern=('conv', 'sim', 'conv', 'sim'), out_strides=(8, 16, 32)),
    proposal_head=dict(num_convs=2, feat_channels=96),  # light: side + heads stay near 1% of ViT-B-16
    embedding_head=dict(dim=128, roi_size=7),
    input_size=(384, 640),  # (h, w) letterbox size; multiples of the backbone's largest stride
    topk=300,               # proposals kept per frame (TAO-OW scores at most 300 per image)
    nms_iou=0.7,
    score_thr=0.0,
    train_proposals=256,
    embed_rois=128,
    loss_weights=dict(loss_obj=1.0, loss_box=2.0, loss_embed=0.25, loss_aux=1.0),
)

# Online association (efftrack.tracking.Tracker keyword arguments).
tracker = dict(high_thr=0.5, low_thr=0.1, new_track_thr=0.6, appearance_weight=0.5, min_hits=1,
               max_lost_seconds=1.0, fps=30.0)

train = dict(
    max_iters=1000, batch_size=2, lr=2e-4, weight_decay=0.05, warmup_iters=50, lr_policy='cosine',
    grad_clip=10.0, log_interval=10, ckpt_interval=200, max_keep_ckpts=3, val_interval=0, num_workers=2,
)
