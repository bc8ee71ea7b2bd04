"""stackctl.cli.typer_plain_values: plain values skip typer's pydantic coercion, with
the same results and the same errors as typer's own coercion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer import core as typer_core
from typer.testing import CliRunner

from stackctl.cli import typer_plain_values

REPO = Path(__file__).resolve().parents[3]


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def cmd(
        name: str = typer.Argument(...),
        files: list[str] = typer.Option([], "-c"),
        flag: bool = typer.Option(False, "--flag"),
        count: int = typer.Option(0, "--count"),
        keep: int = typer.Option(10, "--keep", min=1),
        ratio: float = typer.Option(0.5, "--ratio"),
        label: str | None = typer.Option(None, "--label"),
        mode: str = typer.Option("always", "--mode"),
    ) -> None:
        values = [name, files, flag, count, keep, ratio, label, mode]
        typer.echo(json.dumps([[type(v).__name__, v] for v in values]))

    @app.command()
    def other() -> None:  # a second command, so `cmd` is a subcommand as in stackctl
        pass

    return app


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(_app(), ["cmd", *args])
    return result.exit_code, result.output


CASES = [
    ["web"],
    ["web", "-c", "a.yml", "-c", "b.yml", "--flag"],
    ["web", "--count", "3", "--keep", "2", "--ratio", "2", "--label", "x", "--mode", "never"],
    ["web", "--count", "three"],  # not an int: typer's own error
    ["web", "--keep", "0"],  # below min: typer's own error
    ["web", "--ratio", "1e-3"],
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c) for c in CASES])
def test_same_values_and_errors_as_typer(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert typer_plain_values.install()
    ours = _run(args)
    original = getattr(typer_core, "build_runtime_param")._stackctl_original  # noqa: B009
    monkeypatch.setattr(typer_core, "build_runtime_param", original)
    assert ours == _run(args)


def test_install_is_idempotent() -> None:
    assert typer_plain_values.install()
    installed = getattr(typer_core, "build_runtime_param")  # noqa: B009
    assert typer_plain_values.install()
    assert getattr(typer_core, "build_runtime_param") is installed  # noqa: B009


def test_a_stackctl_command_does_not_import_pydantic(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yml"
    stack.write_text("services:\n  web:\n    image: nginx:1\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from stackctl.cli.app import app\n"
        "from stackctl.cli.common import run_app\n"
        f"sys.argv = ['stackctl', 'validate', '-c', {str(stack)!r}]\n"
        "rc = run_app(app)\n"
        "print(rc, 'pydantic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.stdout.strip().splitlines()[-1] == "0 False", done.stdout + done.stderr
