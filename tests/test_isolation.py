"""Isolation: an unexpected exception while processing one item becomes one
``processor_error`` quarantine row (traceback in a private log), the other items of the chunk
still publish, and the run completes; each input ends with a status row in items.parquet."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engine.config import load_config
from engine.pipeline import run_build
from tests.helpers import write_config

SHAPE, SPACING = [48, 40, 30], [8.0, 8.0, 10.0]
SOURCES = {
    "radiograph": (
        {"kind": "synthetic_cxr", "n_images": 6, "image_size": 96},
        "sources.radiograph.process.build_grounding_records",
    ),
    "ct": (
        {"kind": "synthetic_ct", "n_cases": 2, "shape": SHAPE, "spacing": SPACING},
        "sources.ct.process.build_structures",
    ),
    "pet": (
        {"kind": "synthetic_pet", "n_exams": 2, "n_lesions": 2, "seed": 3},
        "sources.pet.exam.label_exam",
    ),
}


def _fail_first_call(monkeypatch: pytest.MonkeyPatch, target: str) -> list[int]:
    """Make the processor's step raise on its first call only; returns the call counter."""
    module_name, name = target.rsplit(".", 1)
    module = __import__(module_name, fromlist=[name])
    real = getattr(module, name)
    calls = [0]

    def flaky(*args, **kwargs):
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("injected failure for the isolation test")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)
    return calls


def _build(tmp_path: Path, source: dict):
    cfg = write_config(
        tmp_path / "build.yaml",
        [source],
        privacy={"salt": "isolation-tests"},
        records={"sequences": False},
        chunk_size=16,  # every item in one chunk: the failure must not take the chunk down
    )
    out = tmp_path / "out"
    report = run_build(load_config(cfg), out)
    tables = out / "_build" / "tables"
    return (
        report,
        pq.read_table(tables / "quarantine.parquet").to_pylist(),
        pq.read_table(tables / "items.parquet").to_pylist(),
        out,
    )


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_one_failing_item_is_one_processor_error_row(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = SOURCES[kind]
    calls = _fail_first_call(monkeypatch, target)
    report, quarantine, items, out = _build(tmp_path, source)

    errors = [q for q in quarantine if q["reason"] == "processor_error"]
    assert len(errors) == 1, errors
    assert "RuntimeError: injected failure" in errors[0]["message"]
    assert errors[0]["stage"] == "read" and errors[0]["unit"] == "item"
    assert calls[0] >= 2  # the other items of the chunk were processed after the failure
    log = (out / "_build" / "logs" / "processor_errors.log").read_text()
    assert "Traceback" in log and "injected failure" in log

    failed = [i for i in items if i["reason"] == "processor_error"]
    assert len(failed) == 1 and failed[0]["status"] == "quarantined"
    assert failed[0]["source_file"] == errors[0]["source_ref"]
    published = [i for i in items if i["status"] == "published"]
    assert published and all(i["n_records"] > 0 for i in published)
    assert report.stats["flow"]["records_published"] > 0
    assert report.stats["flow"]["items_named"] == len(items)


def test_without_failure_no_processor_error(tmp_path: Path) -> None:
    _, quarantine, items, _ = _build(tmp_path, SOURCES["radiograph"][0])
    assert not [q for q in quarantine if q["reason"] == "processor_error"]
    assert {i["status"] for i in items} == {"published"}
