"""The PET/CT weak-label benchmark behind ``medsg bench pet``.

1. Accuracy on phantoms with known truth (``extractors.pet.phantom``): the real CT and its
   organ masks from ``../shared/realdata/ct`` when present, and a synthetic body (brain,
   heart, bladder). Every exam's report goes through the real reader and localiser; each
   mention is compared with the truth: a localisable lesion mention must be assigned to the
   lesion it names (the predicted mask's majority SEG label), every other mention must be
   rejected with its expected reason code.
2. Report reading on held-apart passages with gold values (``extractors.pet.heldout``):
   pair precision and recall, prior / reference / physiologic values read as lesions.
3. Speed: a 200x200x300 SUV volume with 5 lesion mentions, localised on one core (the
   process is pinned to one CPU); best of a few runs, in wall seconds and in the process's
   CPU seconds (on a shared machine the wall clock also counts other processes' turns on the
   core; the load average is printed); and report reading alone, in sentences per second,
   on the phantom reports, naming the reader measured (compiled or pure Python,
   ``extractors.pet.compiled``). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.cores import pin_one_core
from extractors.pet.label import label_exam, label_mentions
from extractors.pet.phantom import Anatomy, PhantomExam, generate_exam, synthetic_anatomy
from extractors.pet.report import extract_suv_mentions
from extractors.pet.volume import PetVolume


@dataclass
class AccuracyReport:
    anatomy: str
    exams: int = 0
    mentions: int = 0
    localisable: int = 0
    assigned_right: int = 0
    wrong_lesion: int = 0  # assigned, to another lesion or to physiological uptake
    wrong_side: int = 0  # assigned to a hot spot on the other side than the sentence says
    not_assigned: int = 0  # localisable but rejected
    dice: list[float] = field(default_factory=list)
    rejections: Counter = field(default_factory=Counter)  # reason -> mentions
    expected_reason_right: int = 0  # non-localisable mentions rejected with the right reason
    expected_reason_total: int = 0
    unexplained: int = 0  # mentions without a lesion and without a reason code (must be 0)
    missed_mentions: int = 0  # truth mentions the reader did not return
    seconds: float = 0.0
    reports: list[str] = field(default_factory=list, repr=False)  # report texts read

    @property
    def share_right(self) -> float:
        return self.assigned_right / self.localisable if self.localisable else 0.0

    @property
    def median_dice(self) -> float:
        return float(statistics.median(self.dice)) if self.dice else 0.0

    @property
    def exams_per_second(self) -> float:
        return self.exams / self.seconds if self.seconds else 0.0

    def lines(self) -> list[str]:
        out = [
            f"phantoms on {self.anatomy}: {self.exams} exams, {self.mentions} mentions, "
            f"{self.localisable} localisable lesion mentions",
            f"  assigned to the right lesion: {self.assigned_right}/{self.localisable} "
            f"({100 * self.share_right:.1f}%)",
            f"  median Dice against the inserted lesion: {self.median_dice:.3f} "
            f"(10th percentile {np.percentile(self.dice, 10) if self.dice else 0:.3f})",
            f"  wrong lesion: {self.wrong_lesion}, wrong side: {self.wrong_side}, "
            f"localisable but rejected: {self.not_assigned}",
            f"  other mentions rejected with the expected reason: "
            f"{self.expected_reason_right}/{self.expected_reason_total}",
            f"  mentions not assigned and without a reason code: {self.unexplained}; "
            f"truth mentions the reader missed: {self.missed_mentions}",
            "  rejections by reason: "
            + ", ".join(f"{r} {n}" for r, n in sorted(self.rejections.items())),
            f"  speed: {self.exams_per_second:.2f} exams per second (read report + localise)",
        ]
        return out


_NOT_IN_JSON = ("dice", "rejections", "reports")


def volume_of(exam: PhantomExam) -> PetVolume:
    return PetVolume(exam.suv, exam.affine, exam.numbering, ct=exam.ct, organs=exam.organs)


def score_exam(exam: PhantomExam, report: AccuracyReport) -> None:
    """Label one phantom exam and add its outcome to the report."""
    volume = volume_of(exam)
    start = time.perf_counter()
    labels = label_exam(volume, exam.report)
    report.seconds += time.perf_counter() - start
    report.exams += 1
    report.reports.append(exam.report)
    by_sentence: dict[str, list] = {}
    for r in labels.results:
        by_sentence.setdefault(r.mention.sentence, []).append(r)
        if r.lesion is None and r.rejection is None:
            report.unexplained += 1
        if r.rejection is not None:
            report.rejections[r.rejection.reason.value] += 1
    report.mentions += len(labels.results)
    for truth in exam.truth:
        sentence = exam.sentences[truth.sentence].strip()
        pool = by_sentence.get(sentence, [])
        match = next((r for r in pool if abs(r.mention.suv - truth.suv) < 1e-6), None)
        if match is None:
            report.missed_mentions += 1
            if truth.expected_reason is None:
                report.localisable += 1
                report.not_assigned += 1
            continue
        pool.remove(match)
        if truth.expected_reason is not None:
            report.expected_reason_total += 1
            got = match.rejection.reason.value if match.rejection else None
            report.expected_reason_right += got == truth.expected_reason
            continue
        report.localisable += 1
        if match.lesion is None:
            report.not_assigned += 1
            continue
        mask = match.lesion.full_mask(exam.seg.shape)
        labels_in = exam.seg[mask]
        labels_in = labels_in[labels_in > 0]
        got_id = int(np.bincount(labels_in).argmax()) if labels_in.size else 0
        if got_id != truth.lesion_id:
            report.wrong_lesion += 1
        else:
            report.assigned_right += 1
            inserted = exam.seg == truth.lesion_id
            report.dice.append(float(2 * (mask & inserted).sum() / (mask.sum() + inserted.sum())))
        side = match.mention.laterality
        if side in ("left", "right"):
            x = float(np.nonzero(mask)[0].mean())
            mid = _midline(exam, match.lesion.seed[2])
            if (side == "right" and x > mid) or (side == "left" and x < mid):  # x: R -> L
                report.wrong_side += 1


def _midline(exam: PhantomExam, z: int) -> float:
    body = exam.ct[:, :, z] > -500
    xs = np.nonzero(body)[0]
    return float(xs.mean()) if xs.size else (exam.ct.shape[0] - 1) / 2


def accuracy(anatomy: Anatomy, n_exams: int, seed: int) -> AccuracyReport:
    report = AccuracyReport(anatomy.name)
    for i in range(n_exams):
        score_exam(generate_exam(anatomy, seed + i), report)
    return report


@dataclass
class SpeedReport:
    shape: tuple[int, int, int]
    mentions: int
    localise_seconds: list[float]
    with_report_seconds: list[float]
    assigned: int
    cpus: str
    localise_cpu_seconds: list[float] = field(default_factory=list)  # process_time
    load: tuple[float, ...] = ()  # load average (1, 5, 15 min) after the runs

    def lines(self) -> list[str]:
        cpu = self.localise_cpu_seconds or [float("nan")]
        return [
            f"speed: {'x'.join(map(str, self.shape))} SUV volume, {self.mentions} lesion "
            f"mentions, one core ({self.cpus})",
            f"  localisation: best {min(self.localise_seconds):.3f} s, median "
            f"{statistics.median(self.localise_seconds):.3f} s over "
            f"{len(self.localise_seconds)} runs ({self.assigned} of {self.mentions} assigned); "
            f"CPU seconds: best {min(cpu):.3f}, median {statistics.median(cpu):.3f}"
            + (f" (load average {', '.join(f'{v:.2f}' for v in self.load)})" if self.load else ""),
            f"  report reading + localisation: best {min(self.with_report_seconds):.3f} s",
        ]


def speed(runs: int = 5, seed: int = 0) -> SpeedReport:
    """Localise 5 mentions in a 200x200x300 volume (2 mm voxels), best of ``runs``."""
    cpus = pin_one_core(single_threaded_libraries=True)
    anatomy = synthetic_anatomy(shape=(200, 200, 300), spacing=2.0)
    exam = generate_exam(anatomy, seed, n_lesions=5, decoys=False)
    volume = volume_of(exam)
    mentions = [m for m in extract_suv_mentions(exam.report) if m.role == "lesion"]
    localise_times, localise_cpu, full_times = [], [], []
    assigned = 0
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        labels = label_mentions(volume, mentions)
        localise_times.append(time.perf_counter() - start)
        localise_cpu.append(time.process_time() - start_cpu)
        assigned = len(labels.assigned)
        start = time.perf_counter()
        label_exam(volume, exam.report)
        full_times.append(time.perf_counter() - start)
    load = tuple(os.getloadavg()) if hasattr(os, "getloadavg") else ()
    return SpeedReport(
        tuple(volume.shape), len(mentions), localise_times, full_times, assigned, cpus,
        localise_cpu, load,
    )  # fmt: skip


def default_anatomies(realdata: Path | None) -> list[Anatomy]:
    anatomies = []
    ct_dir = realdata / "ct" / "totalsegmentator_example" if realdata else None
    if ct_dir is not None and (ct_dir / "example_ct.nii.gz").is_file():
        from sources.pet.readers import load_ct_anatomy

        anatomies.append(
            load_ct_anatomy(ct_dir / "example_ct.nii.gz", ct_dir / "example_ct_organ_masks")
        )
    anatomies.append(synthetic_anatomy())
    return anatomies


def run(
    *,
    exams: int,
    seed: int,
    realdata: Path | None,
    speed_runs: int,
    json_out: Path | None = None,
) -> list[str]:
    """Every figure of ``medsg bench pet``, as printable lines (and JSON when asked)."""
    lines: list[str] = []
    reports = []
    for anatomy in default_anatomies(realdata):
        if anatomy.notes:
            lines += [f"note: {anatomy.name}: {n}" for n in anatomy.notes]
        report = accuracy(anatomy, exams, seed)
        reports.append(report)
        lines += report.lines()
    if len(reports) > 1:
        total = AccuracyReport("all")
        for r in reports:
            for f in ("exams", "mentions", "localisable", "assigned_right", "wrong_lesion",
                      "wrong_side", "not_assigned", "unexplained", "seconds"):  # fmt: skip
                setattr(total, f, getattr(total, f) + getattr(r, f))
            total.dice += r.dice
        lines.append(
            f"all phantoms: {total.assigned_right}/{total.localisable} "
            f"({100 * total.share_right:.1f}%) right lesion, median Dice {total.median_dice:.3f}, "
            f"wrong side {total.wrong_side}, unexplained {total.unexplained}"
        )
    from extractors.pet.compiled import reader_kind
    from extractors.pet.heldout import HELDOUT
    from extractors.pet.reading import reading_rate, score

    lines += score(HELDOUT).lines("held-apart passages (extractors/pet/heldout.py)")
    timing = speed(speed_runs) if speed_runs else None
    if timing:
        lines += timing.lines()
        texts = [t for r in reports for t in r.reports]
        n, with_value, rate, cpu_rate = reading_rate(texts, speed_runs)
        lines.append(
            f"  report reading alone: {n} sentences of {len(texts)} phantom reports "
            f"({with_value} with an SUV value), best {rate:,.0f} sentences/s on one core "
            f"(target: at least 20,000); by CPU time: best {cpu_rate:,.0f} sentences/s; "
            f"{reader_kind()}"
        )
    if json_out is not None:
        payload = {
            "accuracy": [
                {**{k: v for k, v in asdict(r).items() if k not in _NOT_IN_JSON},
                 "share_right": r.share_right, "median_dice": r.median_dice,
                 "rejections": dict(r.rejections), "exams_per_second": r.exams_per_second}
                for r in reports
            ],
            "speed": asdict(timing) if timing else None,
        }  # fmt: skip
        json_out.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    return lines


def add_bench_command(bench_sub) -> None:
    """Register ``pet`` under ``medsg bench`` (an argparse sub-parsers object)."""
    from shards.layout import default_realdata_dir

    p = bench_sub.add_parser(
        "pet",
        help="PET/CT weak labels on phantoms with known truth; localisation speed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--exams", type=int, default=40, help="phantom exams per anatomy")
    p.add_argument("--seed", type=int, default=1000, help="first phantom seed")
    p.add_argument("--speed-runs", type=int, default=5, help="timed runs (0: skip)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument(
        "--realdata",
        type=Path,
        default=default_realdata_dir(),
        help="real data folder (its CT anatomy is used when present)",
    )
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    realdata = args.realdata if args.realdata.is_dir() else None
    if realdata is None:
        print(f"note: {args.realdata} not found: phantoms on the synthetic body only")
    for line in run(
        exams=args.exams,
        seed=args.seed,
        realdata=realdata,
        speed_runs=args.speed_runs,
        json_out=args.json,
    ):
        print(line, flush=True)
    return 0
