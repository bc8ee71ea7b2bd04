"""Examples shown at the end of each command's ``--help`` (its epilog).

Kept in one place so the help texts read alike; ``stackctl.cli.app`` attaches
them to every command that does not define its own epilog, and a unit test
checks that every command has one. No square brackets: typer renders help as
rich markup.
"""

from __future__ import annotations

import inspect
import re

EXAMPLES: dict[str, tuple[str, ...]] = {
    "version": ("stackctl version",),
    "validate": (
        "stackctl validate -c stack.yml -c stack.prod.yml --env-file prod.env --strict",
        "stackctl validate --json > validation.json",
    ),
    "config": ("stackctl config -c stack.yml -c stack.prod.yml > resolved.yml",),
    "diff": (
        "stackctl diff web -c stack.yml",
        "stackctl diff web -c stack.yml --format markdown > plan.md",
        "stackctl diff web -c stack.yml --out plan.json",
        "stackctl diff web --revision 3",
    ),
    "apply": (
        "stackctl apply web -c stack.yml --yes",
        "stackctl apply web --plan plan.json --yes",
        "stackctl apply web -c stack.yml --yes --on-failure pause --timeout 15m --json",
    ),
    "rollback": (
        "stackctl rollback web --yes",
        "stackctl rollback web --to 3 --yes",
    ),
    "history": ("stackctl history web", "stackctl history web --json"),
    "status": ("stackctl status web", "stackctl status web --json"),
    "ls": ("stackctl ls", "stackctl ls --json"),
    "rm": ("stackctl rm web --yes", "stackctl rm web --yes --keep-history"),
    "unlock": ("stackctl unlock web",),
    "agent": (
        "stackctl agent --config /etc/stackctl/agent.yml",
        "stackctl agent --config agent.yml --once --json",
        "stackctl agent suspend web",
        "stackctl agent status --json",
    ),
    "secret": (
        "stackctl secret encrypt db_password.txt --recipient "
        "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
        "stackctl secret encrypt prod.env --recipients-file deploy-keys.txt --armor",
    ),
}


def epilog_for(command: str) -> str | None:
    """The help epilog for ``command``, or None when there is no example for it."""
    lines = EXAMPLES.get(command)
    if not lines:
        return None
    title = "Example:" if len(lines) == 1 else "Examples:"
    return title + "\n\n" + "\n".join(f"  {line}" for line in lines)


def reflow_docstring(text: str) -> str:
    """A command docstring as help text: paragraphs kept, line breaks inside them joined.

    typer's rich help keeps single line breaks, so a docstring wrapped at the source's
    line length would show ragged lines in ``--help``.
    """
    paragraphs = re.split(r"\n\s*\n", inspect.cleandoc(text))
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
