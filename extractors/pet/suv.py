"""Body-weight SUV from DICOM PET, following the QIBA vendor-neutral pseudo-code.

``suv_bw_scale_factor`` gives the one series-level factor that turns a pixel value after its
modality rescale (slope and intercept, per slice) into SUVbw:

    SUVbw = activity concentration (Bq/ml) * patient weight (g) / decay-corrected dose (Bq)

- CorrectedImage (0028,0051) must include ATTN and DECY (attenuation and decay corrected).
- Units (0054,1001): BQML (activity concentration), CNTS (Philips: the private SUV scale
  factor (7053,1000), else the private activity concentration scale factor (7053,1009) times
  the BQML factor) or GML (already SUVbw: factor 1).
- DecayCorrection (0054,1102): START (images decay-corrected to the scan start: the dose is
  decayed from injection to the scan time) or ADMIN (to the injection: no decay).
- Scan time: the series date-time, unless an acquisition of the series precedes it (a
  post-processed series); then GE's private post-injection date-time (0009,100D) where
  present, else the earliest acquisition date-time of the series.
- Injection: RadiopharmaceuticalStartDateTime (0018,1078), else RadiopharmaceuticalStartTime
  (0018,1072) on the series date; when only a time is given and it falls after the scan, the
  injection was the day before (an exam spanning midnight) if that gives a plausible uptake.

Anything missing or absurd raises ``ItemError`` naming the file and the tag.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from schemas.enums import Reason
from schemas.errors import ItemError

# Plausibility bounds: outside them a value is a data error, not a patient.
WEIGHT_KG_RANGE = (1.0, 500.0)
DOSE_BQ_RANGE = (1.0e6, 5.0e10)  # 1 MBq .. 50 GBq; a dose in MBq stored as Bq fails here
MAX_UPTAKE_HALF_LIVES = 10.0  # a decay over 10 half-lives leaves under 0.1% of the dose

GE_PRIVATE_SCAN_DATETIME = (0x0009, 0x100D)
PHILIPS_SUV_SCALE = (0x7053, 0x1000)
PHILIPS_ACTIVITY_SCALE = (0x7053, 0x1009)

TAGS = {
    "PatientWeight": "(0010,1030)",
    "CorrectedImage": "(0028,0051)",
    "Units": "(0054,1001)",
    "DecayCorrection": "(0054,1102)",
    "RadiopharmaceuticalInformationSequence": "(0054,0016)",
    "RadionuclideTotalDose": "(0018,1074)",
    "RadionuclideHalfLife": "(0018,1075)",
    "RadiopharmaceuticalStartDateTime": "(0018,1078)",
    "RadiopharmaceuticalStartTime": "(0018,1072)",
    "SeriesDate": "(0008,0021)",
    "SeriesTime": "(0008,0031)",
    "AcquisitionDate": "(0008,0022)",
    "AcquisitionTime": "(0008,0032)",
}


def _file(ds: Any) -> str:
    name = getattr(ds, "filename", None)
    return Path(str(name)).name if name else "<PET dataset>"


def _tag(keyword: str) -> str:
    return f"{keyword} {TAGS.get(keyword, '')}".strip()


def _missing(ds: Any, keyword: str, why: str) -> ItemError:
    return ItemError(
        Reason.SUV_MISSING_TAG, f"{_file(ds)}: {_tag(keyword)} is missing or empty: {why}"
    )


def _absurd(ds: Any, keyword: str, value: object, why: str) -> ItemError:
    """``value`` is shown for numbers only: dates and times of a header never go into a
    message (they identify an exam)."""
    shown = f" = {value!s}" if isinstance(value, int | float) else ""
    return ItemError(Reason.SUV_ABSURD_VALUE, f"{_file(ds)}: {_tag(keyword)}{shown}: {why}")


def _value(ds: Any, keyword: str) -> Any:
    value = ds.get(keyword) if ds is not None else None
    if value is None or (isinstance(value, str | bytes) and not str(value).strip()):
        return None
    return value


def _float(ds: Any, owner: Any, keyword: str, why: str) -> float:
    value = _value(owner, keyword)
    if value is None:
        raise _missing(ds, keyword, why)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise _absurd(ds, keyword, value, "not a number") from None
    if not math.isfinite(out):
        raise _absurd(ds, keyword, value, "not a finite number")
    return out


# ---- DICOM DA / TM / DT -------------------------------------------------------------------


def parse_da(text: str) -> date:
    """A DICOM DA (``YYYYMMDD``, or the old ``YYYY.MM.DD``)."""
    digits = re.sub(r"[^0-9]", "", str(text))
    if len(digits) != 8:
        raise ValueError(f"not a DICOM date: {text!r}")
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def parse_tm(text: str) -> time:
    """A DICOM TM (``HHMMSS.FFFFFF``, shorter forms, or the old ``HH:MM:SS``)."""
    raw = str(text).strip().replace(":", "")
    m = re.fullmatch(r"(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?", raw)
    if not m:
        raise ValueError(f"not a DICOM time: {text!r}")
    hh, mm, ss, frac = m.groups()
    micro = int((frac or "0").ljust(6, "0"))
    return time(int(hh), int(mm or 0), int(ss or 0), micro)


def parse_dt(text: str) -> datetime:
    """A DICOM DT (``YYYYMMDDHHMMSS.FFFFFF&ZZXX``); the UTC offset is dropped (every time of
    one exam is in the same zone)."""
    raw = re.split(r"[+-]", str(text).strip(), maxsplit=1)[0]
    if len(raw) < 8:
        raise ValueError(f"not a DICOM date-time: {text!r}")
    day = parse_da(raw[:8])
    clock = parse_tm(raw[8:]) if len(raw) > 8 else time(0)
    return datetime.combine(day, clock)


def _datetime(ds: Any, date_kw: str, time_kw: str) -> datetime | None:
    d, t = _value(ds, date_kw), _value(ds, time_kw)
    if d is None or t is None:
        return None
    try:
        return datetime.combine(parse_da(str(d)), parse_tm(str(t)))
    except ValueError:
        raise _absurd(ds, time_kw, None, "not a readable DICOM date and time") from None


def _private_text(ds: Any, tag: tuple[int, int]) -> str | None:
    """A private element's value as text (implicit-VR files give bytes), or None."""
    if tag not in ds:
        return None
    value = ds[tag].value
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore")
    text = str(value).strip().strip("\x00")
    return text or None


# ---- the factor -----------------------------------------------------------------------------


def scan_datetime(series: Sequence[Any]) -> datetime:
    """The scan date-time of a series (QIBA): series date-time, unless an acquisition of the
    series precedes it; then GE's private date-time, else the earliest acquisition."""
    first = series[0]
    series_dt = _datetime(first, "SeriesDate", "SeriesTime")
    if series_dt is None:
        raise _missing(first, "SeriesTime", "the scan time is the series date and time")
    acquisitions = (_datetime(ds, "AcquisitionDate", "AcquisitionTime") for ds in series)
    known = [a for a in acquisitions if a is not None]
    if not known or min(known) >= series_dt:
        return series_dt
    ge = _private_text(first, GE_PRIVATE_SCAN_DATETIME)
    if ge:
        try:
            return parse_dt(ge)
        except ValueError:
            pass  # an unreadable private value: fall back to the acquisitions, as QIBA does
    return min(known)


def injection_datetime(ds: Any, scan: datetime, half_life_s: float) -> tuple[datetime, str]:
    """When the radiopharmaceutical was given: its start date-time, else its start time on
    the series date (the day before when that puts it after the scan but a plausible uptake
    time before it: an exam spanning midnight)."""
    info = _radiopharmaceutical(ds)
    full = _value(info, "RadiopharmaceuticalStartDateTime")
    if full is not None:
        try:
            return parse_dt(str(full)), "RadiopharmaceuticalStartDateTime"
        except ValueError:
            raise _absurd(
                ds, "RadiopharmaceuticalStartDateTime", None, "not a readable DT"
            ) from None
    clock = _value(info, "RadiopharmaceuticalStartTime")
    if clock is None:
        raise _missing(
            ds,
            "RadiopharmaceuticalStartTime",
            "neither RadiopharmaceuticalStartDateTime (0018,1078) nor "
            "RadiopharmaceuticalStartTime gives the injection time",
        )
    series_day = _value(ds, "SeriesDate")
    if series_day is None:
        raise _missing(ds, "SeriesDate", "the injection time is read on the series date")
    try:
        start = datetime.combine(parse_da(str(series_day)), parse_tm(str(clock)))
    except ValueError:
        raise _absurd(ds, "RadiopharmaceuticalStartTime", None, "not a readable TM") from None
    if start > scan:
        before = start - timedelta(days=1)
        if (scan - before).total_seconds() <= MAX_UPTAKE_HALF_LIVES * half_life_s:
            return before, "RadiopharmaceuticalStartTime"
    return start, "RadiopharmaceuticalStartTime"


def _radiopharmaceutical(ds: Any) -> Any:
    seq = _value(ds, "RadiopharmaceuticalInformationSequence")
    if not seq:
        raise _missing(
            ds,
            "RadiopharmaceuticalInformationSequence",
            "it holds the injected dose, half-life and injection time",
        )
    return seq[0]


def _check_corrections(ds: Any) -> None:
    corrected = _value(ds, "CorrectedImage")
    if corrected is None:
        raise _missing(
            ds, "CorrectedImage", "SUV needs attenuation (ATTN) and decay (DECY) corrected images"
        )
    items = [corrected] if isinstance(corrected, str) else list(corrected)
    values = {str(v).strip().upper() for v in items}
    lacking = sorted({"ATTN", "DECY"} - values)
    if lacking:
        raise ItemError(
            Reason.SUV_UNSUPPORTED,
            f"{_file(ds)}: {_tag('CorrectedImage')} = {sorted(values)} lacks {lacking}: "
            "SUV needs attenuation- and decay-corrected images",
        )


def _bqml_factor(series: Sequence[Any]) -> float:
    """Weight (g) over the decay-corrected dose (Bq): SUVbw per Bq/ml."""
    ds = series[0]
    weight = _float(ds, ds, "PatientWeight", "body-weight SUV needs the patient's weight")
    if not WEIGHT_KG_RANGE[0] <= weight <= WEIGHT_KG_RANGE[1]:
        raise _absurd(ds, "PatientWeight", weight, f"not a weight in kg within {WEIGHT_KG_RANGE}")
    info = _radiopharmaceutical(ds)
    dose = _float(ds, info, "RadionuclideTotalDose", "SUV divides by the injected dose")
    if not DOSE_BQ_RANGE[0] <= dose <= DOSE_BQ_RANGE[1]:
        raise _absurd(
            ds,
            "RadionuclideTotalDose",
            dose,
            f"not an injected activity in Bq within {DOSE_BQ_RANGE[0]:.0e}..{DOSE_BQ_RANGE[1]:.0e}"
            " (a zero dose, or one stored in MBq?)",
        )
    half_life = _float(ds, info, "RadionuclideHalfLife", "the dose is decayed to the scan time")
    if half_life <= 0:
        raise _absurd(ds, "RadionuclideHalfLife", half_life, "a half-life must be positive")
    decay = str(_value(ds, "DecayCorrection") or "").strip().upper()
    if decay == "ADMIN":
        return weight * 1000.0 / dose
    if decay != "START":
        if not decay:
            raise _missing(ds, "DecayCorrection", "SUV needs to know the decay reference time")
        raise ItemError(
            Reason.SUV_UNSUPPORTED,
            f"{_file(ds)}: {_tag('DecayCorrection')} = {decay}: only START and ADMIN are supported",
        )
    scan = scan_datetime(series)
    start, start_tag = injection_datetime(ds, scan, half_life)
    uptake_s = (scan - start).total_seconds()
    if uptake_s < 0:
        raise _absurd(
            ds,
            start_tag,
            None,
            f"the injection is {-uptake_s / 60:.0f} min after the scan start: SUV needs the "
            "injection before the scan",
        )
    if uptake_s > MAX_UPTAKE_HALF_LIVES * half_life:
        raise _absurd(
            ds,
            start_tag,
            None,
            f"an uptake time of {uptake_s / 3600:.1f} h is over {MAX_UPTAKE_HALF_LIVES:g} "
            "half-lives",
        )
    decayed = dose * 2.0 ** (-uptake_s / half_life)
    return weight * 1000.0 / decayed


def suv_bw_scale_factor(series: Sequence[Any]) -> float:
    """The series-level factor from pixel value after rescale to body-weight SUV (QIBA).

    ``series``: the pydicom datasets of one PET series (any order; headers suffice). Raises
    ``ItemError`` naming the file and tag when an input is missing or absurd.
    """
    if not series:
        raise ItemError(Reason.SUV_MISSING_TAG, "an empty PET series has no SUV factor")
    ds = series[0]
    _check_corrections(ds)
    units = str(_value(ds, "Units") or "").strip().upper()
    if units == "GML":
        return 1.0
    if units == "BQML":
        return _bqml_factor(series)
    if units == "CNTS":
        suv_scale = _private_text(ds, PHILIPS_SUV_SCALE)
        if suv_scale is not None:
            factor = float(suv_scale)
            if not (math.isfinite(factor) and factor > 0):
                raise _absurd(ds, "Philips SUV scale factor (7053,1000)", suv_scale, "not > 0")
            return factor
        activity_scale = _private_text(ds, PHILIPS_ACTIVITY_SCALE)
        if activity_scale is None:
            raise ItemError(
                Reason.SUV_MISSING_TAG,
                f"{_file(ds)}: Units CNTS without the Philips private SUV scale factor "
                "(7053,1000) or activity concentration scale factor (7053,1009)",
            )
        return float(activity_scale) * _bqml_factor(series)
    if not units:
        raise _missing(ds, "Units", "SUV needs the pixel units (BQML, CNTS or GML)")
    raise ItemError(
        Reason.SUV_UNSUPPORTED,
        f"{_file(ds)}: {_tag('Units')} = {units}: only BQML, CNTS and GML give SUV",
    )
