"""Console entry point (``stackctl``, ``python -m stackctl``).

``--help``, ``--version`` and ``version`` alone are answered here from plain
texts (``stackctl.cli.fast_help``) before typer, rich or any command module is
imported: they are the commands run most often just to look. Everything else,
including ``COMMAND --help``, goes to the typer application.
"""

from __future__ import annotations

import sys


def main() -> None:
    args = sys.argv[1:]
    # The imports below are lazy on purpose: this module is the start-up path.
    if args in (["--version"], ["version"]):
        from stackctl import __version__  # noqa: PLC0415

        print(f"stackctl {__version__}")
        sys.exit(0)
    if args == ["--help"]:
        from stackctl.cli.fast_help import root_help  # noqa: PLC0415

        print(root_help())
        sys.exit(0)
    from stackctl.cli.app import main as app_main  # noqa: PLC0415 - typer only past the fast paths

    app_main()
