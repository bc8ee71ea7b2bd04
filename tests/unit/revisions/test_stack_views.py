"""Formatting helpers of the history/status/ls commands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from stackctl.cli.stack_views import age, confirm_or_abort, table, when
from stackctl.errors import UserAbort

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=5), "5s"),
        (timedelta(minutes=3, seconds=59), "3m"),
        (timedelta(hours=2, minutes=1), "2h"),
        (timedelta(days=9), "9d"),
        (timedelta(seconds=-30), "0s"),  # clock skew between hosts: never negative
    ],
)
def test_age(delta: timedelta, expected: str) -> None:
    assert age(NOW - delta, NOW) == expected


def test_unknown_times_show_a_dash() -> None:
    assert age(None, NOW) == "-"
    assert when(None) == "-"


def test_when_is_utc_to_the_second() -> None:
    local = datetime(2026, 11, 27, 14, 0, 5, 123, tzinfo=UTC).astimezone()
    assert when(local) == "2026-11-27 14:00:05"


def test_table_aligns_columns_without_trailing_spaces() -> None:
    text = table(["REV", "OUTCOME"], [["1", "applied"], ["12", "rolled_back"]])
    assert text.splitlines() == [
        "REV  OUTCOME",
        "1    applied",
        "12   rolled_back",
    ]


def test_confirmation_off_a_tty_needs_yes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(UserAbort) as info:
        confirm_or_abort("Remove?", yes=False)
    assert info.value.hint is not None and "--yes" in info.value.hint
    confirm_or_abort("Remove?", yes=True)  # no prompt, no error
