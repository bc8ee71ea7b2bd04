"""`stackctl secret encrypt`, --age-identity and interop with Debian's age CLI, both ways."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.testkit import skip_guarantee

from stackctl.core.load.loading import load_stack

STACKCTL = str(Path(sys.executable).with_name("stackctl"))
PLAINTEXT = b"interop-s3cret\x00\xffbytes\n"

STACK = """\
services:
  web:
    image: stackctl-demo/web:1
    env_file: app.env.age
    secrets: [token]
secrets:
  token:
    file: token.age
"""


def age_cli() -> str:
    """Debian's age CLI (./dev installs it); missing is a failure in CI."""
    found = shutil.which("age")
    if found is None or shutil.which("age-keygen") is None:
        skip_guarantee("the age CLI is not installed (./dev installs Debian's age)")
    return found


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "STACKCTL_AGE_IDENTITY_FILE"}
    return subprocess.run(
        [STACKCTL, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**environment, **(env or {})},
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.fixture
def keygen(tmp_path: Path) -> tuple[Path, str]:
    """An identity made by age-keygen, and its public key."""
    age_cli()
    key = tmp_path / "deploy.key"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    public = subprocess.run(
        ["age-keygen", "-y", str(key)], check=True, capture_output=True, text=True
    ).stdout.strip()
    return key, public


@pytest.mark.parametrize("armor", [False, True])
def test_stackctl_encrypts_and_age_decrypts(
    tmp_path: Path, keygen: tuple[Path, str], armor: bool
) -> None:
    key, public = keygen
    (tmp_path / "token").write_bytes(PLAINTEXT)
    args = ["secret", "encrypt", "token", "--recipient", public] + (["--armor"] if armor else [])
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote token.age" in result.stdout
    encrypted = (tmp_path / "token.age").read_bytes()
    assert encrypted.startswith(b"-----BEGIN AGE" if armor else b"age-encryption.org/v1")
    decrypted = subprocess.run(
        [age_cli(), "-d", "-i", str(key), str(tmp_path / "token.age")],
        check=True,
        capture_output=True,
    ).stdout
    assert decrypted == PLAINTEXT


@pytest.mark.parametrize("armor", [False, True])
def test_age_encrypts_and_stackctl_decrypts(
    tmp_path: Path, keygen: tuple[Path, str], armor: bool
) -> None:
    key, public = keygen
    (tmp_path / "stack.yml").write_text(STACK)
    flags = ["-a"] if armor else []
    for name, data in (("token.age", PLAINTEXT), ("app.env.age", b"GREETING=hi-from-age\n")):
        subprocess.run(
            [age_cli(), *flags, "-r", public, "-o", str(tmp_path / name)],
            input=data,
            check=True,
            capture_output=True,
        )
    loaded = load_stack(
        ["stack.yml"], env={}, cwd=str(tmp_path), age_identity_files=[str(key)]
    ).stack
    assert loaded.secrets["token"].content == PLAINTEXT
    assert loaded.services["web"].environment["GREETING"] == "hi-from-age"
    result = run("config", "--age-identity", str(key), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "GREETING: (sensitive)" in result.stdout and "hi-from-age" not in result.stdout


def test_recipients_file(tmp_path: Path, keygen: tuple[Path, str]) -> None:
    key, public = keygen
    (tmp_path / "keys.txt").write_text(f"# deploy key\n{public}\n\n")
    (tmp_path / "prod.env").write_text("A=1\n")
    result = run("secret", "encrypt", "prod.env", "-R", "keys.txt", "-o", "out.age", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    decrypted = subprocess.run(
        [age_cli(), "-d", "-i", str(key), str(tmp_path / "out.age")],
        check=True,
        capture_output=True,
    ).stdout
    assert decrypted == b"A=1\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "no recipient given"),
        (["-r", "age1nope"], "is not an age recipient"),
        (["-R", "missing.txt"], "recipients file missing.txt does not exist"),
    ],
)
def test_encrypt_errors(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "token").write_bytes(PLAINTEXT)
    result = run("secret", "encrypt", "token", *args, cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "token.age").exists()


def test_encrypt_refuses_to_replace_without_force(tmp_path: Path, keygen: tuple[Path, str]) -> None:
    _, public = keygen
    (tmp_path / "token").write_bytes(PLAINTEXT)
    (tmp_path / "token.age").write_bytes(b"old")
    result = run("secret", "encrypt", "token", "-r", public, cwd=tmp_path)
    assert result.returncode == 1 and "already exists" in result.stderr
    assert (tmp_path / "token.age").read_bytes() == b"old"
    assert run("secret", "encrypt", "token", "-r", public, "--force", cwd=tmp_path).returncode == 0


def test_validate_checks_age_files_without_an_identity(
    tmp_path: Path, keygen: tuple[Path, str]
) -> None:
    key, public = keygen
    (tmp_path / "stack.yml").write_text(STACK)
    (tmp_path / "token").write_bytes(PLAINTEXT)
    (tmp_path / "app.env").write_text("GREETING=hello\n")
    for name in ("token", "app.env"):
        assert run("secret", "encrypt", name, "-r", public, cwd=tmp_path).returncode == 0
    assert run("validate", cwd=tmp_path).returncode == 0
    # Other commands need the identity, from the option or the environment.
    missing = run("config", cwd=tmp_path)
    assert missing.returncode == 1 and "no identity was given" in missing.stderr
    by_env = run("config", cwd=tmp_path, env={"STACKCTL_AGE_IDENTITY_FILE": str(key)})
    assert by_env.returncode == 0, by_env.stderr
    (tmp_path / "token.age").write_bytes((tmp_path / "token.age").read_bytes()[:70])
    corrupt = run("validate", cwd=tmp_path)
    assert corrupt.returncode == 1
    assert (
        "stack.yml:8:" in corrupt.stderr and "token.age is not a valid age file" in corrupt.stderr
    )


def test_cli_start_up_does_not_import_pyrage() -> None:
    code = "import sys, stackctl.cli.app; print('pyrage' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_ssh_keys_work_as_recipient_and_identity(tmp_path: Path) -> None:
    age = age_cli()
    if shutil.which("ssh-keygen") is None:
        skip_guarantee("ssh-keygen is not installed (./dev installs openssh-client)")
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public = (tmp_path / "id_ed25519.pub").read_text().strip()
    (tmp_path / "stack.yml").write_text(STACK.replace("    env_file: app.env.age\n", ""))
    (tmp_path / "token").write_bytes(PLAINTEXT)
    assert run("secret", "encrypt", "token", "-r", public, cwd=tmp_path).returncode == 0
    by_age = subprocess.run(
        [age, "-d", "-i", str(key), str(tmp_path / "token.age")], check=True, capture_output=True
    )
    assert by_age.stdout == PLAINTEXT
    loaded = load_stack(["stack.yml"], env={}, cwd=str(tmp_path), age_identity_files=[str(key)])
    assert loaded.stack.secrets["token"].content == PLAINTEXT
