"""``--profile``: services selected with the Compose Specification's profile semantics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stackctl.core.load.loading import load_stack
from stackctl.errors import Severity, StackFileError

# The illustrative example of the Compose Specification (15-profiles.md).
SPEC_EXAMPLE = """\
services:
  foo:
    image: foo:1
  bar:
    image: bar:1
    profiles: [test]
  baz:
    image: baz:1
    depends_on: [bar]
    profiles: [test]
  zot:
    image: zot:1
    depends_on: [bar]
    profiles: [debug]
"""


def _load(tmp_path: Path, text: str, *profiles: str) -> Any:
    (tmp_path / "stack.yml").write_text(text)
    return load_stack(["stack.yml"], env={}, cwd=str(tmp_path), profiles=list(profiles))


@pytest.mark.parametrize(
    ("profiles", "services"),
    [
        ((), ["foo"]),
        (("test",), ["bar", "baz", "foo"]),
        (("debug", "test"), ["bar", "baz", "foo", "zot"]),
        (("*",), ["bar", "baz", "foo", "zot"]),
        (("other",), ["foo"]),
    ],
)
def test_the_spec_example(tmp_path: Path, profiles: tuple[str, ...], services: list[str]) -> None:
    loaded = _load(tmp_path, SPEC_EXAMPLE, *profiles)
    assert sorted(loaded.stack.services) == services


def test_no_profile_warns_which_services_are_left_out(tmp_path: Path) -> None:
    (warning,) = _load(tmp_path, SPEC_EXAMPLE).findings
    assert (warning.severity, warning.code) == (Severity.WARNING, "SC305")
    assert "bar, baz, zot have profiles and are not deployed" in warning.message
    assert warning.hint is not None and "--profile debug --profile test" in warning.hint
    assert (warning.location.line, warning.path) == (6, "services.bar.profiles")
    # an active profile: no warning, even if it leaves some out
    assert _load(tmp_path, SPEC_EXAMPLE, "test").findings == ()


def test_depending_on_a_service_no_profile_enables_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(StackFileError) as caught:
        _load(tmp_path, SPEC_EXAMPLE, "debug")
    (error,) = [f for f in caught.value.findings if f.severity is Severity.ERROR]
    assert error.code == "SC224"
    assert (
        error.message == "zot depends on bar, which no active profile enables (its profiles: test)"
    )
    assert (error.location.line, error.location.column) == (13, 18)


def test_required_false_drops_the_dependency(tmp_path: Path) -> None:
    text = SPEC_EXAMPLE.replace(
        "    depends_on: [bar]\n    profiles: [debug]",
        "    depends_on:\n      bar:\n        condition: service_started\n        required: false\n"
        "    profiles: [debug]",
    )
    loaded = _load(tmp_path, text, "debug")
    assert sorted(loaded.stack.services) == ["foo", "zot"]
    assert loaded.stack.services["zot"].depends_on == ()
    # with bar enabled, the dependency stays
    both = _load(tmp_path, text, "debug", "test")
    assert [d.service for d in both.stack.services["zot"].depends_on] == ["bar"]


def test_left_out_services_are_still_validated(tmp_path: Path) -> None:
    text = SPEC_EXAMPLE.replace("    image: zot:1\n", "    image: zot:1\n    replica: 2\n")
    with pytest.raises(StackFileError) as caught:
        _load(tmp_path, text, "test")
    assert any(f.path == "services.zot.replica" for f in caught.value.findings)


def test_a_file_without_profiles_is_unaffected(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "services:\n  web:\n    image: x:1\n", "anything")
    assert list(loaded.stack.services) == ["web"] and loaded.findings == ()


def test_cli_profile_option(tmp_path: Path, run_stackctl: Any) -> None:
    (tmp_path / "stack.yml").write_text(SPEC_EXAMPLE)
    code, out, err = run_stackctl("validate", cwd=str(tmp_path))
    assert code == 0 and "(1 services, 1 warning(s))" in out and "SC305" in err
    code, out, _ = run_stackctl("validate", "--profile", "test", cwd=str(tmp_path))
    assert code == 0 and "(3 services, 0 warning(s))" in out
    code, out, _ = run_stackctl("config", "--profile", "test", cwd=str(tmp_path))
    assert code == 0 and "  baz:" in out and "  zot:" not in out
    code, _, err = run_stackctl("validate", "--profile", "debug", cwd=str(tmp_path))
    assert code == 1 and "SC224" in err
