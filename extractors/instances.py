"""One way to make the extractors' frozen dataclass instances by the hundred thousand:
``instance_maker(cls)`` is ``cls(*values)`` without the frozen ``__init__``, which sets
each field through ``object.__setattr__`` (most of the cost of making one). The instance is
the same: equal, hashing, printing and pickling alike, its ``__dict__`` in field order, still
frozen."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def instance_maker(cls: type[T]) -> Callable[..., T]:
    """A function of every field value of the frozen dataclass ``cls``, by position, in field
    order (no fewer, no more: ValueError), that makes the instance ``cls(*values)`` makes.

    Its source is written from the fields, as dataclasses write ``__init__``: the values
    unpacked into a dict display in field order, which one ``__dict__.update`` copies (an
    update from the pairs of a zip reads each pair: about half the cost, issue 11 speed).
    Refused for a class whose ``__init__`` does more or takes other arguments:
    ``__post_init__``, slots, or parameters that are not its fields by position (init-only
    variables, ``init=False`` or keyword-only fields)."""
    params = getattr(cls, "__dataclass_params__", None)
    fields = dataclasses.fields(cls) if params is not None else ()
    if (
        params is None
        or not params.frozen
        or hasattr(cls, "__post_init__")
        or hasattr(cls, "__slots__")
        or [(p.name, p.kind) for p in inspect.signature(cls).parameters.values()]
        != [(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for f in fields]
    ):
        raise TypeError(f"{cls.__qualname__}: not a frozen dataclass with a plain __init__")
    names = [f"v{i}" for i in range(len(fields))]
    items = ", ".join(f"{f.name!r}: {name}" for f, name in zip(fields, names, strict=True))
    source = (
        "def make(*values):\n"
        f"    {', '.join(names)}, = values\n"
        "    instance = new(cls)\n"
        f"    instance.__dict__.update({{{items}}})\n"
        "    return instance\n"
    )
    scope: dict = {"new": object.__new__, "cls": cls}
    exec(source, scope)  # (the source above, written from the field names)
    make = scope["make"]
    make.__qualname__ = make.__name__ = f"make_{cls.__name__}"
    make.__doc__ = f"{cls.__qualname__}(*values), without its frozen __init__."
    return make
