"""The ``medsg`` command line: ``medsg build`` runs the build-medsg flow locally (embedded
Prefect unless PREFECT_API_URL points at a server); ``medsg verify`` checks a release;
``medsg project-ct`` projects one CT to radiographs with anatomy; ``medsg bench`` times
(projection, reports, pet)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from annotation.client import ReviewServerError
from engine.config import ConfigError, load_config
from shards.lock import LockedError, release_lock
from shards.manifest import ManifestError
from shards.publish import OutputFolderError
from sources.radiograph.csv_labels import SourceError

# Errors that are the user's to fix: printed as one message, no traceback.
USER_ERRORS = (
    ConfigError,
    SourceError,
    ReviewServerError,
    FileNotFoundError,
    OutputFolderError,
    LockedError,
    ManifestError,
)


def _check_first(cfg) -> None:
    """What can fail without doing any work: the salt, and for review the token."""
    cfg.privacy.resolved_salt()
    if cfg.review.enabled:
        cfg.review.resolved_token()


def _cmd_build(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)  # fail fast, before Prefect starts
        _check_first(cfg)
    except ConfigError as exc:
        print(f"medsg build: {exc}", file=sys.stderr)
        return 2
    if args.no_prefect:
        from engine.pipeline import locked_output, run_build
        from engine.review import check_review_setup, push_build
        from shards.layout import BuildLayout

        try:
            check_review_setup(cfg, BuildLayout(Path(args.out).resolve()))
            with locked_output(args.out, "medsg build --no-prefect") as (layout, notes):
                for note in notes:  # a stale lock taken over, an interrupted publish recovered
                    print(f"medsg build: note: {note}", file=sys.stderr)
                report = run_build(cfg, args.out)
                print("\n".join(report.summary_lines()))
                if cfg.review.enabled:
                    push = push_build(cfg, layout)
                    print(
                        f"  review push: {push.selected} selected, {push.created} created, "
                        f"{push.updated} updated, {push.unchanged} unchanged"
                    )
        except USER_ERRORS as exc:
            print(f"medsg build: {exc}", file=sys.stderr)
            return 2
        return 0

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.build import build_medsg

    try:
        result = build_medsg(config=args.config, out=args.out)
    except USER_ERRORS as exc:
        print(f"medsg build: {exc}", file=sys.stderr)
        return 2
    print(
        f"medsg build: done. Release in {result['out']} "
        f"(dataset version {result['dataset_version']}); "
        f"private build state in {Path(result['out']) / '_build'}"
    )
    return 0


def _cmd_sync_reviews(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
        _check_first(cfg)
        if not cfg.review.enabled:
            raise ConfigError(f"{args.config or 'the embedded demo config'}: review is off")
    except ConfigError as exc:
        print(f"medsg sync-reviews: {exc}", file=sys.stderr)
        return 2
    try:
        if args.no_prefect:
            from engine.pipeline import locked_output
            from engine.review import sync_build

            with locked_output(args.out, "medsg sync-reviews --no-prefect") as (layout, notes):
                for note in notes:
                    print(f"medsg sync-reviews: note: {note}", file=sys.stderr)
                sync = sync_build(cfg, layout)
            pulled, republished = sync.pull.annotations, sync.republished
        else:
            os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
            from flows.review import sync_reviews

            result = sync_reviews(config=args.config, out=args.out)
            pulled, republished = result["pulled"], result["republished"]
    except USER_ERRORS as exc:
        print(f"medsg sync-reviews: {exc}", file=sys.stderr)
        return 2
    print(
        f"medsg sync-reviews: annotations added {pulled.get('added', 0)}, updated "
        f"{pulled.get('updated', 0)}, unchanged {pulled.get('unchanged', 0)}; release "
        + ("republished" if republished else "unchanged")
        + f" (metrics: {Path(args.out) / 'review_metrics.json'})"
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
    from exports.resize import Frame
    from exports.write import export_release

    try:
        rule = "square" if args.image_size else args.resize
        frame = Frame(
            rule,
            max_pixels=args.max_pixels,
            min_pixels=args.min_pixels,
            size=args.image_size or 336,
            letterbox=args.letterbox,
        )
        report = export_release(Path(args.release), Path(args.out), args.format, frame=frame)
    except (FileNotFoundError, ValueError) as exc:
        print(f"medsg export: {exc}", file=sys.stderr)
        return 2
    print(
        f"medsg export: {sum(report.written.values())} {args.format} items in {args.out} "
        f"(boxes: {frame.describe()['boxes']})"
    )
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
    result = evaluate(gold, predictions, args.box_format, args.compat)
    print(json.dumps(result, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    return 0


def _cmd_smoke_train(args: argparse.Namespace) -> int:
    from training.smoke import SmokeConfig, SmokeError, smoke_train

    cfg = SmokeConfig(config=args.config, epochs=args.epochs, threads=args.threads)
    try:
        metrics = smoke_train(Path(args.release), cfg)
    except (SmokeError, FileNotFoundError) as exc:
        print(f"medsg smoke-train: {exc}", file=sys.stderr)
        return 2
    gain = metrics["improvement_over_best_baseline"]
    print(
        f"medsg smoke-train: validation mean IoU {metrics['model']['mean_iou']:.3f}, "
        f"acc@0.5 {metrics['model']['acc@0.5']:.3f}; best baseline {metrics['best_baseline']} "
        f"{metrics['baselines'][metrics['best_baseline']]['mean_iou']:.3f} / "
        f"{metrics['baselines'][metrics['best_baseline']]['acc@0.5']:.3f}; gain "
        f"{gain['mean_iou']:+.3f} mean IoU, {gain['acc@0.5']:+.3f} acc@0.5 "
        f"({metrics['seconds']} s). Written to {args.release}/smoke_model/"
    )
    return 0 if metrics["beats_best_baseline"] else 1


def _cmd_publish(args: argparse.Namespace) -> int:
    from shards.remote import PublishError, publish_to

    release = Path(args.release)
    try:
        if (release / "_build").is_dir():  # a build folder: no build may swap it meanwhile
            with release_lock(release, "medsg publish"):
                written = publish_to(release, args.to)
        else:
            written = publish_to(release, args.to)
    except (PublishError, LockedError, OSError, ValueError) as exc:
        print(f"medsg publish: {exc}", file=sys.stderr)
        return 2
    print(f"medsg publish: {len(written)} files to {args.to} (manifest.json last)")
    return 0


def _cmd_sources(args: argparse.Namespace) -> int:
    """Every registered source kind, the files it expects, its licences and citations."""
    from sources.registry import SOURCES

    for source in SOURCES:
        print(", ".join(source.kinds))
        print(f"  expects: {source.layout}")
        for lic in source.licences:
            print(f"  licence: {lic.id}: {lic.name}")
            if lic.citation:
                print(f"  cite: {lic.citation}")
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
    from exports.resize import LLAMAFACTORY_MAX_PIXELS, LLAMAFACTORY_MIN_PIXELS

    export.add_argument(
        "--resize",
        default="none",
        choices=("none", "qwen2.5-vl"),
        help="write boxes in the frame this model sees (qwen2.5-vl: LLaMA-Factory's "
        "image_max_pixels / image_min_pixels, then the processor's smart_resize)",
    )
    export.add_argument(
        "--max-pixels",
        type=int,
        default=LLAMAFACTORY_MAX_PIXELS,
        help=f"qwen2.5-vl: LLaMA-Factory image_max_pixels (default {LLAMAFACTORY_MAX_PIXELS})",
    )
    export.add_argument(
        "--min-pixels",
        type=int,
        default=LLAMAFACTORY_MIN_PIXELS,
        help=f"qwen2.5-vl: LLaMA-Factory image_min_pixels (default {LLAMAFACTORY_MIN_PIXELS})",
    )
    export.add_argument(
        "--image-size",
        type=int,
        help="write every image as an NxN PNG and boxes in it (MedSG-Bench: 336)",
    )
    export.add_argument(
        "--letterbox", action="store_true", help="with --image-size: letterbox, not stretch"
    )
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
    evaluate.add_argument(
        "--compat",
        default="none",
        choices=("none", "medsg-bench"),
        help="medsg-bench: score with MedSG-Bench's own parsing and IoU rules "
        "(pixels/auto: its Qwen2.5-VL path; thousand/unit: its 336x336 normalized path)",
    )
    evaluate.add_argument("--out", help="also write the scores as JSON here")
    evaluate.set_defaults(func=_cmd_eval)

    smoke = sub.add_parser("smoke-train", help="train and publish the smoke-test model")
    smoke.add_argument("--release", required=True, help="release folder")
    smoke.add_argument("--config", default="grounding", help="release config (default grounding)")
    smoke.add_argument("--epochs", type=int, default=15)
    smoke.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    smoke.set_defaults(func=_cmd_smoke_train)

    publish = sub.add_parser("publish", help="copy a verified release to an fsspec destination")
    publish.add_argument("--release", required=True, help="release folder")
    publish.add_argument(
        "--to",
        required=True,
        help="destination URL: a folder, s3://, gs://..., or hf://datasets/<org>/<name> "
        "(the Hugging Face Hub; token from HF_TOKEN or hf auth login)",
    )
    publish.set_defaults(func=_cmd_publish)

    sync = sub.add_parser(
        "sync-reviews",
        help="pull expert reviews from Label Studio, merge them and republish the release",
    )
    sync.add_argument("--config", help="the build's config YAML (its review section enabled)")
    sync.add_argument("--out", default="out/demo", help="release folder (default: out/demo)")
    sync.add_argument("--no-prefect", action="store_true", help="run inline, without Prefect")
    sync.set_defaults(func=_cmd_sync_reviews)

    sources = sub.add_parser("sources", help="list the source kinds, their layouts and licences")
    sources.set_defaults(func=_cmd_sources)

    verify = sub.add_parser("verify", help="check every release file against manifest.json")
    verify.add_argument("release", help="release folder")
    verify.set_defaults(func=_cmd_verify)

    from benchmarks.ct import add_bench_commands
    from medsg.project_ct import add_command as add_project_ct

    add_project_ct(sub)  # medsg project-ct
    bench = sub.add_parser("bench", help="benchmarks: timings and figures, not pass/fail")
    bench_sub = bench.add_subparsers(dest="bench", required=True)
    add_bench_commands(bench_sub)  # medsg bench projection | reports
    from benchmarks.pet import add_bench_command as add_bench_pet

    add_bench_pet(bench_sub)  # medsg bench pet
    from benchmarks.deid import add_bench_command as add_bench_deid

    add_bench_deid(bench_sub)  # medsg bench deid
    from benchmarks.volume import add_bench_command as add_bench_volume

    add_bench_volume(bench_sub)  # medsg bench volume
    __import__("benchmarks.build").build.add_bench_command(bench_sub)  # medsg bench build
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
