"""Webhook verification, payload parsing, repository matching and replay protection."""

from __future__ import annotations

import json
import threading

import pytest

from stackctl.agent.config import parse_config
from stackctl.agent.http.webhooks import (
    Deliveries,
    Rejected,
    matching,
    normalize_repo,
    parse,
    sign,
    verify,
)

SECRET = b"It's a Secret to Everybody"
BODY = b"Hello, World!"


def test_github_signature_matches_githubs_documented_example() -> None:
    # docs.github.com "Validating webhook deliveries": this secret and payload give this digest
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert sign(SECRET, BODY) == expected
    assert verify(SECRET, {"x-hub-signature-256": expected}, BODY) == "github"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-hub-signature-256": "sha256=" + "0" * 64},
        {"x-hub-signature-256": sign(b"other", BODY)},
        {"x-stackctl-signature-256": sign(b"other", BODY)},
        {"x-gitlab-token": "wrong"},
        {"x-gitlab-token": ""},
        {"x-hub-signature-256": "sha256=é"},
    ],
)
def test_missing_or_wrong_signatures_are_401(headers: dict[str, str]) -> None:
    with pytest.raises(Rejected) as caught:
        verify(SECRET, headers, BODY)
    assert caught.value.status == 401
    assert SECRET.decode() not in caught.value.message


def test_without_a_secret_every_delivery_is_401_even_signed_ones() -> None:
    with pytest.raises(Rejected, match="webhook_secret_file") as caught:
        verify(None, {"x-hub-signature-256": sign(b"", BODY)}, BODY)
    assert caught.value.status == 401


def test_gitlab_token_and_generic_signature_verify() -> None:
    assert verify(SECRET, {"x-gitlab-token": SECRET.decode()}, BODY) == "gitlab"
    assert verify(SECRET, {"x-stackctl-signature-256": sign(SECRET, BODY)}, BODY) == "generic"


def test_payloads_give_repository_urls_ref_and_delivery() -> None:
    github = json.dumps(
        {
            "ref": "refs/heads/main",
            "repository": {
                "clone_url": "https://github.com/o/r.git",
                "ssh_url": "git@github.com:o/r.git",
                "html_url": "https://github.com/o/r",
            },
        }
    ).encode()
    push = parse("github", {"x-github-event": "push", "x-github-delivery": "d1"}, github)
    assert (push.ref, push.delivery, len(push.repos)) == ("refs/heads/main", "d1", 3)
    ping = parse("github", {"x-github-event": "ping"}, b'{"zen": "hi"}')
    assert ping.ref is None
    gitlab = json.dumps(
        {"ref": "refs/tags/v1", "project": {"git_ssh_url": "git@gitlab.example:o/r.git"}}
    ).encode()
    push = parse("gitlab", {"x-gitlab-event": "Tag Push Hook", "x-gitlab-event-uuid": "u"}, gitlab)
    assert (push.ref, push.repos, push.delivery) == (
        "refs/tags/v1",
        ("git@gitlab.example:o/r.git",),
        "u",
    )
    push = parse("generic", {}, b'{"repo": "/srv/git/r.git", "branch": "prod"}')
    assert (push.ref, push.delivery) == ("refs/heads/prod", None)


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"repo": "x"}', b'{"repo": 1, "branch": "m"}']
)
def test_malformed_generic_payloads_are_400(body: bytes) -> None:
    with pytest.raises(Rejected) as caught:
        parse("generic", {}, body)
    assert caught.value.status == 400


def test_repository_urls_compare_without_scheme_credentials_port_and_git_suffix() -> None:
    same = [
        "https://github.com/Org/Repo.git",
        "https://user:token@github.com/org/repo",
        "ssh://git@github.com:22/org/repo.git",
        "git@github.com:org/repo.git",
        "http://github.com/org/repo/",
        "git://github.com/org/repo.git",
    ]
    assert {normalize_repo(url) for url in same} == {"github.com/org/repo"}
    assert normalize_repo("/srv/git/deploy.git") == normalize_repo("file:///srv/git/deploy")
    assert normalize_repo("https://github.com/org/other") != "github.com/org/repo"


CONFIG = """
stacks:
  - {name: shop, repo: "git@github.com:org/deploy.git", branch: main, files: [a.yml]}
  - {name: shop-staging, repo: "https://github.com/org/deploy", branch: staging, files: [a.yml]}
  - {name: blog, repo: "https://github.com/org/deploy.git", ref: v2, files: [b.yml]}
  - {name: other, repo: "https://github.com/org/other.git", files: [a.yml]}
"""


def test_a_push_matches_the_stacks_following_that_repository_and_branch_or_tag() -> None:
    stacks = parse_config(CONFIG, "agent.yml").stacks
    body = json.dumps({"repo": "https://github.com/org/deploy.git", "branch": "main"}).encode()
    assert matching(parse("generic", {}, body), stacks) == ["shop"]
    tag = json.dumps(
        {"ref": "refs/tags/v2", "repository": {"clone_url": "https://github.com/org/deploy.git"}}
    ).encode()
    assert matching(parse("github", {"x-github-event": "push"}, tag), stacks) == ["blog"]
    ping = parse("github", {"x-github-event": "ping"}, tag)
    assert matching(ping, stacks) == []


def test_the_same_delivery_runs_once_even_when_two_copies_arrive_together() -> None:
    deliveries = Deliveries(limit=3)
    created: list[str] = []
    results: list[tuple[bool, str | None]] = []

    def create() -> str:
        created.append("run")
        return f"run-{len(created)}"

    threads = [
        threading.Thread(target=lambda: results.append(deliveries.once("github", "d", create)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert created == ["run"]
    assert sorted(results) == [(False, "run-1")] * 7 + [(True, "run-1")]
    assert deliveries.once("gitlab", "d", create) == (True, "run-2")  # another provider's id


def test_remembered_deliveries_are_bounded() -> None:
    deliveries = Deliveries(limit=2)
    for name in ("a", "b", "c"):
        deliveries.once("generic", name, lambda name=name: name)
    assert deliveries.once("generic", "a", lambda: "again") == (True, "again")  # forgotten
    assert deliveries.once("generic", "c", lambda: "again") == (False, "c")
