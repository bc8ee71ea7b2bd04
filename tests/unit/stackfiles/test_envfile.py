"""The two env-file readers: variable files (.env, --env-file) and service env_file."""

from __future__ import annotations

import pytest

from stackctl.core.load.envfile import decode_env_file, parse_service_env_file, parse_variable_file


class TestVariableFiles:
    def test_forms(self) -> None:
        text = (
            "# comment\n"
            "\n"
            "PLAIN=value\n"
            "  SPACED  =  padded  \n"
            "export EXPORTED=1\n"
            "SINGLE='a $b # c'\n"
            'DOUBLE="x\\ny\\t\\"z\\""\n'
            "COMMENTED=v # note\n"
            "HASH=a#b\n"
            "EMPTY=\n"
            "BARE\n"
            "DOTTED.NAME=ok\n"
            "PLAIN=later wins\r\n"
        )
        values, findings = parse_variable_file(text, ".env")
        assert findings == []
        assert values == {
            "PLAIN": "later wins",
            "SPACED": "padded",
            "EXPORTED": "1",
            "SINGLE": "a $b # c",
            "DOUBLE": 'x\ny\t"z"',
            "COMMENTED": "v",
            "HASH": "a#b",
            "EMPTY": "",
            "DOTTED.NAME": "ok",
        }

    def test_double_quotes_may_span_lines(self) -> None:
        values, findings = parse_variable_file('KEY="one\ntwo"\nNEXT=1\n', ".env")
        assert values == {"KEY": "one\ntwo", "NEXT": "1"} and findings == []

    @pytest.mark.parametrize(
        ("text", "line", "fragment"),
        [
            ("A=1\nB='open\n", 2, "single quote is never closed"),
            ('A=1\nB="open\nC=2\n', 2, "double quote is never closed"),
            ("A=1\n1BAD=2\n", 2, "not a valid variable name"),
            ("A=1\nthis is not\n", 2, "not NAME=value"),
        ],
    )
    def test_problems_are_located(self, text: str, line: int, fragment: str) -> None:
        values, findings = parse_variable_file(text, "x.env")
        assert values["A"] == "1"
        (finding,) = findings
        assert finding.location.file == "x.env" and finding.location.line == line
        assert fragment in finding.message


class TestServiceEnvFiles:
    def test_docker_rules(self) -> None:
        text = '# c\n  A=1\nB="q"\nC=x # y\nD\nE\nF=\n\tG=tab\nH=a=b\r\n'
        entries, findings = parse_service_env_file(text, "app.env", {"D": "from-env"})
        assert findings == []
        assert [(e.name, e.value, e.line) for e in entries] == [
            ("A", "1", 2),
            ("B", '"q"', 3),
            ("C", "x # y", 4),
            ("D", "from-env", 5),
            ("F", "", 7),
            ("G", "tab", 8),
            ("H", "a=b", 9),
        ]

    @pytest.mark.parametrize(
        ("line", "column", "fragment"),
        [
            ("export A=1", 7, "contains whitespace"),
            ("A B=1", 2, "contains whitespace"),
            ("  G =x", 4, "contains whitespace"),
            ("=x", None, "no variable name"),
        ],
    )
    def test_problems(self, line: str, column: int | None, fragment: str) -> None:
        entries, findings = parse_service_env_file(f"OK=1\n{line}\n", "app.env", {})
        assert [e.name for e in entries] == ["OK"]
        (finding,) = findings
        assert (finding.location.line, finding.location.column) == (2, column)
        assert fragment in finding.message

    @pytest.mark.parametrize(
        "line", ["=s3cret-value", "DB_PASSWORD s3cret-value", "export DB_PASSWORD s3cret-value"]
    )
    def test_problems_never_quote_a_value(self, line: str) -> None:
        # a malformed line of a (decrypted) env file must not put its value in a message
        _, findings = parse_service_env_file(f"OK=1\n{line}\n", "app.env", {})
        (finding,) = findings
        assert finding.location.line == 2
        assert "s3cret" not in finding.message and "DB_PASSWORD" not in finding.message


@pytest.mark.parametrize("line", ["DB_PASSWORD s3cret-value", "s3cret value"])
def test_variable_file_problems_never_quote_a_value(line: str) -> None:
    _, findings = parse_variable_file(f"OK=1\n{line}\n", "prod.env")
    (finding,) = findings
    assert finding.location.line == 2
    assert "s3cret" not in finding.message


def test_decode_drops_bom_and_refuses_bad_utf8() -> None:
    assert decode_env_file(b"\xef\xbb\xbfA=1\n", "x") == ("A=1\n", [])
    text, findings = decode_env_file(b"A=1\nB=\xff\n", "x.env")
    assert text is None and findings[0].location.line == 2
