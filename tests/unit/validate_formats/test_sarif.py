"""``validate --format sarif``: a SARIF 2.1.0 log that the OASIS schema accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from stackctl.cli.finding_formats import render_findings
from stackctl.core.render.findings_sarif import RuleText, sarif_log
from stackctl.core.validate.catalogue import rule as catalogued
from stackctl.errors import Finding, Location, Severity

SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[2] / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"
    ).read_text(encoding="utf-8")
)
VALIDATOR = jsonschema.Draft4Validator(SCHEMA)

FINDINGS = [
    Finding(
        Severity.ERROR,
        "network 'nope' is not defined",
        "SC201",
        Location("stacks/app stack.yml", 6, 16),
        "services.web.networks[0]",
        "declare it under top-level networks:",
    ),
    Finding(
        Severity.WARNING, "no health check", "SC101", Location("app.yml", 3, 5), "services.web"
    ),
    Finding(Severity.WARNING, "no health check", "SC101", Location("app.yml", 9, 5), "services.db"),
    Finding(Severity.ERROR, "no stack file given", "SC030", Location(None)),
    Finding(Severity.ERROR, "stdin is odd", "SC030", Location("<stdin>", 1, 1)),
]


def _errors(log: dict[str, Any]) -> list[str]:
    return [f"{list(e.path)}: {e.message}" for e in VALIDATOR.iter_errors(log)]


def test_the_log_is_valid_sarif_2_1_0() -> None:
    log = sarif_log(FINDINGS, version="0.1.0")
    assert _errors(log) == []
    assert log["version"] == "2.1.0"


def test_the_schema_check_is_real() -> None:
    log = sarif_log(FINDINGS, version="0.1.0")
    del log["version"]
    log["runs"][0]["results"][0]["level"] = "fatal"
    assert len(_errors(log)) == 2


def test_rules_and_results() -> None:
    def rule_of(code: str) -> RuleText | None:
        return (
            RuleText("unknown network", "A service joins a network no file declares.")
            if (code == "SC201")
            else None
        )

    log = sarif_log(FINDINGS, version="0.1.0", rule_of=rule_of)
    assert _errors(log) == []
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["SC030", "SC101", "SC201"]
    assert rules[2]["shortDescription"] == {"text": "unknown network"}
    assert rules[2]["fullDescription"] == {"text": "A service joins a network no file declares."}
    assert rules[1]["defaultConfiguration"] == {"level": "warning"}
    first = run["results"][0]
    assert (first["ruleId"], first["ruleIndex"], first["level"]) == ("SC201", 2, "error")
    assert first["message"]["text"] == (
        "services.web.networks[0]: network 'nope' is not defined "
        "(declare it under top-level networks:)"
    )
    (where,) = first["locations"]
    assert where["physicalLocation"] == {
        "artifactLocation": {"uri": "stacks/app%20stack.yml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 6, "startColumn": 16},
    }
    assert where["logicalLocations"] == [
        {"fullyQualifiedName": "services.web.networks[0]", "kind": "member"}
    ]
    # no file, or standard input: no physical location
    assert "locations" not in run["results"][3]
    assert "locations" not in run["results"][4]


def test_no_findings_is_an_empty_valid_run() -> None:
    log = sarif_log([], version="0.1.0")
    assert _errors(log) == [] and log["runs"][0]["results"] == []


@pytest.mark.parametrize("fmt", ["sarif", "github"])
def test_cli(fmt: str, tmp_path: Path, run_stackctl: Any) -> None:
    (tmp_path / "stack.yml").write_text(
        "services:\n  web:\n    image: x\n    deploy:\n      replica: 2\n"
    )
    code, out, err = run_stackctl(
        "validate", "-c", str(tmp_path / "stack.yml"), "--format", fmt, cwd=str(tmp_path)
    )
    assert code == 1, err
    if fmt == "sarif":
        log = json.loads(out)
        assert _errors(log) == []
        (result,) = log["runs"][0]["results"]
        location = result["locations"][0]["physicalLocation"]
        # made relative to the working directory (the checkout in CI)
        assert location["artifactLocation"]["uri"] == "stack.yml"
        assert location["region"] == {"startLine": 5, "startColumn": 7}
    else:
        assert out.startswith("::error file=stack.yml,line=5,col=7,title=SC010")


def test_cli_refuses_an_unknown_format(tmp_path: Path, run_stackctl: Any) -> None:
    (tmp_path / "stack.yml").write_text("services:\n  web:\n    image: x\n")
    code, _, err = run_stackctl("validate", "--format", "xml", cwd=str(tmp_path))
    assert code == 1 and "--format must be one of" in err


def test_rules_take_the_catalogues_words_when_it_has_the_code() -> None:
    finding = Finding(Severity.ERROR, "unknown key 'replica'", "SC010", Location("s.yml", 5, 7))
    log = json.loads(render_findings("sarif", [finding], "/nowhere"))
    assert _errors(log) == []
    (rule,) = log["runs"][0]["tool"]["driver"]["rules"]
    expected = catalogued("SC010")
    assert expected is not None
    assert rule["shortDescription"]["text"] == expected.title
    assert rule["fullDescription"]["text"] == expected.explanation
