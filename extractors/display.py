"""Grayscale display by modality, in one place: how a slice's values become 8-bit pixels.

- CT: fixed windows by region (level, width in HU): ``lung`` (-600, 1500), ``soft_tissue``
  (40, 400), ``bone`` (400, 1800). The CT slices, the PET/CT renderings and the volume
  sources all take their windows from here.
- MR (and any modality without calibrated units): percentile scaling per volume, the 1st to
  the 99.5th percentile of the volume's foreground voxels (values above the volume's minimum),
  so every slice of one volume shares one scale and a structure keeps its brightness from
  slice to slice.

A ``DisplayRange`` is computed once per volume (``display_range``) and applied to each plane
(``to_uint8``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CT_WINDOWS: dict[str, tuple[float, float]] = {
    "lung": (-600.0, 1500.0),
    "soft_tissue": (40.0, 400.0),
    "bone": (400.0, 1800.0),
}
DEFAULT_CT_WINDOW = "soft_tissue"
MR_PERCENTILES = (1.0, 99.5)
CALIBRATED = frozenset({"CT"})  # modalities whose units (HU) have fixed windows


@dataclass(frozen=True)
class DisplayRange:
    """Values at or below ``low`` are black, at or above ``high`` white; ``name`` says how
    the range was chosen (a CT window's name, or ``percentile``)."""

    low: float
    high: float
    name: str

    @classmethod
    def window(cls, name: str) -> DisplayRange:
        level, width = CT_WINDOWS[name]
        return cls(level - width / 2, level + width / 2, name)


def percentile_range(
    values: np.ndarray, percentiles: tuple[float, float] = MR_PERCENTILES
) -> DisplayRange:
    """The percentile range of a volume's foreground (values above its minimum; all values
    when the volume is constant)."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return DisplayRange(0.0, 1.0, "percentile")
    fg = finite[finite > finite.min()]
    sample = fg if fg.size else finite
    low, high = (float(v) for v in np.percentile(sample, percentiles))
    if high <= low:
        high = low + 1.0
    return DisplayRange(low, high, "percentile")


def display_range(modality: str, volume: np.ndarray, window: str | None = None) -> DisplayRange:
    """How to show a volume of ``modality``: a CT window by region (``window``, default soft
    tissue), otherwise percentile scaling of this volume."""
    if modality.upper() in CALIBRATED:
        return DisplayRange.window(window or DEFAULT_CT_WINDOW)
    return percentile_range(volume)


def to_unit(values: np.ndarray, rng: DisplayRange) -> np.ndarray:
    """Values scaled into [0, 1] by the range (float64)."""
    scaled = (np.asarray(values, dtype=np.float64) - rng.low) / (rng.high - rng.low)
    return np.clip(np.nan_to_num(scaled, nan=0.0), 0.0, 1.0)


def to_uint8(values: np.ndarray, rng: DisplayRange) -> np.ndarray:
    """Values as 8-bit grey pixels through the range."""
    return np.round(to_unit(values, rng) * 255).astype(np.uint8)


def window(hu: np.ndarray, name: str) -> np.ndarray:
    """HU through the named CT window, as 8-bit pixels."""
    return to_uint8(hu, DisplayRange.window(name))
