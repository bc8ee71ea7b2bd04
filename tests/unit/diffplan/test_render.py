"""The plan renderers: text reads like Terraform, JSON is versioned, Markdown is a table."""

from __future__ import annotations

import copy
import json

from support.plan_builders import engine_filled, network, service, service_spec, state

from stackctl.core.plan.diff import plan_changes
from stackctl.core.plan.plan_model import Plan
from stackctl.core.render.render_json import plan_to_json
from stackctl.core.render.render_markdown import render_markdown
from stackctl.core.render.render_text import render_text


def _mixed_plan() -> Plan:
    """1 create, 1 rolling (with drift and a secret env change), 1 in place, 1 orphan."""
    applied = service_spec("web")
    live_web = copy.deepcopy(applied)
    live_web["Mode"]["Replicated"]["Replicas"] = 4  # scaled behind stackctl's back
    want_web = copy.deepcopy(applied)
    want_web["TaskTemplate"]["ContainerSpec"]["Image"] = "shop/web:2"
    want_web["TaskTemplate"]["ContainerSpec"]["Env"][1] = "DB_PASSWORD=n3w-pa55"
    api = service_spec("api")
    want_api = copy.deepcopy(api)
    want_api["Labels"]["team"] = "core"
    desired = state(
        network(), service(want_web), service(want_api), service(service_spec("worker"))
    )
    live = state(
        network(live=True),
        service(engine_filled(live_web), version=11),
        service(engine_filled(api), version=12),
        service(engine_filled(service_spec("legacy")), version=13),
    )
    last = state(network(), service(applied), service(api), service(service_spec("legacy")))
    return plan_changes(desired, live, last_applied=last)


def test_text_plan_markers_fields_effects_and_summary() -> None:
    text = render_text(_mixed_plan())
    lines = text.splitlines()
    assert "  + service shop_worker  (create)" in lines
    web = next(line for line in lines if "service shop_web" in line)
    # N = the replicas of the live service (4, scaled by hand), not the file's 3
    assert web.startswith("  ~ service shop_web  (restarts 4 tasks") and "[drift]" in web
    assert any(line.startswith("  ~ service shop_api  (in place") for line in lines)
    # fields are named by the stack file's keys (no file here, so no file:line)
    assert '    ~ services.web.image: "shop/web:1" -> "shop/web:2"' in lines
    replicas = next(line for line in lines if "services.web.deploy.replicas" in line)
    assert "4 -> 3" in replicas and "drift" in replicas
    assert '    + services.api.deploy.labels[team]: "core"' in lines
    assert "  ? service shop_legacy" in lines
    assert lines[-1] == "Plan: 1 to create, 2 to update (1 rolling, 1 in place), 0 to delete."
    assert "\033[" not in text


def test_text_plan_never_shows_sensitive_values() -> None:
    text = render_text(_mixed_plan())
    assert "n3w-pa55" not in text and "hunter2" not in text
    assert "environment[DB_PASSWORD]: (sensitive) -> (sensitive)" in text
    verbose = render_text(_mixed_plan(), engine_paths=True)
    assert "n3w-pa55" not in verbose and "hunter2" not in verbose
    assert "Env[DB_PASSWORD]: (sensitive) -> (sensitive)" in verbose


def test_color_only_when_asked() -> None:
    plan = _mixed_plan()
    assert "\033[" in render_text(plan, color=True)
    assert render_text(plan, color=True).replace("\033[0m", "") != render_text(plan)


def test_no_changes_message() -> None:
    spec = service_spec()
    plan = plan_changes(state(service(spec)), state(service(engine_filled(spec))))
    assert render_text(plan) == "No changes. The stack matches the file."
    assert plan_to_json(plan)["hasChanges"] is False


def test_recreate_and_delete_counts() -> None:
    spec = service_spec()
    glob = copy.deepcopy(spec)
    glob["Mode"] = {"Global": {}}
    plan = plan_changes(
        state(service(glob)),
        state(service(engine_filled(spec)), service(engine_filled(service_spec("old")))),
        prune=True,
    )
    text = render_text(plan)
    assert "  -/+ service shop_web  (recreate, restarts 3 tasks; mode replicated -> global" in text
    assert "  - service shop_old  (delete" in text
    assert text.splitlines()[-1] == (
        "Plan: 0 to create, 1 to update (0 rolling, 0 in place, 1 recreate), 1 to delete."
    )


def test_json_plan_shape() -> None:
    data = plan_to_json(_mixed_plan())
    assert json.loads(json.dumps(data)) == data  # plain JSON data
    assert (data["apiVersion"], data["kind"], data["stack"]) == ("stackctl/v1", "Plan", "shop")
    assert data["summary"] == {
        "create": 1,
        "update": 2,
        "rolling": 1,
        "inPlace": 1,
        "replace": 0,
        "delete": 0,
        "orphan": 1,
        "drift": 1,
    }
    web = next(c for c in data["changes"] if c["name"] == "shop_web")
    assert (web["kind"], web["effect"], web["drift"], web["liveReplicas"]) == (
        "service",
        "rolling",
        True,
        4,
    )
    pw = next(f for f in web["fields"] if f["engine_path"].endswith("Env[DB_PASSWORD]"))
    assert pw == {
        "path": "services.web.environment[DB_PASSWORD]",
        "engine_path": "TaskTemplate.ContainerSpec.Env[DB_PASSWORD]",
        "engineOnly": False,
        "echo": False,
        "location": None,
        "op": "changed",
        "old": "(sensitive)",
        "new": "(sensitive)",
        "sensitive": True,
        "drift": False,
    }
    assert "n3w-pa55" not in json.dumps(data)


def test_markdown_has_summary_table_and_collapsible_details() -> None:
    md = render_markdown(_mixed_plan())
    assert md.startswith("### stackctl plan for `shop`")
    assert "**Plan: 1 to create, 2 to update (1 rolling, 1 in place), 0 to delete.**" in md
    assert "| `~` | service `shop_web` | restarts 4 tasks" in md
    assert "<details><summary>Field changes</summary>" in md and md.rstrip().endswith("</details>")
    assert "| `shop_web` | `services.web.environment[DB_PASSWORD]` | changed | _(sensitive)_" in md
    assert "n3w-pa55" not in md


def test_markdown_escapes_table_breakers() -> None:
    spec = service_spec()
    want = copy.deepcopy(spec)
    want["TaskTemplate"]["ContainerSpec"]["Args"] = ["sh", "-c", "a | b"]
    md = render_markdown(plan_changes(state(service(want)), state(service(engine_filled(spec)))))
    assert "a \\| b" in md


def test_services_swarm_is_still_rolling_out_are_named_in_every_format() -> None:
    plan = Plan("shop", (), in_progress=("shop_web",))
    text = render_text(plan)
    assert "Still rolling out: shop_web" in text and "apply waits for them" in text
    assert text.endswith("No changes. The stack matches the file.")
    assert "Still rolling out: shop_web" in render_markdown(plan)
    document = plan_to_json(plan)
    assert document["inProgress"] == ["shop_web"] and document["hasChanges"] is False
    assert "Still rolling out" not in render_text(Plan("shop", ()))
