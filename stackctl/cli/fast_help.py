"""The root help and the version, printed without loading typer, rich or any command.

``stackctl --help``, ``stackctl --version`` and ``stackctl version`` are what people
and scripts run most often just to look; they answer from these plain texts in a
few milliseconds. ``stackctl.cli.app`` builds the typer application from the same
texts, and a unit test checks that this root help lists every command and option
of that application with the same words.
"""

from __future__ import annotations

import shutil
import textwrap

ROOT_DESCRIPTION = (
    "Declarative stack deployer for Docker Swarm: validate stack files, preview a "
    "field-level plan, apply it with health gates, keep history and roll back in one step."
    "\n\nExit codes: 0 ok, 1 error (nothing changed), 2 changes pending (diff), "
    "3 failed and rolled back, 4 failed and left paused/partial, 5 timed out."
)
VERSION_HELP = "Show the version and exit."
VERBOSE_HELP = "Print every Engine API call (on stderr) and the totals."
QUIET_HELP = "Print nothing on stdout; errors still go to stderr."
NO_COLOR_HELP = "No colour (also: NO_COLOR=1)."
VERSION_COMMAND_HELP = "Print the version of stackctl."

ROOT_OPTIONS: tuple[tuple[str, str], ...] = (
    ("--version", VERSION_HELP),
    ("-v, --verbose", VERBOSE_HELP),
    ("-q, --quiet", QUIET_HELP),
    ("--no-color", NO_COLOR_HELP),
    ("--install-completion", "Install completion for the current shell."),
    (
        "--show-completion",
        "Show completion for the current shell, to copy it or customize the installation.",
    ),
    ("--help", "Show this message and exit."),
)

# The first paragraph of each command's help, in the order of ``--help`` (typer lists
# the command groups, agent and secret, after the plain commands).
COMMAND_SUMMARIES: tuple[tuple[str, str], ...] = (
    ("validate", "Validate stack files: schema, references, units, and rollout-safety lints."),
    ("config", "Print the stack as stackctl will deploy it (like `docker stack config`)."),
    (
        "diff",
        "Show what `apply` would change: every resource and field that differs between the "
        "stack files and the cluster, the effect of each change (restarts N tasks, in place, "
        "recreate), drift made outside stackctl since the last apply, and orphans. Sensitive "
        "env values are shown as (sensitive).",
    ),
    (
        "apply",
        "Apply the stack files to the cluster: show the plan, confirm, then roll out only "
        "what changed, wave by wave (depends_on), gating on health; on failure roll back "
        "(default), pause or continue.",
    ),
    (
        "rollback",
        "Roll the stack back to revision N (default: the last applied revision before the "
        "current one), using only what the cluster holds: no files needed. Shows the plan, "
        "then rolls out with the same health gates, lock and failure handling as apply; "
        "services added since are removed, services removed since come back, and the exact "
        "config/secret versions of that revision are restored. Recorded as a new revision.",
    ),
    ("history", "List the stack's revisions (oldest first); the one running now is marked with *."),
    (
        "status",
        "Per service: replicas running/desired, healthy, update state, image; plus the "
        "current revision and whether the live stack drifted from it.",
    ),
    ("ls", "List every stack (services labelled com.docker.stack.namespace)."),
    (
        "rm",
        "Remove the stack. Exit 0 when removed (or nothing was there), 4 if some objects remain.",
    ),
    (
        "unlock",
        "Remove the stack's apply lock, whoever holds it. A lock whose holder was killed "
        "expires on its own after its lease; use this when you cannot wait for that and are "
        "sure no apply is running. Exit 0 when a lock was removed or none was held.",
    ),
    ("version", VERSION_COMMAND_HELP),
    (
        "agent",
        "Keep stacks in sync with git: fetch, plan, apply only a non-empty plan, never "
        "re-apply a failed commit, pause after a manual rollback.",
    ),
    ("secret", "Encrypted secret files: `stackctl secret encrypt FILE --recipient age1...`."),
)


def root_help(width: int | None = None) -> str:
    """``stackctl --help`` as plain text, wrapped to the terminal (at most 100 columns)."""
    if width is None:
        width = shutil.get_terminal_size((80, 24)).columns
    width = max(40, min(width, 100))
    lines = ["Usage: stackctl [OPTIONS] COMMAND [ARGS]...", ""]
    for paragraph in ROOT_DESCRIPTION.split("\n\n"):
        lines += textwrap.wrap(paragraph, width, initial_indent="  ", subsequent_indent="  ")
        lines.append("")
    lines += ["Options:", *_rows(ROOT_OPTIONS, width), "", "Commands:"]
    lines += _rows(COMMAND_SUMMARIES, width)
    lines += ["", "Run `stackctl COMMAND --help` for a command's options and examples."]
    return "\n".join(lines)


def _rows(rows: tuple[tuple[str, str], ...], width: int) -> list[str]:
    name_width = max(len(name) for name, _ in rows)
    out = []
    for name, text in rows:
        indent = " " * (name_width + 4)
        wrapped = textwrap.wrap(text, max(20, width - len(indent))) or [""]
        out.append(f"  {name.ljust(name_width)}  {wrapped[0]}".rstrip())
        out += [indent + more for more in wrapped[1:]]
    return out
