"""Plain YAML scalars resolved the way ``docker stack deploy`` resolves them.

The Docker CLI parses stack files with Go's yaml.v3, which follows YAML 1.2's
core schema with a few Go quirks, not PyYAML's YAML 1.1 rules. The differences
reach Swarm objects, so they matter:

- ``yes``/``no``/``on``/``off`` stay strings (PyYAML would say bool);
- ``80:80`` stays a string (PyYAML reads base-60 ints: 4880);
- ``1e3`` is a float (PyYAML: a string); ``010`` is octal 8, ``08`` is the float 8;
- an integer too big for int64/uint64 becomes a float;
- a timestamp decoded into an untyped value becomes Go's ``time.Time.String()``
  text (``2001-12-14`` -> ``2001-12-14 00:00:00 +0000 UTC``).

``go_str`` turns a resolved value back into the text Go's ``fmt.Sprint`` would
print, which is what ends up in environment variables and labels.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import Decimal
from typing import Any

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT64_MAX = 2**64 - 1

_FIXED: dict[str, Any] = {
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
    "": None,
    "~": None,
    "null": None,
    "Null": None,
    "NULL": None,
    ".nan": math.nan,
    ".NaN": math.nan,
    ".NAN": math.nan,
    ".inf": math.inf,
    ".Inf": math.inf,
    ".INF": math.inf,
    "+.inf": math.inf,
    "+.Inf": math.inf,
    "+.INF": math.inf,
    "-.inf": -math.inf,
    "-.Inf": -math.inf,
    "-.INF": -math.inf,
}

_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_TIMESTAMP = re.compile(
    r"^(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:(?P<sep>[Tt ])(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{1,2}):(?P<s>[0-9]{1,2})"
    r"(?:\.(?P<frac>[0-9]{1,9}))?(?P<tz>Z|[-+][0-9]{2}:[0-9]{2})?)?$"
)
_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}


def _go_parse_int(text: str, *, unsigned: bool) -> int | None:
    """Go's ``strconv.ParseInt(text, 0, 64)`` (or ParseUint): None when it fails."""
    sign = 1
    body = text
    if body[:1] in "+-" and body:
        if unsigned:
            return None
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    base = 10
    lower = body[:2].lower()
    if lower == "0x":
        base, body = 16, body[2:]
    elif lower == "0o":
        base, body = 8, body[2:]
    elif lower == "0b":
        base, body = 2, body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, body = 8, body[1:]
    if not body or body.strip(_DIGITS[base]):  # strip leaves text only if a char is no digit
        return None
    value = sign * int(body, base)
    if unsigned:
        return value if value <= _UINT64_MAX else None
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _go_time_string(match: re.Match[str]) -> str | None:
    """Render a YAML timestamp as Go's ``time.Time.String()`` does; None if Go rejects it.

    yaml.v3 accepts ``2006-1-2``, ``2006-1-2 15:4:5[.frac]`` (no zone) and
    ``2006-1-2T15:4:5[.frac]`` with a zone (``Z`` or ``+07:00``).
    """
    sep, tz = match["sep"], match["tz"]
    if sep is not None and (sep == " ") == (tz is not None):
        return None
    year, month, day = int(match["y"]), int(match["mo"]), int(match["d"])
    hour = int(match["h"] or 0)
    minute = int(match["mi"] or 0)
    second = int(match["s"] or 0)
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    text = f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
    frac = (match["frac"] or "").rstrip("0")
    if frac:
        text += "." + frac
    if tz is None or tz == "Z":
        return text + " +0000 UTC"
    offset = tz.replace(":", "")
    return f"{text} {offset} {offset}"


def _go_float(text: str) -> float | str:
    """Go's ParseFloat fails on overflow (1e999), and yaml.v3 then keeps the text."""
    value = float(text)
    return text if math.isinf(value) else value


def resolve_plain(text: str) -> Any:
    """The value yaml.v3 gives an untagged plain scalar when decoding into ``any``."""
    if text in _FIXED:
        return _FIXED[text]
    hint = text[0]
    if hint == ".":
        return _go_float(text) if _YAML_FLOAT.match(text) else text
    if hint not in "+-0123456789":
        return text
    if hint.isdigit():
        stamp = _TIMESTAMP.match(text)
        rendered = _go_time_string(stamp) if stamp is not None else None
        if rendered is not None:
            return rendered
    plain = text.replace("_", "")
    if not plain:
        return text
    # "10s", "512m": text ending in a letter that is a digit in no base is no integer
    if plain[-1] in _DIGITS[16]:
        for unsigned in (False, True):
            number = _go_parse_int(plain, unsigned=unsigned)
            if number is not None:
                return number
    if _YAML_FLOAT.match(plain):
        value = _go_float(plain)
        return text if isinstance(value, str) else value
    return text


def go_float_str(value: float) -> str:
    """Go's ``fmt.Sprint(float64)`` (``%g``, shortest): exponent form from 1e6 and below 1e-4."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digits_tuple, exponent = Decimal(repr(value)).as_tuple()
    digits = "".join(map(str, digits_tuple)).rstrip("0") or "0"
    assert isinstance(exponent, int)
    # Decimal position relative to the first digit.
    point = len(digits_tuple) + exponent
    exp10 = point - 1
    prefix = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return prefix + digits + "0" * (point - len(digits))
    return f"{prefix}{digits[:point]}.{digits[point:]}"


def go_str(value: Any) -> str:
    """A resolved scalar as the text Go's ``fmt.Sprint`` prints (env values, labels)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float_str(value)
    return str(value)
