"""Image-sequence records for the 8 MedSG-Bench tasks, and the wording they are asked in.

Per item (``radiograph``, ``ct``): tasks whose images come from one source item, some of
them made here with known geometry (edited copies, misaligned copies, crops, CT slices).
Across items (``across``): tasks that set images of several patients side by side
(``concept``, ``referring``), always within one split and one source dataset."""
