"""CPython ``enum`` internals: adding a member to a closed ``str`` Enum at run time.

Why: transformers validates ``TrainingArguments.optim`` with ``OptimizerNames(value)``, a closed
string Enum, and ``HfArgumentParser`` takes the ``--optim`` choices from iterating it; the
standard library has no API to extend an Enum. What the enum machinery does for a member
defined in the class body (checked on CPython 3.10.13, 3.11.7, 3.12.1, 3.13.0, and against
3.14's ``enum.py``): build the instance, set ``_name_``/``_value_``/``__objclass__``/``_sort_order_``,
and record it in ``_member_names_`` (iteration), ``_member_map_`` (``Enum["NAME"]``),
``_value2member_map_`` (``Enum(value)``, unpickling) and, from 3.13.1, ``_hashable_values_``
(``value in Enum`` reads only that list from 3.13.4/3.14).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, cast

__all__ = ["add_str_enum_member"]

#: Bookkeeping attributes every supported CPython has on an Enum class.
REQUIRED = ("_member_names_", "_member_map_", "_value2member_map_")


def add_str_enum_member(enum_cls: type[Enum], member_name: str, value: str) -> Enum:
    """Add ``member_name = value`` to a ``str`` Enum as if it had been in the class body; return it.

    Idempotent: if a member already has ``value`` (registered before, or the library grew the
    name itself) that member is returned unchanged.

    Raises:
        RuntimeError: ``member_name`` is taken by another value, or this Python's Enum lacks
            the bookkeeping this relies on.
    """
    missing = [name for name in REQUIRED if not hasattr(enum_cls, name)]
    if missing:
        raise RuntimeError(
            f"cannot extend {enum_cls.__name__}: this Python's Enum has no {missing} "
            "(radam_integrations._compat.enums was checked on CPython 3.10-3.14)"
        )
    existing = enum_cls._value2member_map_.get(value)
    if existing is not None:
        return existing
    if member_name in enum_cls._member_map_:
        raise RuntimeError(
            f"{enum_cls.__name__}.{member_name} already exists with value "
            f"{enum_cls._member_map_[member_name].value!r}; cannot register {value!r} under that name"
        )
    # Built as the enum machinery builds a class-body member (see the module docstring): a bare str
    # instance of the class first, then the attributes Enum gives its members; Any until complete.
    member: Any = str.__new__(cast("type[str]", enum_cls), value)
    member._name_ = member_name
    member._value_ = value
    member.__objclass__ = enum_cls
    member._sort_order_ = len(enum_cls._member_names_)
    # Set the class attribute first: EnumType.__setattr__ refuses names already in _member_map_.
    type.__setattr__(enum_cls, member_name, member)
    enum_cls._member_names_.append(member_name)
    enum_cls._member_map_[member_name] = member
    enum_cls._value2member_map_[value] = member
    hashable = getattr(enum_cls, "_hashable_values_", None)  # CPython >= 3.13.1
    if isinstance(hashable, list) and value not in hashable:
        hashable.append(value)
    return member
