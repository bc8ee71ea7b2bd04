"""``stackctl secret encrypt``: age-encrypt a secret or env file so it can live in git."""

from __future__ import annotations

import typer

from stackctl.cli.examples import epilog_for

secret_app = typer.Typer(
    name="secret",
    help="Encrypted secret files: `stackctl secret encrypt FILE --recipient age1...`.",
    epilog=epilog_for("secret"),
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(secret_app)


@secret_app.command(
    "encrypt",
    epilog=(
        "Example:\n\n"
        "  age-keygen -o deploy.key   # prints the public key age1...\n\n"
        "  stackctl secret encrypt db_password.txt --recipient age1...   # writes "
        "db_password.txt.age\n\n"
        "  stackctl apply shop -c stack.yml --age-identity deploy.key"
    ),
)
def encrypt(
    file: str = typer.Argument(..., help="The plaintext file (a secret, or an env file)."),
    recipients: list[str] = typer.Option(
        [], "--recipient", "-r", help="age public key (age1...) or SSH public key (repeatable)."
    ),
    recipients_files: list[str] = typer.Option(
        [], "--recipients-file", "-R", help="File of recipients, one a line (repeatable)."
    ),
    armor: bool = typer.Option(False, "--armor", "-a", help="Write ASCII-armoured (PEM) text."),
    output: str | None = typer.Option(None, "--output", "-o", help="Default: FILE.age."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output file."),
) -> None:
    """Encrypt FILE to age recipients and write FILE.age (commit that, not FILE).

    Stack files name the .age file (secrets' file:, env_file:, --env-file); apply,
    diff, config and validate decrypt it in memory with --age-identity.
    """
    # lazy: help listings import every command module; load this on use
    from stackctl.cli.secret_encrypt import encrypt_file  # noqa: PLC0415

    target = output or file + ".age"
    count = encrypt_file(file, target, recipients, recipients_files, armor=armor, force=force)
    typer.echo(f"wrote {target} (encrypted to {count} recipient(s)); commit it, not {file}")
