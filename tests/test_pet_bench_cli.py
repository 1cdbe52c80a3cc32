"""``medsg bench pet`` runs end to end and prints the figures the issue asks for (values are
the benchmark's business; here: a small run must find every lesion it inserts)."""

from __future__ import annotations

import json
from pathlib import Path

from medsg.cli import main


def test_bench_pet_prints_every_figure(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bench.json"
    argv = ["bench", "pet", "--exams", "2", "--speed-runs", "0", "--json", str(out)]
    assert main([*argv, "--realdata", str(tmp_path / "absent")]) == 0
    text = capsys.readouterr().out
    for words in (
        "assigned to the right lesion: 12/12 (100.0%)",
        "median Dice against the inserted lesion",
        "wrong lesion: 0, wrong side: 0",
        "mentions not assigned and without a reason code: 0",
        "rejections by reason: mention_no_slice 2",
        "exams per second",
    ):
        assert words in text, (words, text)
    figures = json.loads(out.read_text())["accuracy"][0]
    assert figures["anatomy"] == "synthetic-body" and figures["share_right"] == 1.0
