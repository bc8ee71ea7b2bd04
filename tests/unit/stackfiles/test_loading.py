"""The whole pipeline: files, variables, env files, paths, merging, errors from every stage."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from support.stackfile_builders import errors_of

from stackctl.core.load.loading import load_stack
from stackctl.errors import Location, Severity, StackFileError

Write = Callable[..., Path]
WEB = "services:\n  web:\n    image: nginx:1.25\n"


def _load(tmp_path: Path, *files: str, env: dict[str, str] | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return load_stack(list(files), env=env or {}, cwd=str(tmp_path), **kw)  # type: ignore[arg-type]


def _errors(tmp_path: Path, *files: str, **kw: object) -> list[tuple[str, str]]:
    with pytest.raises(StackFileError) as caught:
        _load(tmp_path, *files, **kw)
    return [(str(f.location), f.message) for f in errors_of(caught.value)]


class TestFiles:
    @pytest.mark.parametrize(
        "present",
        [
            ["compose.yaml", "compose.yml", "docker-compose.yml", "stack.yml"],
            ["compose.yml", "docker-compose.yml", "stack.yml"],
            ["docker-compose.yml", "stack.yml"],
            ["stack.yml"],
        ],
    )
    def test_default_lookup_order(self, tmp_path: Path, write: Write, present: list[str]) -> None:
        for name in present:
            write(name, WEB)
        result = _load(tmp_path)
        assert result.files == (str(tmp_path / present[0]),)

    def test_no_default_file(self, tmp_path: Path) -> None:
        with pytest.raises(StackFileError) as caught:
            _load(tmp_path)
        assert "compose.yaml" in (caught.value.findings[0].hint or "")

    def test_missing_and_directory(self, tmp_path: Path, write: Write) -> None:
        (tmp_path / "dir.yml").mkdir()
        errors = _errors(tmp_path, "nope.yml", "dir.yml")
        assert errors == [
            ("nope.yml", "stack file nope.yml does not exist"),
            ("dir.yml", "dir.yml is a directory, not a stack file"),
        ]

    def test_stdin(self, tmp_path: Path) -> None:
        result = _load(tmp_path, "-", stdin_text=WEB)
        assert result.stack.services["web"].image == "nginx:1.25"
        assert result.files == ("-",)
        assert result.stack.source_files == ("-",)

    def test_stdin_errors_are_named_stdin(self, tmp_path: Path) -> None:
        assert _errors(tmp_path, "-", stdin_text="a: [\n")[0][0].startswith("<stdin>:")

    def test_source_digest_covers_raw_bytes_in_order(self, tmp_path: Path, write: Write) -> None:
        a = write("a.yml", WEB)
        b = write("b.yml", "services:\n  web:\n    user: app\n")
        result = _load(tmp_path, "a.yml", "b.yml")
        expected = hashlib.sha256(a.read_bytes() + b.read_bytes()).hexdigest()
        assert result.stack.source_digest == expected
        assert result.stack.source_files == (str(a), str(b))
        assert result.stack.services["web"].user == "app"

    def test_huge_file_is_refused_without_reading_it(self, tmp_path: Path) -> None:
        big = tmp_path / "big.yml"
        with open(big, "wb") as handle:
            handle.truncate(50 * 1024 * 1024)
        ((where, message),) = _errors(tmp_path, "big.yml")
        assert where == "big.yml" and "50.0 MB" in message and "limit is 20 MB" in message

    def test_errors_of_all_files_are_reported_together(self, tmp_path: Path, write: Write) -> None:
        write("a.yml", "services:\n  web:\n    image: a\n    image: b\n")
        write("b.yml", "services:\n\tweb: {}\n")
        errors = _errors(tmp_path, "a.yml", "b.yml")
        assert [e[0] for e in errors] == ["a.yml:4:5", "b.yml:2:1"]


class TestVariables:
    def test_precedence_process_env_over_env_files_over_dotenv(
        self, tmp_path: Path, write: Write
    ) -> None:
        write("stack.yml", "services:\n  web:\n    image: ${A}-${B}-${C}-${D}\n")
        write(".env", "A=dotenv\nB=dotenv\nC=dotenv\nD=dotenv\n")
        write("one.env", "B=one\nC=one\n")
        write("two.env", "C=two\n")
        result = _load(
            tmp_path, "stack.yml", env={"D": "process"}, env_files=["one.env", "two.env"]
        )
        assert result.stack.services["web"].image == "dotenv-one-two-process"

    def test_dotenv_beside_the_first_file_not_the_cwd(self, tmp_path: Path, write: Write) -> None:
        write("sub/stack.yml", "services:\n  web:\n    image: ${IMG}\n")
        write("sub/.env", "IMG=from-sub\n")
        write(".env", "IMG=from-cwd\n")
        result = _load(tmp_path, "sub/stack.yml")
        assert result.stack.services["web"].image == "from-sub"

    def test_dotenv_syntax(self, tmp_path: Path, write: Write) -> None:
        write(
            "stack.yml",
            "services:\n  web:\n    image: x\n    environment:\n"
            "      - A=${A}\n      - B=${B}\n      - C=${C}\n      - D=${D}\n",
        )
        write(
            ".env",
            "# comment\nexport A=1\nB='quoted # not a comment'\n"
            'C="line\\nbreak"\nD=plain # comment\n',
        )
        env = _load(tmp_path, "stack.yml").stack.services["web"].environment
        assert dict(env) == {
            "A": "1",
            "B": "quoted # not a comment",
            "C": "line\nbreak",
            "D": "plain",
        }

    def test_missing_env_file_is_an_error(self, tmp_path: Path, write: Write) -> None:
        write("stack.yml", WEB)
        ((_where, message),) = _errors(tmp_path, "stack.yml", env_files=["nope.env"])
        assert "nope.env does not exist" in message

    def test_unset_variable_is_a_warning_and_strict_makes_it_an_error(
        self, tmp_path: Path, write: Write
    ) -> None:
        write("stack.yml", "services:\n  web:\n    image: nginx:${TAG}\n")
        result = _load(tmp_path, "stack.yml")
        (warning,) = [f for f in result.findings if f.code == "SC042"]
        assert warning.severity is Severity.WARNING
        assert warning.location == Location("stack.yml", 3, 5)
        errors = _errors(tmp_path, "stack.yml", strict=True)
        assert any("TAG" in message for _, message in errors)

    def test_required_variable_is_reported_once(self, tmp_path: Path, write: Write) -> None:
        write(
            "stack.yml",
            "services:\n  web:\n    image: x\n    deploy:\n"
            "      replicas: ${N:?set the replica count}\n",
        )
        errors = _errors(tmp_path, "stack.yml")
        assert errors == [
            ("stack.yml:5:7", "required variable N is not set: set the replica count")
        ]


class TestTypes:
    def test_interpolated_values_are_cast(self, tmp_path: Path, write: Write) -> None:
        write(
            "stack.yml",
            "services:\n  web:\n    image: x\n    read_only: ${RO}\n"
            "    deploy:\n      replicas: ${N}\n",
        )
        stack = _load(tmp_path, "stack.yml", env={"N": "3", "RO": "yes"}).stack
        assert stack.services["web"].deploy.replicas == 3
        assert stack.services["web"].read_only is True

    def test_literal_strings_are_not_cast_like_docker(self, tmp_path: Path, write: Write) -> None:
        write("stack.yml", "services:\n  web:\n    image: x\n    deploy:\n      replicas: '3'\n")
        errors = _errors(tmp_path, "stack.yml")
        assert [where for where, _ in errors] == ["stack.yml:5:7"]

    @pytest.mark.parametrize(
        "value",
        [
            '"\\x24{IMG}"',  # an escape in a double-quoted scalar
            '"\\u0024{IMG}"',
            "!!binary JHtJTUd9",  # base64 of ${IMG}
        ],
    )
    def test_templates_written_without_a_dollar_are_interpolated(
        self, tmp_path: Path, write: Write, value: str
    ) -> None:
        # A file with no "$" in its text skips interpolation; these still hold one.
        write("stack.yml", f"services:\n  web:\n    image: {value}\n")
        stack = _load(tmp_path, "stack.yml", env={"IMG": "nginx:1.25"}).stack
        assert stack.services["web"].image == "nginx:1.25"

    def test_a_template_in_one_file_is_cast_after_merging(
        self, tmp_path: Path, write: Write
    ) -> None:
        write("a.yml", "services:\n  web:\n    image: x\n    deploy:\n      replicas: 1\n")
        write("b.yml", "services:\n  web:\n    deploy:\n      replicas: ${N}\n")
        stack = _load(tmp_path, "a.yml", "b.yml", env={"N": "4"}).stack
        assert stack.services["web"].deploy.replicas == 4


class TestServiceEnvFiles:
    def test_env_file_then_environment_like_docker(self, tmp_path: Path, write: Write) -> None:
        write(
            "app/stack.yml",
            "services:\n  web:\n    image: x\n    env_file: conf/app.env\n"
            "    environment:\n      - A=override\n      - FROM_ENV\n      - UNSET_BARE\n",
        )
        write("app/conf/app.env", '# c\n  A=1\nB="quoted"\nC=x # kept\nPASS\nEMPTY=\n')
        result = _load(tmp_path, "app/stack.yml", env={"FROM_ENV": "e", "PASS": "p"})
        assert dict(result.stack.services["web"].environment) == {
            "A": "override",
            "B": '"quoted"',
            "C": "x # kept",
            "PASS": "p",
            "EMPTY": "",
            "FROM_ENV": "e",
            "UNSET_BARE": None,
        }

    def test_env_file_problems_are_located_in_the_env_file(
        self, tmp_path: Path, write: Write
    ) -> None:
        write("stack.yml", "services:\n  web:\n    image: x\n    env_file: [a.env, missing.env]\n")
        write("a.env", "OK=1\nBAD NAME=2\n")
        errors = _errors(tmp_path, "stack.yml")
        where = sorted(w for w, _ in errors)
        assert where[0].endswith("a.env:2:4")
        assert where[1] == "stack.yml:4:23"

    def test_later_file_env_file_overrides_earlier_environment(
        self, tmp_path: Path, write: Write
    ) -> None:
        write("a.yml", "services:\n  web:\n    image: x\n    environment: {A: base}\n")
        write("over/b.yml", "services:\n  web:\n    env_file: b.env\n")
        write("over/b.env", "A=from-b-env\n")
        env = _load(tmp_path, "a.yml", "over/b.yml").stack.services["web"].environment
        assert env["A"] == "from-b-env"


class TestPaths:
    def test_relative_paths_resolve_against_the_declaring_file(
        self, tmp_path: Path, write: Write
    ) -> None:
        write(
            "base/stack.yml",
            "services:\n  web:\n    image: x\n    volumes:\n"
            "      - ./data:/data\n      - type: bind\n        source: logs\n"
            "        target: /logs\n    configs: [conf]\nconfigs:\n  conf:\n"
            "    file: ./conf.txt\n",
        )
        write("base/conf.txt", "hello")
        write(
            "prod/override.yml",
            "services:\n  web:\n    volumes:\n      - ./cache:/cache\n"
            "      - named:/named\nvolumes:\n  named: {}\n",
        )
        stack = _load(tmp_path, "base/stack.yml", "prod/override.yml").stack
        mounts = {m.target: m.source for m in stack.services["web"].volumes}
        assert mounts["/data"] == str(tmp_path / "base" / "data")
        assert mounts["/logs"] == str(tmp_path / "base" / "logs")
        assert mounts["/cache"] == str(tmp_path / "prod" / "cache")
        assert mounts["/named"] == "named"
        conf = stack.configs["conf"]
        assert conf.file == str(tmp_path / "base" / "conf.txt")
        assert conf.content_sha256 == hashlib.sha256(b"hello").hexdigest()

    def test_home_is_expanded_from_the_variables(self, tmp_path: Path, write: Write) -> None:
        write("stack.yml", "services:\n  web:\n    image: x\n    volumes: ['~/d:/d']\n")
        stack = _load(tmp_path, "stack.yml", env={"HOME": "/home/me"}).stack
        assert stack.services["web"].volumes[0].source == "/home/me/d"

    def test_missing_config_or_secret_file_is_a_located_error(
        self, tmp_path: Path, write: Write
    ) -> None:
        write(
            "stack.yml",
            "services:\n  web:\n    image: x\n    secrets: [s]\n"
            "secrets:\n  s:\n    file: ./nope.txt\nconfigs:\n  c:\n    external: true\n",
        )
        ((where, message),) = _errors(tmp_path, "stack.yml")
        assert where == "stack.yml:7:5"
        assert "nope.txt" in message

    def test_oversized_secret_is_refused(self, tmp_path: Path, write: Write) -> None:
        write("stack.yml", "services:\n  web:\n    image: x\nsecrets:\n  s:\n    file: big\n")
        write("big", b"x" * (600 * 1024))
        ((where, message),) = _errors(tmp_path, "stack.yml")
        assert "500 KB" in message and where == "stack.yml:6:5"


def test_warnings_from_every_stage_come_back_with_the_stack(tmp_path: Path, write: Write) -> None:
    write(
        "stack.yml",
        "services:\n  web:\n    image: x:${T}\n    container_name: w\n---\nignored: true\n",
    )
    result = _load(tmp_path, "stack.yml")
    codes = {f.code for f in result.findings}
    assert {"SC003", "SC042"} <= codes
    assert any(f.path == "services.web.container_name" for f in result.findings)
    assert all(f.severity is Severity.WARNING for f in result.findings)


def test_relative_cwd_and_default_cwd(
    tmp_path: Path, write: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    write("stack.yml", WEB)
    monkeypatch.chdir(tmp_path)
    result = load_stack([], env={})
    assert result.files == (os.path.join(str(tmp_path), "stack.yml"),)


def test_a_folder_named_dotenv_is_not_an_env_file(tmp_path: Path, write: Write) -> None:
    write("stack.yml", WEB)
    (tmp_path / ".env").mkdir()  # often a Python virtualenv
    assert _load(tmp_path, "stack.yml").stack.services["web"].image == "nginx:1.25"


def test_a_nul_byte_in_a_file_name_is_an_error(tmp_path: Path) -> None:
    ((_where, message),) = _errors(tmp_path, "bad\0name.yml")
    assert "cannot read" in message
