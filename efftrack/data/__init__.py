"""Data in and out of efftrack: datasets, transforms, synthetic benchmark, video sources, writers.

Submodules (import what you need; nothing heavy is imported here):
    mot          read_mot_txt, write_mot_txt, MotFormatError
    annotations  load_annotations (checked COCO / COCO-video JSON), read_image_rgb
    tao          TaoPairDataset, TaoVideos
    coco         CocoPseudoPairDataset
    views        collate_pairs, make_view
    transforms   Letterbox, RandomFlip, ScaleJitter, RandomCrop, ColorJitter, Compose,
                 letterbox, unletterbox_boxes
    synthetic    generate_dataset, make_categories
    video        open_source, Frame
    writers      MotWriter, TaoJsonWriter, AnnotatedVideoWriter
    errors       DatasetFormatError, MissingImageError, VideoSourceError
    tao_ow_ids   KNOWN_IDS, UNKNOWN_IDS, DISTRACTOR_IDS, subset_of
"""
