"""Arrow schemas derived from the typed record dataclasses, so each schema is declared once.

The mapping is deliberately small: str, int, float, bool, Optional[...], list[...] and nested
dataclasses (structs). Fields whose hint is not Optional are non-nullable, and
``conformance_problems`` enforces that (pyarrow itself does not check nullability on build).
"""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Callable
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

import pyarrow as pa

T = TypeVar("T")

_SCALARS: dict[type, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
}


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        if len(args) == 1 and len(get_args(hint)) == 2:
            return args[0], True
        raise TypeError(f"only Optional[X] unions are supported, got {hint!r}")
    return hint, False


def _arrow_type(hint: Any) -> pa.DataType:
    if hint in _SCALARS:
        return _SCALARS[hint]
    if isinstance(hint, type) and issubclass(hint, str):  # StrEnum vocabularies
        return pa.string()
    if get_origin(hint) is list:
        (item,) = get_args(hint)
        inner, nullable = _unwrap_optional(item)
        return pa.list_(pa.field("item", _arrow_type(inner), nullable=nullable))
    if dataclasses.is_dataclass(hint):
        return pa.struct(list(schema_of(hint)))
    raise TypeError(f"no Arrow type for {hint!r}")


@functools.cache
def schema_of(cls: type) -> pa.Schema:
    """The Arrow schema of a record dataclass, fields in declaration order."""
    hints = get_type_hints(cls)
    fields = []
    for f in dataclasses.fields(cls):
        inner, nullable = _unwrap_optional(hints[f.name])
        fields.append(pa.field(f.name, _arrow_type(inner), nullable=nullable))
    return pa.schema(fields)


def to_row(obj: Any) -> dict[str, Any]:
    """A dataclass instance as a plain dict (enums become their string values; nested
    dataclasses dicts, tuples lists): what ``dataclasses.asdict`` then ``str`` of each enum
    gives, without its deep copies. Values of the exact types ``_AS_IS`` are taken without
    dispatch (most of a record's values): every record is converted several times per build
    (chunk tables, validation, shard JSON, content tag)."""
    row = {}
    for name in _field_names(type(obj)):
        value = getattr(obj, name)
        row[name] = value if type(value) in _AS_IS else _plain(value)
    return row


# types whose values ``_plain`` returns unchanged (``str(s)`` of an exact str is s itself);
# subclasses (a StrEnum, an IntEnum) still take the dispatch below
_AS_IS = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def _plain(value: Any) -> Any:
    if type(value) in _AS_IS:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, list | tuple):
        return [v if type(v) in _AS_IS else _plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_row(value)
    return value


Decode = Callable[[Any], Any]


def from_row(cls: type[T], row: dict[str, Any]) -> T:
    """Rebuild a record dataclass from a row (the inverse of ``to_row``)."""
    kwargs = {}
    for name, decode in _decoders(cls):
        if name in row:
            value = row[name]
            kwargs[name] = value if value is None or decode is None else decode(value)
    return cls(**kwargs)


@functools.cache
def _decoders(cls: type) -> tuple[tuple[str, Decode | None], ...]:
    """Each field of ``cls`` with how a non-null value of it is rebuilt (None: as it is),
    from the type hints, resolved once per class."""
    hints = get_type_hints(cls)
    return tuple((f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls))


def _decoder(hint: Any) -> Decode | None:
    inner, _ = _unwrap_optional(hint)
    if get_origin(inner) is list:
        (item,) = get_args(inner)
        each = _decoder(item)
        if each is None:
            return list
        return lambda values: [None if v is None else each(v) for v in values]
    if dataclasses.is_dataclass(inner):
        return functools.partial(from_row, inner)
    return None


def conformance_problems(row: dict[str, Any], schema: pa.Schema) -> list[str]:
    """Every way row breaks schema: missing or extra fields, nulls in non-null fields, types."""
    return conformance_problems_of([row], schema)[0]


_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError)


def conformance_problems_of(rows: list[dict[str, Any]], schema: pa.Schema) -> list[list[str]]:
    """``conformance_problems`` of each row: the rows that pass the field checks are then
    converted to Arrow together (one conversion, not one per row), and one by one only when
    that fails, to name the rows with type errors."""
    problems: list[list[str]] = []
    spec = _schema_spec(schema)
    for row in rows:
        found: list[str] = []
        _check_struct(row, spec, "", found)
        problems.append(found)
    typed = [i for i, found in enumerate(problems) if not found]
    if not typed:
        return problems
    struct = _struct_of(schema)
    try:
        pa.array([rows[i] for i in typed], type=struct)
    except _ARROW_ERRORS:
        for i in typed:
            try:
                pa.array([rows[i]], type=struct)
            except _ARROW_ERRORS as exc:
                problems[i].append(f"type error: {exc}")
    return problems


@functools.lru_cache(maxsize=64)
def _struct_of(schema: pa.Schema) -> pa.DataType:
    return pa.struct(list(schema))


# a field as the checks need it: name, nullable, kind ("struct", "list" or "" for a scalar)
# and what is inside (a struct's ``_Struct``; a list item's own spec)
_Spec = tuple[str, bool, str, Any]
_Struct = tuple[frozenset[str], tuple[_Spec, ...]]  # field names, field specs


def _field_spec(f: pa.Field) -> _Spec:
    if pa.types.is_struct(f.type):
        return (f.name, f.nullable, "struct", _struct_spec_of(f.type))
    if pa.types.is_list(f.type):
        return (f.name, f.nullable, "list", _field_spec(f.type.value_field))
    return (f.name, f.nullable, "", None)


def _struct_spec_of(struct: pa.DataType) -> _Struct:
    fields = list(struct)
    return frozenset(f.name for f in fields), tuple(_field_spec(f) for f in fields)


@functools.lru_cache(maxsize=64)
def _schema_spec(schema: pa.Schema) -> _Struct:
    """A schema's field names and specs, nested ones included, worked out once per schema
    (the checks run on every row of every record a build validates)."""
    return _struct_spec_of(_struct_of(schema))


def _check_struct(row: Any, struct: _Struct, path: str, problems: list[str]) -> None:
    if not isinstance(row, dict):
        problems.append(f"{path or 'row'}: expected an object, got {type(row).__name__}")
        return
    names, specs = struct
    if not names.issuperset(row):
        for extra in sorted(set(row) - names):
            problems.append(f"{path}{extra}: field not in schema")
    for spec in specs:
        name, nullable, kind, _ = spec
        if name not in row:
            problems.append(f"{path}{name}: missing")
            continue
        value = row[name]
        if value is None:
            if not nullable:
                problems.append(f"{path}{name}: null in a non-nullable field")
        elif kind:
            _check_value(value, spec, f"{path}{name}", problems)


def _check_value(value: Any, spec: _Spec, where: str, problems: list[str]) -> None:
    """Problems of a non-null struct or list value (a scalar's type is Arrow's to check)."""
    _, _, kind, inner = spec
    if kind == "struct":
        _check_struct(value, inner, where + ".", problems)
        return
    if not isinstance(value, list | tuple):
        problems.append(f"{where}: expected a list, got {type(value).__name__}")
        return
    _, item_nullable, item_kind, _ = inner
    for i, item in enumerate(value):
        if item is None:
            if not item_nullable:
                problems.append(f"{where}[{i}]: null in a non-nullable field")
        elif item_kind:
            _check_value(item, inner, f"{where}[{i}]", problems)
