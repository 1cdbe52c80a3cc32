"""The embedded demo's CT sources: radiographs projected from the real TotalSegmentator
example CT and from generated chest phantoms, published with anatomy grounding and report
chains of thought that ``datasets.load_dataset`` reads; every CT case accounted for."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from shards.load_release import load_records

pytestmark = [pytest.mark.realdata, pytest.mark.prefect]
CT_SOURCES = ("totalseg_example", "synthetic_ct")


def rows(out: str, config: str) -> list[dict]:
    return [
        row
        for split in ("train", "validation", "test")
        if (Path(out) / config / split).is_dir()
        for row in load_records(out, config, split)
        if row["json"]["provenance"]["source_dataset"] in CT_SOURCES
    ]


def test_ct_records_load(demo_release: dict) -> None:
    grounding = rows(demo_release["out"], "grounding")
    cot = rows(demo_release["out"], "cot")
    by_source = {
        s: [r for r in grounding if r["json"]["provenance"]["source_dataset"] == s]
        for s in CT_SOURCES
    }
    assert all(by_source.values()), {s: len(v) for s, v in by_source.items()}
    real = by_source["totalseg_example"]
    # the real CT: anatomy grounding only (no report), on both views, liver on the left half
    assert {r["json"]["image"]["view"] for r in real} == {"frontal", "lateral"}
    liver = [
        r
        for r in real
        if r["json"]["label"] == "anatomy:liver" and r["json"]["image"]["view"] == "frontal"
    ]
    b = liver[0]["json"]["answer_boxes"][0]
    assert (b["x1"] + b["x2"]) / 2 < 0.5
    assert cot and all(r["json"]["provenance"]["source_dataset"] == "synthetic_ct" for r in cot)
    for r in cot:
        steps = r["json"]["steps"]
        assert [s["kind"] for s in steps] == ["locate", "conclude"] and steps[0]["boxes"]
        assert r["png"].size == (r["json"]["image"]["width"], r["json"]["image"]["height"])


def test_ct_cases_accounted_for(demo_release: dict) -> None:
    out = Path(demo_release["out"])
    studies = pq.read_table(out / "_build" / "tables" / "studies.parquet").to_pylist()
    quarantine = pq.read_table(out / "_build" / "tables" / "quarantine.parquet").to_pylist()
    ct = [s for s in studies if s["source_dataset"] in CT_SOURCES]
    drr = [s for s in ct if s["modality"] == "DRR"]
    assert len(drr) == 2 * (1 + 3) and {s["modality"] for s in ct} == {"DRR", "CT"}
    assert not [q for q in quarantine if q["source_dataset"] in CT_SOURCES]
