"""The ``medsg`` command line: ``medsg build`` runs the build-medsg flow locally (embedded
Prefect unless PREFECT_API_URL points at a server); ``medsg verify`` checks a release;
``medsg project-ct`` projects one CT to radiographs with anatomy; ``medsg bench`` times."""

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

    verify = sub.add_parser("verify", help="check every release file against manifest.json")
    verify.add_argument("release", help="release folder")
    verify.set_defaults(func=_cmd_verify)

    from medsg.bench_ct import add_bench_commands
    from medsg.project_ct import add_command as add_project_ct

    add_project_ct(sub)  # medsg project-ct
    bench = sub.add_parser("bench", help="benchmarks: timings and figures, not pass/fail")
    bench_sub = bench.add_subparsers(dest="bench", required=True)
    add_bench_commands(bench_sub)  # medsg bench projection | reports
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
