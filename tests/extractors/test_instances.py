"""``extractors.instances.instance_maker``: the frozen dataclass instance its class makes,
without the frozen ``__init__`` (the PET and chest X-ray readers make mentions with it)."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from extractors.instances import instance_maker


@dataclasses.dataclass(frozen=True)
class _Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()


def test_the_instance_is_the_one_the_class_makes() -> None:
    make = instance_maker(_Point)
    made, want = make(3, 4, ("a",)), _Point(3, 4, ("a",))
    assert made == want and hash(made) == hash(want) and repr(made) == repr(want)
    assert list(vars(made).items()) == [("x", 3), ("y", 4), ("tags", ("a",))]
    assert pickle.loads(pickle.dumps(made)) == want
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.x = 1  # type: ignore[misc]
    for wrong in ((3, 4), (3, 4, (), 5)):  # every field, by position: no fewer, no more
        with pytest.raises(ValueError):
            make(*wrong)


def test_classes_whose_init_does_more_are_refused() -> None:
    @dataclasses.dataclass
    class Mutable:
        x: int

    @dataclasses.dataclass(frozen=True)
    class Checked:
        x: int

        def __post_init__(self) -> None:
            assert self.x >= 0

    @dataclasses.dataclass(frozen=True, slots=True)
    class Slotted:
        x: int

    @dataclasses.dataclass(frozen=True)
    class Derived:
        x: int
        y: int = dataclasses.field(init=False, default=0)

    @dataclasses.dataclass(frozen=True)
    class KeywordOnly:
        x: int
        y: int = dataclasses.field(default=0, kw_only=True)

    @dataclasses.dataclass(frozen=True)
    class InitOnly:
        x: int
        scale: dataclasses.InitVar[int] = 1

    for cls in (Mutable, Checked, Slotted, Derived, KeywordOnly, InitOnly, int):
        with pytest.raises(TypeError, match="not a frozen dataclass"):
            instance_maker(cls)


def test_the_readers_mentions() -> None:
    from extractors.reports.extract import FindingMention, extract_findings

    (m, *_) = extract_findings("Small left pleural effusion.")
    assert m == FindingMention(*vars(m).values())
    assert list(vars(m)) == [f.name for f in dataclasses.fields(FindingMention)]
