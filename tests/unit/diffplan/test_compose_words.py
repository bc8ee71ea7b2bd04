"""Plans name changes by the stack file's keys and the file:line that wrote them."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from stackctl.core.convert.convert import convert_stack
from stackctl.core.load.loading import LoadResult, load_stack
from stackctl.core.plan.compose_words import locate_plan
from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.plan_model import Plan
from stackctl.core.plan.saved_plan import load_saved_plan, save_plan
from stackctl.core.render.render_json import plan_to_json
from stackctl.core.render.render_markdown import render_markdown
from stackctl.core.render.render_text import render_text

BASE = """\
services:
  front:
    image: local/web:1
    environment:
      - MODE=prod
      - LEVEL=1
    ports:
      - "8080:80"
    deploy:
      replicas: 2
"""

OVERRIDE = """\
services:
  front:
    image: local/web:2
    environment:
      LEVEL: "2"
"""


def _load(tmp_path: Path, *files: str) -> LoadResult:
    return load_stack(list(files), env={}, cwd=str(tmp_path))


def _plan(tmp_path: Path, base: str, *override: str) -> Plan:
    (tmp_path / "app.yml").write_text(base)
    names = ["app.yml"]
    for i, text in enumerate(override):
        (tmp_path / f"over{i}.yml").write_text(text)
        names.append(f"over{i}.yml")
    live = convert_stack(_load(tmp_path, "app.yml").stack, "shop")
    loaded = _load(tmp_path, *names)
    plan = plan_changes(convert_stack(loaded.stack, "shop"), live)
    return locate_plan(plan, loaded.source_map)


def test_text_plan_names_keys_and_the_merged_file_that_set_them(tmp_path: Path) -> None:
    plan = _plan(tmp_path, BASE, OVERRIDE)
    lines = render_text(plan).splitlines()
    assert '    ~ services.front.image: "local/web:1" -> "local/web:2"   (over0.yml:3)' in lines
    assert '    ~ services.front.environment[LEVEL]: "1" -> "2"   (over0.yml:5)' in lines, lines
    # one line per key: the engine image and the declared-image label are one key
    assert sum(line.strip().startswith("~ services.front.image") for line in lines) == 1
    assert not any("TaskTemplate" in line or "Labels[" in line for line in lines)


def test_verbose_lists_the_engine_fields_under_each_key(tmp_path: Path) -> None:
    text = render_text(_plan(tmp_path, BASE, OVERRIDE), engine_paths=True)
    assert "engine TaskTemplate.ContainerSpec.Image" in text
    assert "engine Labels[com.docker.stack.image]" in text
    assert "engine TaskTemplate.ContainerSpec.Env[LEVEL]" in text


def test_list_items_are_located_by_identity(tmp_path: Path) -> None:
    changed = (
        BASE.replace("LEVEL=1", "LEVEL=3")
        .replace('"8080:80"', '"8081:80"')
        .replace("replicas: 2", "replicas: 4")
    )
    (tmp_path / "app.yml").write_text(BASE)
    (tmp_path / "new.yml").write_text(changed)
    live = convert_stack(_load(tmp_path, "app.yml").stack, "shop")
    loaded = _load(tmp_path, "new.yml")
    plan = locate_plan(plan_changes(convert_stack(loaded.stack, "shop"), live), loaded.source_map)
    by_key = {f.compose_path: f for c in plan.changes for f in c.fields}
    assert str(by_key["services.front.environment[LEVEL]"].location) == "new.yml:6:9"
    port = by_key["services.front.ports[80/tcp].published"]
    assert port.location is not None and port.location.line == 8
    assert str(by_key["services.front.deploy.replicas"].location).startswith("new.yml:10")


def test_json_has_path_and_engine_path_side_by_side(tmp_path: Path) -> None:
    document = plan_to_json(_plan(tmp_path, BASE, OVERRIDE))
    fields = {f["engine_path"]: f for f in document["changes"][-1]["fields"]}
    image = fields["TaskTemplate.ContainerSpec.Image"]
    assert image["path"] == "services.front.image"
    assert image["engineOnly"] is False and image["echo"] is True
    label = fields["Labels[com.docker.stack.image]"]
    assert label["echo"] is False
    assert label["location"] == {"file": "over0.yml", "line": 3, "column": 5}
    json.dumps(document)


def test_a_field_no_key_writes_is_shown_by_engine_path_and_marked(tmp_path: Path) -> None:
    (tmp_path / "app.yml").write_text(BASE)
    loaded = _load(tmp_path, "app.yml")
    desired = convert_stack(loaded.stack, "shop")
    live = convert_stack(loaded.stack, "shop")
    web = dict(live.services["shop_front"].spec)
    task = dict(web["TaskTemplate"])
    task["Placement"] = {"Platforms": [{"OS": "linux", "Architecture": "amd64"}]}
    web["TaskTemplate"] = task

    live_service = replace(live.services["shop_front"], spec=web)
    live = replace(live, services=MappingProxyType({"shop_front": live_service}))
    plan = locate_plan(plan_changes(desired, live), loaded.source_map)
    text = render_text(plan)
    assert "- TaskTemplate.Placement.Platforms[linux/amd64]" in text
    assert "(engine field: no key of the file sets it)" in text
    markdown = render_markdown(plan)
    assert "`TaskTemplate.Placement.Platforms[linux/amd64]` _(engine field" in markdown
    field = plan_to_json(plan)["changes"][0]["fields"][0]
    assert field["engineOnly"] is True and field["path"] == field["engine_path"]


def test_markdown_uses_the_same_words(tmp_path: Path) -> None:
    markdown = render_markdown(_plan(tmp_path, BASE, OVERRIDE))
    assert (
        '| `shop_front` | `services.front.image` | changed | `"local/web:1"` | `"local/web:2"` '
        "| `over0.yml:3` |  |" in markdown
    )
    assert "TaskTemplate" not in markdown


def test_saved_plans_keep_engine_paths_and_get_compose_keys_back(tmp_path: Path) -> None:
    (tmp_path / "app.yml").write_text(BASE)
    (tmp_path / "over0.yml").write_text(OVERRIDE)
    live = convert_stack(_load(tmp_path, "app.yml").stack, "shop")
    desired = convert_stack(_load(tmp_path, "app.yml", "over0.yml").stack, "shop")
    plan = plan_changes(desired, live)
    saved = load_saved_plan(save_plan(plan, desired, live))
    fields = saved.plan.changes[-1].fields
    assert [f.path for f in fields] == [f.path for f in plan.changes[-1].fields]
    assert [f.compose_path for f in fields] == [f.compose_path for f in plan.changes[-1].fields]


def test_effect_reasons_use_the_file_keys(tmp_path: Path) -> None:
    plan = _plan(tmp_path, BASE, OVERRIDE)
    assert plan.changes[-1].reason == "environment, image changed: tasks are replaced"


os.environ.setdefault("NO_COLOR", "1")


def test_the_source_map_keeps_no_environment_values(tmp_path: Path) -> None:
    (tmp_path / "app.yml").write_text(BASE.replace("LEVEL=1", "DB_PASSWORD=hunter2"))
    source_map = _load(tmp_path, "app.yml").source_map
    assert "hunter2" not in repr(source_map)
    location = source_map.locate(("services", "front", "environment", "[DB_PASSWORD]"))
    assert location is not None and location.line == 6
