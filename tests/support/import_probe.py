"""Which modules a stackctl command imports: run the console entry point in a fresh
interpreter with the given arguments, then list ``sys.modules`` (start-up guards)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_PROBE = """
import json, sys
from stackctl.cli.entry import main
sys.argv = ['stackctl', *sys.argv[1:]]
try:
    main()
except SystemExit as done:
    print(json.dumps({"code": done.code, "modules": sorted(sys.modules)}))
"""


def imported_by(args: list[str], cwd: Path) -> tuple[int, list[str]]:
    """The command's exit code and every module it imported, sorted."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"stackctl {' '.join(args)} printed nothing: {done.stderr[-800:]}"
    result = json.loads(lines[-1])
    return int(result["code"]), list(result["modules"])
