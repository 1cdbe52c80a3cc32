"""The compiled SUV mention reader (mypyc, ``extractors.pet.compiled``): used only when built
from the very sources on disk, and reading every text as the pure-Python source does."""

from __future__ import annotations

import dataclasses
import importlib.util
import random
import re
import sys
from pathlib import Path

import pytest

from extractors.pet import compiled
from extractors.pet.compiled import COMPILED_MODULES, compiled_folder, source_digest


def _package(tmp_path: Path) -> Path:
    package = tmp_path / "extractors" / "pet"
    package.mkdir(parents=True)
    for name in COMPILED_MODULES:
        (package / f"{name}.py").write_text(f"# {name}\n")
    return package


def _fake_build(package: Path) -> Path:
    folder = compiled.build_folder(package)
    folder.mkdir(parents=True)
    for name in compiled.extension_files():
        (folder / name).write_bytes(b"")
    return folder


def test_a_build_of_these_sources_is_found(tmp_path, monkeypatch):
    monkeypatch.delenv(compiled.READER_ENV, raising=False)
    package = _package(tmp_path)
    assert compiled_folder(package) is None  # (nothing built)
    folder = _fake_build(package)
    assert compiled_folder(package) == folder
    assert folder == tmp_path / "build" / "pet-reader" / source_digest(package) / "extractors/pet"


def test_a_build_of_other_sources_is_never_used(tmp_path, monkeypatch):
    monkeypatch.delenv(compiled.READER_ENV, raising=False)
    package = _package(tmp_path)
    _fake_build(package)
    before = source_digest(package)
    (package / "report.py").write_text("# report, edited\n")
    assert source_digest(package) != before
    assert compiled_folder(package) is None


def test_an_incomplete_build_or_the_python_setting_is_not_used(tmp_path, monkeypatch):
    monkeypatch.delenv(compiled.READER_ENV, raising=False)
    package = _package(tmp_path)
    folder = _fake_build(package)
    monkeypatch.setenv(compiled.READER_ENV, "python")
    assert compiled_folder(package) is None
    monkeypatch.delenv(compiled.READER_ENV)
    next(folder.glob("sentences__mypyc*")).unlink()
    assert compiled_folder(package) is None


def _source_module(name: str):
    """The pure-Python module of ``extractors.pet.<name>``, under a name of its own."""
    path = compiled.PACKAGE_DIR / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"extractors.pet._source_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (dataclasses and NamedTuples look their module up)
    spec.loader.exec_module(module)
    return module


def _texts() -> list[str]:
    """Phantom reports, the held-apart passages, this folder's PET test strings and
    recombinations of their sentences with inserted keywords, numbers and case changes."""
    from extractors.pet.heldout import HELDOUT
    from extractors.pet.phantom import generate_exam, synthetic_anatomy

    anatomy = synthetic_anatomy()
    texts = [generate_exam(anatomy, seed).report for seed in range(2000, 2012)]
    texts += [text for text, _ in HELDOUT]
    for path in sorted(Path(__file__).parent.glob("test_pet_report*.py")):
        texts += re.findall(r'"([^"\n]{12,})"', path.read_text())
    sentences = [s for t in texts for s in re.split(r"(?<=[.;])\s+|\n", t) if s.strip()]
    words = [
        "SUVmax",
        "SUV max",
        "S U V max",
        "SVUmax",
        "maximum SUV",
        "SUVmean",
        "slice",
        "image",
        "series",
        "(4:87)",
        "3/12/2019",
        "12:30 pm",
        "2.1 x 1.1 cm",
        "previously",
        "prior",
        "liver",
        "blood pool",
        "respectively",
        "coronal",
        "MIP",
        "left",
        "right",
        "Its SUVmax is",
        "\n\n",
        "é",
        "SUV\u2009max",
    ]
    rng = random.Random(11)
    for _ in range(1500):
        tokens = " ".join(rng.choice(sentences) for _ in range(rng.randint(1, 3))).split(" ")
        for _ in range(rng.randint(0, 4)):
            at = rng.randrange(len(tokens) + 1)
            tokens.insert(at, rng.choice([*words, str(round(rng.uniform(0, 300), 1))]))
        text = " ".join(tokens)
        texts.append(text.upper() if rng.random() < 0.1 else text)
    return texts


def test_the_compiled_reader_reads_as_the_source():
    from extractors.pet import report, sentences

    if str(report.__file__).endswith(".py"):
        pytest.skip(
            "the compiled PET reader is not built for these sources (make setup builds it: "
            "scripts/build_pet_reader.py) or MEDSG_PET_READER=python: nothing to compare"
        )
    source_report, source_sentences = _source_module("report"), _source_module("sentences")
    texts = _texts()
    assert len(texts) > 1500
    mentions = 0
    for text in texts:
        assert sentences.sentence_spans(text) == source_sentences.sentence_spans(text), text
        assert sentences.token_marks(text) == source_sentences.token_marks(text), text
        got = [dataclasses.astuple(m) for m in report.extract_suv_mentions(text)]
        want = [dataclasses.astuple(m) for m in source_report.extract_suv_mentions(text)]
        assert got == want, text
        mentions += len(got)
    assert mentions > 1000
