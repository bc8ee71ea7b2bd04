"""The generated reference docs match the source they are generated from."""

from __future__ import annotations

import json
from types import ModuleType

import typer.main
from support.testkit import REPO_ROOT as REPO

from stackctl.cli.app import app


def test_generated_docs_are_current(gen_docs: ModuleType) -> None:
    for path, expected in gen_docs.generated().items():
        relative = path.relative_to(REPO)
        assert path.exists(), f"{relative} is missing; generate it: {gen_docs.REGENERATE}"
        actual = path.read_text(encoding="utf-8")
        assert actual == expected, (
            f"{relative} is stale (the CLI or schemas/stack.schema.json changed); "
            f"regenerate it: {gen_docs.REGENERATE}"
        )


def test_cli_reference_lists_every_command_and_option(gen_docs: ModuleType) -> None:
    text = gen_docs.render_cli_reference()
    root = typer.main.get_command(app)
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        section = text.split(f"## stackctl {name}\n", 1)[1].split("\n## ", 1)[0]
        for param in command.params:
            for opt in param.opts if param.param_type_name == "option" else []:
                assert f"`{opt}`" in section, f"{opt} of {name} missing from its section"
        assert "```sh\nstackctl " + name in section, f"no example for {name}"


def test_stack_file_reference_covers_every_schema_property(gen_docs: ModuleType) -> None:
    schema = json.loads((REPO / "schemas" / "stack.schema.json").read_text(encoding="utf-8"))
    paths = {key.path.rsplit(".", 1)[-1].removesuffix("[]") for key in gen_docs.schema_keys(schema)}
    missing: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for name in node.get("properties", {}):
                if name not in paths:
                    missing.add(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert not missing, f"schema properties absent from the reference: {sorted(missing)}"


def test_swarm_marks_come_from_the_schema(gen_docs: ModuleType) -> None:
    schema = {
        "type": "object",
        "properties": {
            "kept": {"type": "string", "description": "Used (default `x`)."},
            "dropped": {
                "type": "object",
                "description": "Not used.",
                "x-swarm": "ignored",
                "x-swarm-note": "Swarm has no such thing.",
                "properties": {"inner": {"type": "integer", "description": "Inside."}},
            },
            "refused": {"type": "boolean", "x-swarm": "unsupported", "description": "No."},
        },
    }
    keys = {k.path: k for k in gen_docs.schema_keys(schema)}
    assert keys["kept"].swarm == "yes"
    assert keys["kept"].default == "`x`"
    assert keys["dropped"].swarm.startswith("ignored")
    assert "Swarm has no such thing." in keys["dropped"].description
    assert keys["dropped.inner"].swarm.startswith("ignored"), "children inherit the mark"
    assert "unsupported" in keys["refused"].swarm


def test_defaults_are_read_from_descriptions(gen_docs: ModuleType) -> None:
    read = gen_docs.default_from_description
    assert read("Time between checks (default 30s). A Go duration.") == "`30s`"
    assert read("How many at once (0 = all at once; default 1).") == "`1`"
    assert read("`replicated` (default), `global` (one task per node).") == "`replicated`"
    assert read("`vip` (virtual IP, default) or `dnsrr`.") == "`vip`"
    assert read("Whether to stop first (`stop-first`, the default) or not.") == "`stop-first`"
    assert read("Path of the file (default `/run/secrets/<source>`).") == "`/run/secrets/<source>`"
    assert read("No default is stated here.") == ""
