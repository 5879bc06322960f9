# The GPU recipe: TAO-OW train (known classes only) + COCO class-agnostic pseudo-video pairs, on CLIP ViT-B/16.
# Data layout (download TAO and COCO yourself):
#   data/tao/annotations/train_ours.json, data/tao/annotations/validation_ours.json, data/tao/frames/...
#   data/coco/annotations/instances_train2017.json, data/coco/train2017/...
# Run:  torchrun --nproc_per_node 8 tools/train.py configs/tao_owt.py --launcher pytorch
_base_ = './_base_/effowt.py'

model = dict(
    backbone=dict(model_name='ViT-B-16', pretrained='openai', taps=(2, 5, 8, 11)),
    input_size=(512, 896),
    topk=300,
)

data = dict(
    train=[
        dict(type='tao', ann_file='data/tao/annotations/train_ours.json', img_root='data/tao/frames',
             subset='known', max_gap=30),
        dict(type='coco', ann_file='data/coco/annotations/instances_train2017.json', img_root='data/coco/train2017'),
    ],
    val=dict(ann_file='data/tao/annotations/validation_ours.json', img_root='data/tao/frames'),
)

tracker = dict(fps=1.0, max_lost_seconds=10.0)  # TAO validation frames are annotated at ~1 fps

train = dict(
    max_iters=24000, batch_size=4, lr=2e-4, weight_decay=0.05, warmup_iters=1000, lr_policy='step',
    lr_steps=(16000, 22000), ckpt_interval=2000, val_interval=4000, num_workers=4, log_interval=50,
)
