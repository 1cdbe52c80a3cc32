"""Where the compiled SUV mention reader lives, and whether it is used (issue 11 speed).

``scripts/build_pet_reader.py`` (run by ``make setup``) compiles ``report`` and ``sentences``
of this package with mypyc into ``build/pet-reader/<digest>/extractors/pet/``, the digest
being that of the two source files. ``extractors.pet`` puts that folder first on its path
when it holds a build of these very sources for this interpreter, so an edited source reads
as pure Python until the next build, never as a stale build. ``MEDSG_PET_READER=python``
forces the pure-Python modules. The compiled reader reads as the source does (checked by
``tests/extractors/test_pet_compiled.py``)."""

from __future__ import annotations

import hashlib
import importlib.machinery
import os
from pathlib import Path

COMPILED_MODULES = ("report", "sentences")
READER_ENV = "MEDSG_PET_READER"  # "python": the pure-Python reader even where one is built
PACKAGE_DIR = Path(__file__).resolve().parent


def source_digest(package_dir: Path = PACKAGE_DIR) -> str:
    """The digest of the compiled modules' sources (names and bytes), as a build names its
    folder."""
    digest = hashlib.sha256()
    for name in COMPILED_MODULES:
        digest.update(name.encode() + b"\0" + (package_dir / f"{name}.py").read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_root(package_dir: Path = PACKAGE_DIR) -> Path:
    """``build/pet-reader`` of the checkout the package lies in."""
    return package_dir.parent.parent / "build" / "pet-reader"


def build_folder(package_dir: Path = PACKAGE_DIR) -> Path:
    """Where a build of the current sources puts its extension modules."""
    return build_root(package_dir) / source_digest(package_dir) / "extractors" / "pet"


def extension_files() -> list[str]:
    """The files a build holds for this interpreter: each module's and its mypyc library's."""
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    return [f"{name}{tail}{suffix}" for name in COMPILED_MODULES for tail in ("", "__mypyc")]


def python_forced() -> bool:
    """Whether ``MEDSG_PET_READER=python`` asks for the pure-Python reader."""
    return os.environ.get(READER_ENV, "").strip().lower() == "python"


def compiled_folder(package_dir: Path = PACKAGE_DIR) -> Path | None:
    """The folder of a build of the current sources for this interpreter, or None (none
    built, another source's build, or ``MEDSG_PET_READER=python``)."""
    if python_forced():
        return None
    try:
        folder = build_folder(package_dir)
    except OSError:  # (sources not on disk: an installed wheel without them)
        return None
    return folder if all((folder / name).is_file() for name in extension_files()) else None


def reader_kind() -> str:
    """Which reader ``extract_suv_mentions`` is, in words (``medsg bench pet`` prints it)."""
    from extractors.pet import report

    if str(report.__file__).endswith(".py"):
        why = (
            f"{READER_ENV}=python"
            if python_forced()
            else "no build of these sources: make setup builds it (scripts/build_pet_reader.py)"
        )
        return f"pure-Python reader ({why})"
    return f"compiled reader (mypyc build {source_digest()})"
