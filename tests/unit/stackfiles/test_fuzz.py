"""Fuzzing: any input ends in a result or a StackFileError, never another exception."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stackctl.core.load.doc_paths import make_locator
from stackctl.core.load.interpolate import InterpolationError, interpolate_document, substitute
from stackctl.core.load.loading import load_stack
from stackctl.core.load.merge import LocatedDocument, merge_documents
from stackctl.core.load.yaml_source import parse_document
from stackctl.core.load.yaml_text import decode_source
from stackctl.errors import Location, StackFileError

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text biased towards YAML and interpolation syntax.
yamlish = st.text(
    alphabet=st.sampled_from(list("ab:- \n\t{}[],&*!|>'\"#$%@`?<=~0123456789.\\\x00\x07é")),
    max_size=200,
)
keys = st.sampled_from(
    [
        "services",
        "web",
        "image",
        "ports",
        "volumes",
        "environment",
        "labels",
        "deploy",
        "replicas",
        "networks",
        "configs",
        "secrets",
        "command",
        "healthcheck",
        "test",
        "logging",
        "driver",
        "ulimits",
        "nofile",
        "x-a",
        "<<",
        "file",
        "env_file",
        "target",
        "source",
        "published",
        "external",
        "mode",
        "sysctls",
        "dns",
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(alphabet=st.sampled_from(list("ab:/.=$-{}?+ 01")), max_size=20),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=40,
)


@FUZZ
@given(yamlish)
def test_parse_random_text(text: str) -> None:
    try:
        document = parse_document(text, "fuzz.yml")
    except StackFileError as exc:
        assert exc.findings and all(f.location.file == "fuzz.yml" for f in exc.findings)
        return
    assert isinstance(document.data, dict)
    for path in document.locations:
        assert isinstance(path, tuple)


@FUZZ
@given(st.binary(max_size=200))
def test_decode_and_parse_random_bytes(raw: bytes) -> None:
    try:
        parse_document(decode_source(raw, "fuzz.yml"), "fuzz.yml")
    except StackFileError as exc:
        assert exc.findings


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("$${}:-+?ABab_1 ")), max_size=40))
def test_substitute_random_templates(template: str) -> None:
    try:
        result, unset = substitute(template, {"A": "x", "B": ""})
    except InterpolationError as exc:
        assert exc.code and exc.message
        return
    assert isinstance(result, str) and all(isinstance(n, str) for n in unset)


def _as_document(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"services": value}


@FUZZ
@given(documents, documents, documents)
def test_merge_random_documents(a: Any, b: Any, c: Any) -> None:
    docs = []
    for index, value in enumerate((a, b, c)):
        text = yaml.safe_dump(_as_document(value))
        try:
            parsed = parse_document(text, f"f{index}.yml")
        except StackFileError:
            continue
        locate = make_locator(parsed.locations, Location(f"f{index}.yml"))
        data = interpolate_document(parsed.data, {"A": "1"}, locate).data
        docs.append(LocatedDocument(data, parsed.locations))
    merged = merge_documents(docs)
    assert isinstance(merged.data, dict)


@FUZZ
@given(documents, documents)
def test_load_random_documents(a: Any, b: Any) -> None:
    # A random document, then a plausible stack with random parts inside a service.
    service = {"image": "nginx:1.25", **(b if isinstance(b, dict) else {"labels": b})}
    for text in (yaml.safe_dump(_as_document(a)), yaml.safe_dump({"services": {"web": service}})):
        _load_or_fail_cleanly(text)


def _load_or_fail_cleanly(text: str) -> None:
    try:
        result = load_stack(["-"], env={"A": "1"}, stdin_text=text, cwd="/nonexistent-fuzz")
    except StackFileError as exc:
        assert any(f.severity.value == "error" for f in exc.findings)
        return
    assert result.files == ("-",)
