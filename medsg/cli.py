"""The ``medsg`` command line: ``medsg build`` runs the build-medsg flow locally (embedded
Prefect unless PREFECT_API_URL points at a server); ``medsg verify`` checks a release."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from medsg.config import ConfigError, load_config
from sources.csv_labels import SourceError


def _cmd_build(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)  # fail fast, before Prefect starts
        cfg.privacy.resolved_salt()
    except ConfigError as exc:
        print(f"medsg build: {exc}", file=sys.stderr)
        return 2
    if args.no_prefect:
        from medsg.pipeline import run_build

        try:
            report = run_build(cfg, args.out)
        except SourceError as exc:
            print(f"medsg build: {exc}", file=sys.stderr)
            return 2
        print("\n".join(report.summary_lines()))
        return 0

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.build import build_medsg

    try:
        result = build_medsg(config=args.config, out=args.out)
    except (ConfigError, SourceError) as exc:
        print(f"medsg build: {exc}", file=sys.stderr)
        return 2
    print(
        f"medsg build: done. Release in {result['out']} "
        f"(dataset version {result['dataset_version']}); "
        f"private build state in {Path(result['out']) / '_build'}"
    )
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from shards.manifest import verify

    problems = verify(Path(args.release))
    if problems:
        for p in problems:
            print(f"FAIL {p}", file=sys.stderr)
        print(f"medsg verify: {len(problems)} problem(s) in {args.release}", file=sys.stderr)
        return 1
    manifest = json.loads((Path(args.release) / "manifest.json").read_text())
    print(
        f"medsg verify: OK, {len(manifest['files'])} files match manifest.json "
        f"(dataset version {manifest['dataset_version']})"
    )
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from exports.write import export_release

    try:
        report = export_release(Path(args.release), Path(args.out), args.format)
    except (FileNotFoundError, ValueError) as exc:
        print(f"medsg export: {exc}", file=sys.stderr)
        return 2
    print(f"medsg export: {sum(report.written.values())} {args.format} items in {args.out}")
    for task, n in sorted(report.written.items()):
        print(f"  {task}: {n}")
    for task, n in sorted(report.skipped.items()):
        print(f"  skipped {task}: {n} (answer is not exactly one box, not expressible)")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from evaluation.metric import evaluate, read_gold, read_predictions

    try:
        gold = read_gold(Path(args.gold))
        predictions = read_predictions(Path(args.pred))
    except (OSError, ValueError) as exc:
        print(f"medsg eval: {exc}", file=sys.stderr)
        return 2
    result = evaluate(gold, predictions, args.box_format)
    print(json.dumps(result, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medsg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="run the build-medsg flow")
    build.add_argument("--config", help="build config YAML (default: the embedded demo)")
    build.add_argument("--out", default="out/demo", help="release folder (default: out/demo)")
    build.add_argument(
        "--no-prefect", action="store_true", help="run the steps inline, without Prefect"
    )
    build.set_defaults(func=_cmd_build)

    export = sub.add_parser("export", help="write a release in a peer tool's format")
    export.add_argument("--format", required=True, choices=("medsg", "sharegpt", "llava"))
    export.add_argument("--release", required=True, help="release folder")
    export.add_argument("--out", required=True, help="export folder (images written alongside)")
    export.set_defaults(func=_cmd_export)

    evaluate = sub.add_parser("eval", help="score predictions with the MedSG-Bench metric")
    evaluate.add_argument("--pred", required=True, help='JSONL: {"id": ..., "prediction": "..."}')
    evaluate.add_argument("--gold", required=True, help="a medsg export file or folder")
    evaluate.add_argument(
        "--box-format",
        default="auto",
        choices=("auto", "pixels", "thousand", "unit"),
        help="how to read bare numbers (Qwen tokens are pixels; auto: 0-1 floats else pixels)",
    )
    evaluate.add_argument("--out", help="also write the scores as JSON here")
    evaluate.set_defaults(func=_cmd_eval)

    verify = sub.add_parser("verify", help="check every release file against manifest.json")
    verify.add_argument("release", help="release folder")
    verify.set_defaults(func=_cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
