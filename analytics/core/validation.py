"""From pydantic's ValidationError to the one-line messages every configuration error carries.

The settings, ``apps.toml``, its alarm rules and the users file each say *where* a value is wrong
as a path (``resources.apis[0].kind``) and *what* is wrong in words an operator can act on
("expected a number, got 'fast'"), not pydantic's ("Input should be a valid number"). Validators
raise ``ValueError`` with the final wording; pydantic's own checks are reworded here, once.
Only the first problem is reported: one fix at a time, in field order.
Stdlib and pydantic only: the CDK app imports the catalog, and through it this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError
from pydantic_core import ErrorDetails

#: pydantic error type -> our wording (``{input!r}`` is the offending value).
_WORDING = {
    "missing": "required",
    "extra_forbidden": "unknown key",
    "string_type": "expected a string, got {input!r}",
    "bool_type": "expected true or false, got {input!r}",
    "bool_parsing": "expected true or false, got {input!r}",
    "int_type": "expected a whole number, got {input!r}",
    "int_parsing": "expected a whole number, got {input!r}",
    "int_from_float": "expected a whole number, got {input!r}",
    "float_type": "expected a number, got {input!r}",
    "float_parsing": "expected a number, got {input!r}",
    "dict_type": "expected a table, got {input!r}",
    "model_type": "expected a table, got {input!r}",
    "model_attributes_type": "expected a table, got {input!r}",
    "list_type": "expected a list, got {input!r}",
    "tuple_type": "expected a list, got {input!r}",
}


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with an input: where (``""`` = the input as a whole) and what."""

    path: str
    message: str
    value: Any


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("resources", "apis", 0, "kind")`` -> ``"resources.apis[0].kind"``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def _message(err: ErrorDetails) -> str:
    error = (err.get("ctx") or {}).get("error")
    if err["type"] in ("value_error", "assertion_error") and error is not None:
        return str(error)
    wording = _WORDING.get(err["type"])
    return wording.format(input=err["input"]) if wording else err["msg"]


def first_problem(exc: ValidationError, *,
                  unknown_keys: Mapping[str, str] | None = None) -> Problem:
    """The first error of ``exc`` in our words.

    ``unknown_keys`` maps the path of a table to a better message for a key it does not know
    (e.g. the kinds of resources there are), where plain "unknown key" would leave a guess.
    """
    err = exc.errors(include_url=False)[0]
    path = field_path(err["loc"])
    message = _message(err)
    if err["type"] == "extra_forbidden" and unknown_keys:
        message = unknown_keys.get(field_path(err["loc"][:-1]), message)
    return Problem(path, message, err["input"])


# -- value types shared by the configuration models ---------------------------------------------
def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {value!r}")
    return value


def _str_map(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()):
        raise ValueError(f'expected a table of name = "value" strings, got {value!r}')
    return dict(value)


#: TOML is typed, so "200" is a mistake, not a number: these accept only the right type.
Text = Annotated[str, BeforeValidator(_text)]
Number = Annotated[float, BeforeValidator(_number)]
WholeNumber = Annotated[int, BeforeValidator(_whole)]
StrMap = Annotated[dict[str, str], BeforeValidator(_str_map)]
