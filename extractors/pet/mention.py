"""What the SUV mention reader returns (``extractors.pet.report``): one ``SuvMention`` per SUV
value a report states. Its own module, kept out of the compiled reader
(``extractors.pet.compiled``): a plain frozen dataclass, pickled, compared and printed as
Python's."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SuvMention:
    """One SUV value stated by a report, with what the sentence says about it."""

    suv: float
    slice: int | None  # axial slice / image number (middle of a range), None when none given
    role: str  # "lesion", "prior", "reference" or "physiologic" (the text calls it so)
    laterality: str | None  # "left", "right", "bilateral" or None
    sentence: str
    start: int  # character offsets of the value in the whole text
    end: int
    sentence_start: int  # character offsets of the sentence in the whole text
    sentence_end: int
    metric: str = "max"  # "max" (SUVmax or unqualified SUV), "peak" or "mean"
    slice_range: tuple[int, int] | None = None  # "slices 51-53"
    series: int | None = None  # "series 3, image 89", "(4:87)"
    non_axial: str | None = None  # "coronal" / "sagittal" / "mip": a number was given, not axial
    cue: str | None = None  # the words that made the role prior or reference
    anatomy: tuple[str, ...] = ()  # organ words of the value's stretch ("liver", "lung"...)

    @property
    def text(self) -> str:
        return self.sentence[self.start - self.sentence_start : self.end - self.sentence_start]
