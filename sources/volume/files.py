"""Cases whose image channels and label map are files (NIfTI, NRRD, MHA): the item settings
they carry, how a case becomes a ``SourceItem`` and how its files are loaded into a
``VolumeCase`` (``extractors.volume.image``: one canonical orientation, affines kept)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from extractors.volume import Volume
from extractors.volume.image import read_channels, read_label_map
from schemas.enums import Reason
from schemas.errors import ItemError
from schemas.vocab import label_of
from sources.base import InputFile, SourceItem
from sources.context import ItemContext, ItemOutput, read_error
from sources.volume.process import VolumeCase, check_channels, masks_from_label_map, process_case

READER = "volume_files"
VERSION = "1"


@dataclass(frozen=True)
class VolumeFiles:
    """Per-item settings (``SourceItem.settings``): the label map's values and names, the
    channel names with their files (several names on one file: the channels of a 4D file, in
    order), the label file, the modality code and the CT window."""

    labels: tuple[tuple[int, str], ...]
    channels: tuple[tuple[str, str], ...]
    label_file: str
    modality: str
    ct_window: str | None = None

    def names(self) -> dict[int, str]:
        return dict(self.labels)


def label_names(
    labels: Mapping[int, str], kinds: Mapping[str, str] | None = None
) -> tuple[tuple[int, str], ...]:
    """Value -> canonical label (``schemas.vocab.label_of``: structures ``anatomy:``, lesions
    findings, ``kinds`` = the source's ``label_kinds``), background (0) left out."""
    return tuple(sorted((int(v), label_of(n, kinds)) for v, n in labels.items() if int(v) != 0))


def case_item(
    *,
    dataset: str,
    kind: str,
    case_id: str,
    channels: Sequence[tuple[str, Path]],
    label_file: Path,
    labels: tuple[tuple[int, str], ...],
    modality: str,
    licence: str,
    ct_window: str | None = None,
    patient: str | None = None,
    labels_ref: str = "",
) -> SourceItem:
    """The item of one case whose files all exist."""
    first = channels[0][1]
    st = first.stat()
    inputs = [InputFile.of(f"channel:{n}", p) for n, p in channels[1:] if p != first]
    inputs.append(InputFile.of("labels", label_file))
    return SourceItem(
        dataset=dataset,
        kind=kind,
        reader=READER,
        item_id=case_id,
        patient_key=patient or case_id,
        path=str(first),
        labels_file=labels_ref or str(label_file),
        rows=(),
        licence=licence,
        extractor=f"sources.{kind}",
        extractor_version=VERSION,
        modality=modality,
        file_size=st.st_size,
        file_mtime_ns=st.st_mtime_ns,
        exhaustive=True,
        inputs=tuple(inputs),
        settings=VolumeFiles(
            labels=labels,
            channels=tuple((n, str(p)) for n, p in channels),
            label_file=str(label_file),
            modality=modality,
            ct_window=ct_window,
        ),
    )


def load_case(item: SourceItem) -> VolumeCase:
    """The channels and masks of a file case (``ItemError`` for a bad file)."""
    s: VolumeFiles = item.settings
    channels: list[tuple[str, Volume]] = []
    by_path: dict[str, list[str]] = {}
    for name, path in s.channels:
        by_path.setdefault(path, []).append(name)
    for path, names in by_path.items():
        vols = read_channels(path)
        if len(names) == 1 and len(vols) > 1:  # a 4D file whose channels are not named
            names = [f"{names[0]} {k}" for k in range(len(vols))]
        if len(vols) != len(names):
            raise ItemError(
                Reason.VOLUME_READ_ERROR,
                f"{Path(path).name}: {len(vols)} channel(s) in the file, {len(names)} named "
                f"({', '.join(names)})",
            )
        channels += list(zip(names, vols, strict=True))
    what = Path(item.path).name
    check_channels(channels, what)
    label_map = read_label_map(s.label_file, channels[0][1], ref=f"image {what}")
    masks = masks_from_label_map(label_map, s.names(), Path(s.label_file).name)
    return VolumeCase(channels, masks, s.modality, tuple(n for _, n in s.labels), s.ct_window)


def process_files(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """The processor of file cases (kinds ``nnunet`` and ``volume_masks``)."""
    try:
        case = load_case(item)
    except ItemError as exc:
        return ItemOutput(
            quarantine=[read_error(item, ctx.ids.study(item.dataset, item.item_id), exc)]
        )
    return process_case(item, ctx, case)
