"""``medsg bench build`` runs a whole build on a tiny generated corpus and prints every
figure the issue asks for (the timings are the benchmark's business, not checked here)."""

from __future__ import annotations

import os
from pathlib import Path

from medsg.cli import main


def test_bench_build_prints_every_figure(tmp_path: Path, capsys) -> None:
    argv = ["bench", "build", "--n", "4", "--image-size", "64", "--chunk-size", "2"]
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    assert main([*argv, "--pet-seconds", "2.5", "--keep", str(tmp_path / "b")]) == 0
    text = capsys.readouterr().out
    for words in (
        "bench build: 4 source images of 4 at 64 px",
        "pinned to CPU " if cpus is not None else "not pinned",
        "images published: 16 (4.00 per source image)",  # each image + 3 derived copies
        "items/s:",
        "per core:",
        "peak RSS:",
        "release shards:",
        "unique published images:",
        "PNG encoding",
        "decode",
        "derived edits (diff, patch)",
        "validation",
        "PNG-encoding floor: ",
        "x the floor",
        "PET 2.500 s per exam",
        "26,684 radiographs     1 worker",
        "112,120 radiographs",
        "25,578 PET exams       1 worker 17h45m45s, 16 workers 1h06m37s",
    ):
        assert words in text, (words, text)
    if cpus is not None:  # (the build ran on one CPU; the test process gets its CPUs back)
        assert os.sched_getaffinity(0) == cpus
    assert len(list((tmp_path / "b" / "w0" / "release" / "_build" / "images").rglob("*.png"))) == 16
