"""Every interpolation form, escapes, nesting, and located findings."""

from __future__ import annotations

import pytest
from support.stackfile_builders import parse

from stackctl.core.load.doc_paths import make_locator
from stackctl.core.load.interpolate import (
    CODE_INVALID,
    CODE_REQUIRED,
    CODE_UNSET,
    InterpolatedStr,
    InterpolationError,
    interpolate_document,
    substitute,
)
from stackctl.errors import Location, Severity

ENV = {"SET": "val", "EMPTY": ""}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$SET", "val"),
        ("${SET}", "val"),
        ("${SET}x", "valx"),
        ("$SET$SET", "valval"),
        ("a $SET b", "a val b"),
        ("$SET-suffix", "val-suffix"),
        # :- and -
        ("${SET:-d}", "val"),
        ("${UNSET:-d}", "d"),
        ("${EMPTY:-d}", "d"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        ("${UNSET:-}", ""),
        ("${UNSET:-a b c}", "a b c"),
        ("${UNSET:-a:-b}", "a:-b"),
        # :+ and +
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${UNSET:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        # ? forms that pass
        ("${SET:?must be set}", "val"),
        ("${EMPTY?must be set}", ""),
        # escapes
        ("$$SET", "$SET"),
        ("$${SET}", "${SET}"),
        ("$$", "$"),
        ("cost: $$5", "cost: $5"),
        # a stray closing brace stays (docker: "${SET}}" -> "val}")
        ("${SET}}", "val}"),
        ("${SET:-a}b}", "valb}"),
        # nesting
        ("${UNSET:-${SET}}", "val"),
        ("${UNSET:-${UNSET2:-deep}}", "deep"),
        ("${SET:+${SET}-${SET}}", "val-val"),
        # $ in a default is literal unless it opens ${...} (docker keeps it verbatim)
        ("${UNSET:-$2y$05$hash}", "$2y$05$hash"),
        # names are case-sensitive, may hold digits and underscores
        ("${_a1}", "x"),
        ("no variables at all", "no variables at all"),
    ],
)
def test_forms(template: str, expected: str) -> None:
    assert substitute(template, {**ENV, "_a1": "x"})[0] == expected


@pytest.mark.parametrize(
    ("template", "unset"),
    [
        ("$UNSET", ["UNSET"]),
        ("${UNSET}", ["UNSET"]),
        ("${UNSET-d}", []),
        ("${UNSET:+x}", []),
        ("${UNSET:-$OTHER}", []),  # a literal $ in a default is not a variable
        ("${UNSET:-${OTHER}}", ["OTHER"]),
        ("${SET:-${OTHER}}", []),  # defaults are only evaluated when used
    ],
)
def test_unset_variables_are_reported(template: str, unset: list[str]) -> None:
    assert substitute(template, ENV)[1] == unset


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("${UNSET:?is required here}", "required variable UNSET is not set: is required here"),
        ("${EMPTY:?must not be empty}", "required variable EMPTY is empty: must not be empty"),
        ("${UNSET?gone}", "required variable UNSET is not set: gone"),
        ("${UNSET?}", "required variable UNSET is not set"),
        ("${UNSET:?need ${SET}}", "required variable UNSET is not set: need val"),
    ],
)
def test_required_forms_fail_with_the_users_message(template: str, message: str) -> None:
    with pytest.raises(InterpolationError) as caught:
        substitute(template, ENV)
    assert caught.value.code == CODE_REQUIRED
    assert caught.value.message == message


@pytest.mark.parametrize(
    "template", ["$1", "a $ b", "cost 5$", "${}", "${1A}", "${SET:x}", "${SET x}", "${SET", "${A:-"]
)
def test_invalid_templates(template: str) -> None:
    with pytest.raises(InterpolationError) as caught:
        substitute(template, ENV)
    assert caught.value.code == CODE_INVALID


def test_runaway_nesting_is_bounded() -> None:
    template = "${A:-" * 50 + "x" + "}" * 50
    with pytest.raises(InterpolationError):
        substitute(template, {})


def _interpolate(text: str, env: dict[str, str], *, strict: bool = False):  # type: ignore[no-untyped-def]
    doc = parse(text)
    locate = make_locator(doc.locations, Location("stack.yml"))
    return interpolate_document(doc.data, env, locate, strict=strict)


def test_document_values_are_interpolated_and_marked() -> None:
    result = _interpolate(
        "services:\n  web:\n    image: 'nginx:${TAG}'\n    deploy:\n      replicas: ${N}\n",
        {"TAG": "1.25", "N": "3"},
    )
    web = result.data["services"]["web"]
    assert web["image"] == "nginx:1.25" and isinstance(web["image"], InterpolatedStr)
    assert web["deploy"]["replicas"] == "3" and isinstance(
        web["deploy"]["replicas"], InterpolatedStr
    )
    assert result.findings == []


def test_unchanged_strings_are_not_marked() -> None:
    result = _interpolate("services:\n  web:\n    image: nginx\n    user: $$HOME\n", {})
    web = result.data["services"]["web"]
    assert type(web["image"]) is str
    assert web["user"] == "$HOME" and isinstance(web["user"], InterpolatedStr)


def test_keys_are_never_interpolated() -> None:
    result = _interpolate("services:\n  ${NAME}:\n    image: x\n", {"NAME": "web"})
    assert list(result.data["services"]) == ["${NAME}"]


def test_everything_but_version_is_interpolated_like_docker() -> None:
    result = _interpolate("x-note: ${V:-d} $$x\nversion: '$V'\nservices: {}\n", {"V": "3"})
    assert result.data["x-note"] == "3 $x" and result.data["version"] == "$V"
    assert result.findings == []


def test_extension_fields_inside_services_are_interpolated() -> None:
    result = _interpolate("services:\n  web:\n    x-owner: $WHO\n", {"WHO": "me"})
    assert result.data["services"]["web"]["x-owner"] == "me"


def test_unset_variable_warning_names_it_and_where() -> None:
    result = _interpolate("services:\n  web:\n    image: 'nginx:${TAG}'\n", {})
    (finding,) = result.findings
    assert finding.severity is Severity.WARNING and finding.code == CODE_UNSET
    assert "TAG" in finding.message
    assert finding.path == "services.web.image"
    assert finding.location == Location("stack.yml", 3, 5)
    assert result.data["services"]["web"]["image"] == "nginx:"


def test_strict_makes_unset_variables_errors() -> None:
    result = _interpolate("services:\n  web:\n    image: $IMG\n", {}, strict=True)
    assert [f.severity for f in result.findings] == [Severity.ERROR]


def test_required_variable_error_is_located() -> None:
    result = _interpolate(
        "services:\n  web:\n    environment:\n      - DB=${DB:?set DB first}\n", {}
    )
    (finding,) = result.findings
    assert finding.severity is Severity.ERROR and finding.code == CODE_REQUIRED
    assert finding.message == "required variable DB is not set: set DB first"
    assert finding.path == "services.web.environment[0]"
    assert finding.location == Location("stack.yml", 4, 9)


def test_invalid_format_error_has_the_escape_hint() -> None:
    result = _interpolate("services:\n  web:\n    command: echo $1\n", {})
    (finding,) = result.findings
    assert finding.code == CODE_INVALID and finding.hint and "$$" in finding.hint


def test_every_problem_is_reported_at_once() -> None:
    result = _interpolate(
        "services:\n  a:\n    image: ${A?}\n  b:\n    image: $B\n  c:\n    image: $\n", {}
    )
    assert [f.code for f in result.findings] == [CODE_REQUIRED, CODE_UNSET, CODE_INVALID]
    assert [f.location.line for f in result.findings] == [3, 5, 7]


def test_a_template_in_an_anchor_is_reported_once() -> None:
    result = _interpolate(
        "x-d: &d {image: 'app:${TAG}'}\nservices:\n  a: *d\n  b:\n    <<: *d\n    user: x\n"
        "  c:\n    image: ${X?}\n  d:\n    image: ${X?}\n",
        {},
    )
    assert [(f.code, f.location.line) for f in result.findings] == [
        (CODE_UNSET, 1),
        (CODE_REQUIRED, 8),
        (CODE_REQUIRED, 10),
    ]
    assert result.failed_paths == {"services.c.image", "services.d.image"}
