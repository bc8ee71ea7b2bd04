"""``validate --format github``: workflow annotations, escaped as the Actions toolkit does."""

from __future__ import annotations

from stackctl.core.render.findings_github import annotation, render_github
from stackctl.errors import Finding, Location, Severity


def test_error_and_warning_annotations() -> None:
    findings = [
        Finding(Severity.ERROR, "bad", "SC010", Location("stack.yml", 5, 7), "services.web"),
        Finding(Severity.WARNING, "meh", "SC101", Location("stack.yml", 9, None)),
    ]
    assert render_github(findings, lambda code: "unknown key" if code == "SC010" else None) == (
        "::error file=stack.yml,line=5,col=7,title=SC010 unknown key::services.web: bad\n"
        "::warning file=stack.yml,line=9,title=SC101::meh"
    )


def test_escaping_follows_the_toolkit() -> None:
    finding = Finding(
        Severity.ERROR,
        "100% wrong\r\nsecond line",
        "SC001",
        Location("dir,with:odd%name.yml", 2, 3),
        hint="a, b: c",
    )
    line = annotation(finding, lambda code: "title: with, commas")
    assert line == (
        "::error file=dir%2Cwith%3Aodd%25name.yml,line=2,col=3,"
        "title=SC001 title%3A with%2C commas"
        "::100%25 wrong%0D%0Asecond line (a, b: c)"
    )
    assert "\n" not in line


def test_a_finding_without_a_file_has_no_file_property() -> None:
    line = annotation(Finding(Severity.ERROR, "no stack file", "SC030"))
    assert line == "::error title=SC030::no stack file"


def test_nothing_to_say_is_empty() -> None:
    assert render_github([]) == ""
