"""The typed config: env expansion, relative paths, clear errors naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ConfigError, load_config, parse_config


def test_embedded_demo_config_loads() -> None:
    cfg = load_config(None)
    assert [s.kind for s in cfg.sources] == [
        "nih_cxr14",
        "rsna_pneumonia",
        "siim_pneumothorax",
        "chexlocalize",
        "synthetic_cxr",
        "ct_projection",
        "synthetic_ct",
        "synthetic_pet",
        "nnunet",
        "volume_masks",
        "dicom_seg",
        *["image_masks"] * 5,
    ]
    assert all(s.optional for s in cfg.sources[-8:])  # the real segmentation samples
    assert cfg.runner.kind == "threads" and cfg.split.weights == (80, 10, 10)
    assert all(s.optional for s in cfg.sources[:4]) and not cfg.sources[4].optional
    assert cfg.sources[5].optional  # the real CT example


def test_relative_roots_resolve_against_config_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MY_DATA", "datasets")
    (tmp_path / "c.yaml").write_text(
        "sources:\n  - {kind: nih_cxr14, root: ${MY_DATA}/nih, labels_csv: a.csv}\n"
        "  - {kind: rsna_pneumonia, root: ${UNSET_VAR_XYZ:-/abs/rsna}, labels_csv: b.csv}\n"
    )
    cfg = load_config(tmp_path / "c.yaml")
    assert cfg.sources[0].root == tmp_path / "datasets" / "nih"
    assert cfg.sources[1].root == Path("/abs/rsna")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources: []", "sources: Value error, at least one source is required"),
        ("sources:\n  - {kind: mimic}", "sources.0: Input tag 'mimic'"),
        ("sources:\n  - {kind: synthetic_cxr, n_images: 0}", "sources.0.synthetic_cxr.n_images"),
        (
            "sources:\n  - {kind: synthetic_cxr}\nsplit: {train: 90, validation: 20, test: 10}",
            "split",
        ),
        ("sources:\n  - {kind: synthetic_cxr}\nchunk_sise: 3", "chunk_sise: Extra inputs"),
        (
            "sources:\n  - {kind: nih_cxr14, root: ${NOPE_NOT_SET}, labels_csv: x}",
            "${NOPE_NOT_SET}",
        ),
        ("sources: [", "not valid YAML"),
    ],
)
def test_errors_name_the_file_and_field(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, origin="my.yaml", base=Path("/tmp"))
    assert str(err.value).startswith("my.yaml: ")
    assert expected in str(err.value)


def test_missing_salt_env_is_an_error(monkeypatch) -> None:
    monkeypatch.delenv("MEDSG_TEST_SALT", raising=False)
    cfg = parse_config(
        "sources:\n  - {kind: synthetic_cxr}\nprivacy: {salt_env: MEDSG_TEST_SALT}",
        origin="x",
        base=Path("/tmp"),
    )
    with pytest.raises(ConfigError, match="MEDSG_TEST_SALT"):
        cfg.privacy.resolved_salt()
    monkeypatch.setenv("MEDSG_TEST_SALT", "s3cret")
    assert cfg.privacy.resolved_salt() == "s3cret"


def test_missing_config_file() -> None:
    with pytest.raises(ConfigError, match=r"config file not found: /no/such\.yaml"):
        load_config("/no/such.yaml")


def test_fingerprint_ignores_how_work_is_spread() -> None:
    base = "sources:\n  - {kind: synthetic_cxr}\n"
    a = parse_config(base, origin="a", base=Path("/tmp"))
    b = parse_config(base + "runner: {kind: dask}\nchunk_size: 3\n", origin="b", base=Path("/tmp"))
    c = parse_config(base + "records: {seed: 4}\n", origin="c", base=Path("/tmp"))
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
