"""A peer side by side (``medsg bench reports --peer medspacy``): medspaCy's ConText judges
negation and uncertainty of the very finding spans our extractor found, on the 800 IU
reports; both are scored against the MeSH coding, and timed.

medspaCy 1.3.1 pins spacy<3.8 while the project pins 3.8, so it runs as a subprocess of its
own venv (``scripts/bench_peer_venv.sh``, default ``.venv-bench``); the project never
imports it. Figures, for each system: of the reports coded ``normal``, the share with a
finding stated as present (neither negated nor uncertain); of the MeSH terms whose heading
maps to findings we know (``evaluate.MESH_FINDINGS``), the share with a mention of such a
finding that is not negated; and how often the two systems agree per mention."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from extractors.reports.evaluate import MESH_FINDINGS, Report
from extractors.reports.extract import FindingMention, extract_findings

_ROOT = Path(__file__).resolve().parents[1]


def _score(reports: list[Report], mentions: list[list[FindingMention]], flags) -> tuple[str, str]:
    n_normal = normal_pos = n_terms = found = 0
    for report, ms, fl in zip(reports, mentions, flags, strict=True):
        if report.mesh == "normal":
            n_normal += 1
            normal_pos += any(not n and not u for n, u in fl)
        for term in report.mesh.split(";"):
            heading = term.split("/")[0].strip()
            if heading in MESH_FINDINGS:
                n_terms += 1
                found += any(
                    m.finding in MESH_FINDINGS[heading] and not f[0]
                    for m, f in zip(ms, fl, strict=True)
                )
    return (
        f"normal reports with a finding stated present: {normal_pos} of {n_normal} "
        f"= {100 * normal_pos / max(n_normal, 1):.1f}%",
        f"coded findings with a mention not negated: {found} of {n_terms} "
        f"= {100 * found / max(n_terms, 1):.1f}%",
    )


def run_medspacy(path: Path, reports: list[Report], python: str | None = None) -> list[str]:
    """The side-by-side lines (or why the peer could not run)."""
    py = Path(python) if python else _ROOT / ".venv-bench" / "bin" / "python"
    if not py.exists():
        return [f"-- peer medspacy: {py} not found (run scripts/bench_peer_venv.sh)"]
    mentions = [extract_findings(r.text) for r in reports]
    ours = [[(m.negated, m.uncertain) for m in ms] for ms in mentions]
    items = [
        {"text": r.text, "spans": [[m.start, m.end] for m in ms]}
        for r, ms in zip(reports, mentions, strict=True)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.json", Path(tmp) / "out.json"
        src.write_text(json.dumps(items), encoding="utf-8")
        script = Path(__file__).with_name("reports_peer_medspacy.py")
        done = subprocess.run(
            ["taskset", "-c", "0", str(py), str(script), str(src), str(dst)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            return [f"-- peer medspacy failed: {done.stderr.strip()[-500:]}"]
        result = json.loads(dst.read_text(encoding="utf-8"))
    theirs = [[tuple(f) for f in row] for row in result["flags"]]
    n = sum(len(row) for row in ours)
    agree_neg = sum(
        a[0] == b[0]
        for ra, rb in zip(ours, theirs, strict=True)
        for a, b in zip(ra, rb, strict=True)
    )
    agree_unc = sum(
        a[1] == b[1]
        for ra, rb in zip(ours, theirs, strict=True)
        for a, b in zip(ra, rb, strict=True)
    )
    ours_lines, theirs_lines = _score(reports, mentions, ours), _score(reports, mentions, theirs)
    peer_rate = len(reports) / result["seconds"] if result["seconds"] else 0.0
    return [
        f"-- peer: medspaCy ConText (its own rules, PyRuSH sentences) on the {len(reports)} "
        f"reports of {path.name}, on our {n} finding spans, one core",
        "  ours:     " + "; ".join(ours_lines),
        "  medspaCy: " + "; ".join(theirs_lines),
        f"  agreement per mention: negation {100 * agree_neg / max(n, 1):.1f}%, "
        f"uncertainty {100 * agree_unc / max(n, 1):.1f}%",
        f"  medspaCy: {peer_rate:,.0f} reports/s (sentences + ConText, targets given)",
    ]
