"""Sequence records that set images of different patients side by side:

- concept: a finding boxed on one patient's image, the same kind of finding found on
  another patient's image;
- referring: three images, the named finding on exactly one of them (the others state it
  absent), say which and where.

Images are only combined within one source dataset (one licence) and one split (so no
patient crosses splits), in a seeded order."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from extractors.ct.taxonomy import BY_ID
from records.ct_anatomy import ANATOMY_PREFIX
from records.sequences.common import image_box, kind_word, make_sequence
from records.sequences.radiograph import EXTRACTOR, VERSION
from schemas.enums import MedSGTask
from schemas.records import Finding, Provenance, SequenceRecord, Study
from schemas.vocab import phrase


def target_words(label: str) -> str:
    """How questions name a finding label, or a structure (``anatomy:<id>`` labels)."""
    if label.startswith(ANATOMY_PREFIX):
        sid = label[len(ANATOMY_PREFIX) :]
        return BY_ID[sid].name if sid in BY_ID else sid.replace("_", " ")
    return phrase(label)


MAX_PER_TASK = 100  # per source dataset and task


def _rng(seed: int, *parts: str) -> np.random.Generator:
    digest = hashlib.sha256("/".join([str(seed), *parts]).encode()).hexdigest()
    return np.random.default_rng(int(digest[:16], 16))


def _provenance(first: Study, findings: Sequence[Finding]) -> Provenance:
    return Provenance.of(first, EXTRACTOR, VERSION, min(f.confidence for f in findings))


def across_sequences(
    studies: Sequence[Study], findings: Sequence[Finding], *, seed: int
) -> list[SequenceRecord]:
    by_id = {s.study_id: s for s in studies}
    # (dataset, split, view, label) -> study id -> that study's findings of the label
    present: dict[tuple, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    absent: dict[tuple, dict[str, Finding]] = defaultdict(dict)
    for f in findings:
        study = by_id.get(f.study_id)
        if study is None:
            continue
        key = (study.source_dataset, study.split, study.view or "", f.label)
        if f.present and f.box is not None:
            present[key][f.study_id].append(f)
        elif not f.present:
            absent[key][f.study_id] = f
    records: list[SequenceRecord] = []
    counts: dict[tuple[str, str], int] = defaultdict(int)

    for key in sorted(present):
        dataset, _split, _view, label = key
        single = sorted(sid for sid, fs in present[key].items() if len(fs) == 1)
        rng = _rng(seed, "concept", *key)
        order = [single[i] for i in rng.permutation(len(single))]
        for a, b in zip(order[::2], order[1::2], strict=False):
            if counts[(dataset, "concept")] >= MAX_PER_TASK:
                break
            if by_id[a].patient_id == by_id[b].patient_id:
                continue
            fa, fb = present[key][a][0], present[key][b][0]
            records.append(
                make_sequence(
                    MedSGTask.CONCEPT,
                    [by_id[a], by_id[b]],
                    question=[image_box(0, fa.box.box, label)],  # type: ignore[union-attr]
                    answer=[image_box(1, fb.box.box, label)],  # type: ignore[union-attr]
                    slots={"target": target_words(label), "kind": kind_word(label)},
                    id_parts=(label,),
                    seed=seed,
                    provenance=_provenance(by_id[a], [fa, fb]),
                )
            )
            counts[(dataset, "concept")] += 1

        negatives = sorted(absent.get(key, {}))
        if len(negatives) < 2:
            continue
        rng = _rng(seed, "referring", *key)
        for sid in single:
            if counts[(dataset, "referring")] >= MAX_PER_TASK:
                break
            others = [n for n in negatives if by_id[n].patient_id != by_id[sid].patient_id]
            if len(others) < 2:
                continue
            picked = [others[i] for i in rng.choice(len(others), size=2, replace=False)]
            shown_ids = [[sid, *picked][i] for i in rng.permutation(3)]
            target = shown_ids.index(sid)
            f = present[key][sid][0]
            records.append(
                make_sequence(
                    MedSGTask.REFERRING,
                    [by_id[s] for s in shown_ids],
                    answer=[image_box(target, f.box.box, label)],  # type: ignore[union-attr]
                    slots={"target": target_words(label), "kind": kind_word(label)},
                    id_parts=(label,),
                    seed=seed,
                    provenance=_provenance(
                        by_id[shown_ids[0]], [f, *(absent[key][n] for n in picked)]
                    ),
                )
            )
            counts[(dataset, "referring")] += 1
    return records
