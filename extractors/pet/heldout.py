"""A held-apart set for the SUV mention reader: PET/CT report passages with their gold
values, written (2026-12-01) before the rules of issue 11 were changed and never edited to
fit them. The rules are written against the tests of ``tests/extractors/test_pet_report.py``;
this set only measures them (``medsg bench pet`` prints its figures).

Passages paraphrase phrasings of public PET/CT reports and case write-ups (journal case
reports, teaching-file reports, patient forums quoting reports); numbers are invented. Gold per
value: ``(suv, role, slice)``; role "lesion", "prior", "reference" or "physiologic" (uptake
the text itself calls physiologic or inflammatory); slice None where the text gives no axial
slice for that value."""

from __future__ import annotations

Gold = tuple[float, str, int | None]

HELDOUT: list[tuple[str, list[Gold]]] = [
    (
        "Hypermetabolic right paratracheal node measuring 1.4 cm with SUVmax 6.8 "
        "(series 4, image 71).",
        [(6.8, "lesion", 71)],
    ),
    (
        "Bilateral hilar nodes with SUV max of 5.2 and 4.7 respectively "
        "(series 3, images 102 and 106 respectively).",
        [(5.2, "lesion", 102), (4.7, "lesion", 106)],
    ),
    (
        "There is a 2.3 cm hypodense lesion in segment 7 of the liver (series 2, image 133). "
        "Its SUVmax is 9.4.",
        [(9.4, "lesion", 133)],
    ),
    (
        "Lesion: left lower lobe mass\nSUVmax: 11.30\nSUVmean: 6.10\nSlice of max: 188",
        [(11.3, "lesion", 188), (6.1, "lesion", 188)],
    ),
    ("Left iliac crest lytic lesion, S U V max 7.9, image 241.", [(7.9, "lesion", 241)]),
    ("Right axillary node with SVUmax 3.8 on image 97.", [(3.8, "lesion", 97)]),
    (
        "The pancreatic head mass has SUVmax 8.1 at 60 minutes, increasing to 9.6 on delayed "
        "imaging (image 160).",
        [(8.1, "lesion", 160), (9.6, "lesion", 160)],
    ),
    (
        "Left supraclavicular node, SUVmax 4.4 (image 42), was 7.1 on the baseline scan.",
        [(4.4, "lesion", 42), (7.1, "prior", None)],
    ),
    (
        "In retrospect on the first study this right lung nodule had an SUV of 1.9; it now "
        "measures SUVmax 5.5 on image 88.",
        [(1.9, "prior", None), (5.5, "lesion", 88)],
    ),
    (
        "Mediastinal blood SUVmean 1.7 and liver SUVmean 2.5 for reference.",
        [(1.7, "reference", None), (2.5, "reference", None)],
    ),
    ("Spleen SUVmax 2.4, within normal limits.", [(2.4, "reference", None)]),
    (
        "Focal uptake in the cecum, SUVmax 6.2 (image 210), favoured physiologic.",
        [(6.2, "physiologic", 210)],
    ),
    (
        "Uptake at the right glenohumeral joint with SUV max 3.9 (image 58), in keeping with "
        "inflammatory arthropathy.",
        [(3.9, "physiologic", 58)],
    ),
    (
        "Right lower lobe mass SUVmax 14.2 on axial image 121 (previously 10.3 in June 2024).",
        [(14.2, "lesion", 121), (10.3, "prior", None)],
    ),
    (
        "Two left cervical level III nodes with SUVmax values of 3.1 and 4.6 on images 30 and "
        "34, respectively.",
        [(3.1, "lesion", 30), (4.6, "lesion", 34)],
    ),
    (
        "A sclerotic focus in the T10 vertebral body (image 140) demonstrates SUVmax 5.8.",
        [(5.8, "lesion", 140)],
    ),
    ("Physiologic bowel activity up to SUV 5.0 is noted.", [(5.0, "physiologic", None)]),
    (
        "Left adrenal nodule, SUV max 2.6, less than the patient's liver (SUV max 3.0 "
        "measured on image 118).",
        [(2.6, "lesion", None), (3.0, "reference", 118)],
    ),
    (
        "The dominant right hepatic lesion (slice 155) has an SUVmax of 12.0, compared to "
        "16.4 previously.",
        [(12.0, "lesion", 155), (16.4, "prior", None)],
    ),
    (
        "Subcarinal node SUVmax 4.0, slice 99, unchanged over several studies and likely reactive.",
        [(4.0, "physiologic", 99)],
    ),
    (
        "Postoperative changes in the right breast with SUVmax 2.9 (image 77), consistent with "
        "post-treatment inflammation.",
        [(2.9, "physiologic", 77)],
    ),
    (
        "New hypermetabolic right femoral lesion with an SUV max of 6.6 on image 300.",
        [(6.6, "lesion", 300)],
    ),
    (
        "Blood pool SUVmax 2.0. Liver SUVmax 3.1. Right inguinal node SUVmax 5.4 (image 280).",
        [(2.0, "reference", None), (3.1, "reference", None), (5.4, "lesion", 280)],
    ),
    (
        "A 9 mm left upper lobe nodule is seen (series 5, image 66). The nodule demonstrates an "
        "SUV max of 2.7.",
        [(2.7, "lesion", 66)],
    ),
    (
        "Retroperitoneal node with SUV 7.3 on slice 170 (SUV 7.9 on the prior examination).",
        [(7.3, "lesion", 170), (7.9, "prior", None)],
    ),
    (
        "Right parotid focus, SUVmax 5.1 on image 18, previously SUVmax 5.0, likely a Warthin "
        "tumour.",
        [(5.1, "lesion", 18), (5.0, "prior", None)],
    ),
    (
        "Gastric wall uptake with SUV max of 4.2 (image 150), well above blood pool.",
        [(4.2, "lesion", 150)],
    ),
    (
        "Max SUV of the left level II node is 8.8 (image 25). Contralateral normal tonsil "
        "measures SUV 3.4.",
        [(8.8, "lesion", 25), (3.4, "reference", None)],
    ),
    (
        "Pleural based right mass: SUVmax 10.5 at 1 hour and 13.1 at 2 hours, image 115.",
        [(10.5, "lesion", 115), (13.1, "lesion", 115)],
    ),
    (
        "Hypermetabolic left axillary node on image 84 with SUVmax 3.6, and left subpectoral "
        "node on image 90 with SUVmax 2.8.",
        [(3.6, "lesion", 84), (2.8, "lesion", 90)],
    ),
]
