"""Segmentation and detection datasets of any 2D modality as grounding data: 2D images with
mask files (``image_masks``), COCO JSON (``coco``). Boxes come from masks through
``extractors.masks``; images are decoded (in colour where the modality keeps it) and
turned into records by the 2D image processor (``sources.radiograph.process``)."""
