"""SIGINT/SIGTERM during apply: the first asks for a clean stop, a second interrupts at once."""

from __future__ import annotations

import signal

import pytest

from stackctl.cli.cmd_apply import stop_on_signals


@pytest.mark.parametrize("first", [signal.SIGINT, signal.SIGTERM])
def test_first_signal_asks_to_stop_and_a_second_interrupts_at_once(
    first: signal.Signals, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with stop_on_signals() as stop:
        assert not stop.is_set()
        signal.raise_signal(first)
        assert stop.is_set()  # the rollout stops at its next step
        assert f"{first.name}: stopping after the current step" in capsys.readouterr().err
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGTERM)
    assert {sig: signal.getsignal(sig) for sig in before} == before  # handlers restored
