"""The one error type of the PET/CT extractors: an input that cannot give a trustworthy SUV
volume or label. It carries the quarantine reason code and a message that names the file and
the DICOM tag or field at fault, so the exam is set aside with a cause a user can act on."""

from __future__ import annotations

from schemas.enums import Reason


class PetInputError(ValueError):
    """A PET/CT input that cannot be used (missing or absurd tag, unreadable slice, grids
    that disagree). ``reason`` is the quarantine code; ``message`` names file and tag."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message
