"""Parsing and formatting of the units stack files use, the way Docker reads them.

- durations: Go's ``time.ParseDuration`` syntax (``1m30s``, ``500ms``, ``1.5h``) -> ns;
- byte sizes: docker's ``RAMInBytes`` (``512m``, ``1g``, ``1.5g``, ``1024``; binary
  multiples, optional ``b``/``ib`` suffix) -> bytes;
- CPUs: docker's ``ParseCPUs`` (a decimal number of CPUs, at most 9 decimals) -> nano-CPUs.

Each parser raises :class:`UnitError` with a plain-language message.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

_NS_PER_UNIT = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # Go accepts both micro signs
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_BYTES = re.compile(r"^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$")
_BYTE_MULTIPLIERS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_MAX_INT64 = (1 << 63) - 1


class UnitError(ValueError):
    """A value that is not a valid duration, byte size or CPU count."""


@functools.lru_cache(maxsize=4096, typed=True)  # the same few values repeat across services
def parse_duration(text: str) -> int:
    """Go duration string -> nanoseconds. Negative durations are refused."""
    if not isinstance(text, str):
        raise UnitError(f"'{text}' is not a duration")
    value = text.strip()
    if value in ("0", "+0", "-0"):
        return 0
    body = value[1:] if value[:1] in "+-" else value
    if value.startswith("-"):
        raise UnitError(f"duration '{text}' is negative")
    if not body:
        raise UnitError("duration is empty")
    total = Fraction(0)
    position = 0
    for match in _DURATION_PART.finditer(body):
        if match.start() != position:
            break
        total += Fraction(match.group(1)) * _NS_PER_UNIT[match.group(2)]
        position = match.end()
    if position != len(body) or position == 0:
        if re.fullmatch(r"\d+(\.\d+)?", body):
            raise UnitError(f"duration '{text}' has no unit")
        raise UnitError(f"'{text}' is not a duration")
    nanoseconds = int(total)
    if nanoseconds > _MAX_INT64:
        raise UnitError(f"duration '{text}' is too long")
    return nanoseconds


def format_duration(nanoseconds: int) -> str:
    """Nanoseconds -> Go's ``time.Duration.String()`` form (``1m0s``, ``500ms``, ``0s``)."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    ns = abs(nanoseconds)
    if ns < 1_000:
        return f"{sign}{ns}ns"
    if ns < 1_000_000:
        return f"{sign}{_fraction(ns, 1_000)}µs"  # Go prints the micro sign
    if ns < 1_000_000_000:
        return f"{sign}{_fraction(ns, 1_000_000)}ms"
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = _fraction(rest, 1_000_000_000)
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{sign}{minutes}m{seconds}s"
    return f"{sign}{seconds}s"


def _fraction(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{str(frac).rjust(digits, '0').rstrip('0')}"


@functools.lru_cache(maxsize=4096, typed=True)
def parse_bytes(value: str | int) -> int:
    """docker's RAMInBytes: ``512m`` -> 536870912; plain integers are bytes."""
    if isinstance(value, bool):
        raise UnitError(f"'{value}' is not a byte size")
    if not isinstance(value, int | str):
        raise UnitError(f"'{value}' is not a byte size")
    if isinstance(value, int):
        if value < 0:
            raise UnitError(f"byte size {value} is negative")
        return value
    match = _BYTES.match(value.strip())
    if not match:
        raise UnitError(f"'{value}' is not a byte size")
    number = Decimal(match.group(1))
    unit = (match.group(2) or "").lower()
    result = int(number * _BYTE_MULTIPLIERS.get(unit, 1))
    if result > _MAX_INT64:
        raise UnitError(f"byte size '{value}' is too large")
    return result


@functools.lru_cache(maxsize=4096, typed=True)
def parse_cpus(value: str | int | float) -> int:
    """docker's ParseCPUs: ``"0.5"`` -> 500_000_000 nano-CPUs."""
    if isinstance(value, bool):
        raise UnitError(f"'{value}' is not a number of CPUs")
    text = str(value).strip()
    try:
        cpus = Fraction(Decimal(text))
    except (InvalidOperation, ValueError, OverflowError):
        raise UnitError(f"'{value}' is not a number of CPUs") from None
    if cpus < 0:
        raise UnitError(f"number of CPUs '{value}' is negative")
    nano = cpus * 1_000_000_000
    if nano.denominator != 1:
        raise UnitError(f"number of CPUs '{value}' is too precise (at most 9 decimals)")
    return int(nano)


def parse_file_mode(value: str | int) -> int:
    """Permission bits: an int (YAML reads ``0440`` as octal already) or an octal string."""
    if isinstance(value, bool):
        raise UnitError(f"'{value}' is not a file mode")
    if isinstance(value, int):
        if not 0 <= value <= 0o7777:
            raise UnitError(f"file mode {value} is outside 0-07777")
        return value
    text = str(value).strip()
    if not re.fullmatch(r"0?o?[0-7]{1,4}", text):
        raise UnitError(f"'{value}' is not an octal file mode such as 0440")
    return int(text.replace("o", ""), 8)


def format_cpus(nano_cpus: int) -> str:
    """Nano-CPUs -> the decimal string docker prints (``500000000`` -> ``0.5``)."""
    return _fraction(nano_cpus, 1_000_000_000)
