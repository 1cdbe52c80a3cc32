"""The embedded demo's PET/CT part (generated phantom exams, no real data needed): its
grounding and CoT records load with ``datasets.load_dataset`` and every report mention is
a label or a quarantine row."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

pytestmark = [pytest.mark.realdata, pytest.mark.prefect]


def _rows(out: Path, config: str) -> list[dict]:
    rows = []
    for split in ("train", "validation", "test"):
        if (out / config / split).is_dir():
            ds = datasets.load_dataset(
                str(out), config, split=split, cache_dir=str(out.parent / f"hf-{config}")
            )
            rows += [r["json"] for r in ds]
    return [r for r in rows if r["provenance"]["source_dataset"] == "synthetic_pet"]


def test_demo_pet_records_and_mentions(demo_release: dict) -> None:
    out = Path(demo_release["out"])
    grounding, cot = _rows(out, "grounding"), _rows(out, "cot")
    corpus = out / "_build" / "generated" / "synthetic_pet"
    truth = [json.loads(p.read_text()) for p in sorted(corpus.rglob("truth.json"))]
    assert len(truth) == 3
    labels = sum(m["expected_reason"] is None for t in truth for m in t["mentions"])
    assert len(cot) == 3 * labels  # a chain of thought per label and curriculum level
    assert {r["curriculum_level"] for r in cot} == {"easy", "medium", "hard"}
    assert len(grounding) == 3 * labels + 3  # sentence (axial, MIP), phrase; all on the MIP
    assert {r["image"]["view"] for r in grounding} == {"axial", "coronal_mip"}
    quarantine = pq.read_table(out / "_build" / "tables" / "quarantine.parquet").to_pylist()
    rejected = Counter(q["reason"] for q in quarantine if q["unit"] == "mention")
    expected = Counter(m["expected_reason"] for t in truth for m in t["mentions"])
    del expected[None]
    assert rejected == expected
