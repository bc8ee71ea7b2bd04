"""The command line each contender runs for each operation, and whether it can run yet."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.gen import StackShape

STACKCTL = "stackctl"
DOCKER = "docker"
FLOOR = "floor"
DEPLOY_CONTENDERS: tuple[str, ...] = (STACKCTL, DOCKER, FLOOR)


@dataclass
class Toolbox:
    """Paths to the tools and what the installed stackctl can do."""

    repo: Path
    python: str = sys.executable
    stackctl: str = ""
    commands: dict[str, bool] = field(default_factory=dict)  # stackctl subcommand -> present
    apply_flags: set[str] = field(default_factory=set)  # long options `apply --help` lists
    resolve_image: str = "never"  # what both tools are told (bench/run.py --registry: always)

    @classmethod
    def discover(cls, repo: Path) -> Toolbox:
        venv_stackctl = Path(sys.executable).parent / "stackctl"
        box = cls(repo=repo, stackctl=str(venv_stackctl) if venv_stackctl.exists() else "")
        for command in ("apply", "diff", "validate"):
            box.commands[command] = box._help_text(command) is not None
        apply_help = box._help_text("apply") or ""
        box.apply_flags = {
            flag for flag in ("--resolve-image", "--yes") if flag in apply_help.replace("─", " ")
        }
        return box

    def _help_text(self, command: str) -> str | None:
        if not self.stackctl:
            return None
        try:
            result = subprocess.run(
                [self.stackctl, command, "--help"],
                capture_output=True,
                text=True,
                timeout=60,
                env={"COLUMNS": "200", "NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return result.stdout if result.returncode == 0 else None

    def unavailable_reason(self, contender: str, command: str = "apply") -> str | None:
        """Why a contender cannot run an operation, or None if it can."""
        if contender != STACKCTL:
            return None
        if not self.stackctl:
            return "the stackctl console script is not installed in the venv"
        if not self.commands.get(command):
            return f"`stackctl {command}` is not available yet"
        return None

    def apply_command(
        self, contender: str, stack: str, file: Path, shape: StackShape, *, first: bool
    ) -> list[str]:
        """Deploy (``first``) or re-deploy ``shape`` as ``stack``, waiting for convergence."""
        if contender == STACKCTL:
            command = [self.stackctl, "apply", stack, "-c", str(file), "--yes"]
            if "--resolve-image" in self.apply_flags:
                command += ["--resolve-image", self.resolve_image]  # same as docker's
            return command
        if contender == DOCKER:
            return [
                "docker", "stack", "deploy", "--detach=false", "--resolve-image",
                self.resolve_image, "-c", str(file), stack,
            ]  # fmt: skip
        if contender == FLOOR:
            return self.floor_command("deploy" if first else "update", stack, shape)
        raise ValueError(f"unknown contender {contender!r}")

    def floor_command(self, action: str, stack: str, shape: StackShape, *extra: str) -> list[str]:
        command = [
            self.python, "-m", "bench.floor", action, "--stack", stack,
            "--services", str(shape.services), "--image", shape.image,
            "--replicas", str(shape.replicas),
            "--health-interval", str(shape.health_interval_ns / 1e9),
        ]  # fmt: skip
        for index, image in sorted(shape.images.items()):
            command += ["--service-image", f"{index}={image}"]
        return command + list(extra)

    def diff_command(self, stack: str, file: Path) -> list[str]:
        command = [self.stackctl, "diff", stack, "-c", str(file)]
        if "--resolve-image" in self.apply_flags:  # apply and diff take it alike
            command += ["--resolve-image", self.resolve_image]
        return command

    def validate_command(self, contender: str, file: Path) -> list[str]:
        if contender == STACKCTL:
            return [self.stackctl, "validate", "-c", str(file)]
        return ["docker", "stack", "config", "-c", str(file)]  # the reference: parse + print

    def help_command(self, contender: str) -> list[str]:
        if contender == STACKCTL:
            return [self.stackctl, "--help"]
        return ["docker", "--help"]
