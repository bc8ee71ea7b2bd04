"""Parsing one file: data as docker reads it, a location for every node, located errors."""

from __future__ import annotations

import math
import time

import pytest
from support.stackfile_builders import parse, parse_error

from stackctl.core.load.doc_paths import make_locator
from stackctl.core.load.yaml_scalars import go_str, resolve_plain
from stackctl.core.load.yaml_source import MAX_ALIAS_NODES, MAX_DEPTH
from stackctl.core.load.yaml_text import decode_source
from stackctl.errors import Location, Severity, StackFileError


# Values docker stack config printed for the same plain scalars (Docker CLI 28.2.2).
@pytest.mark.parametrize(
    ("text", "as_docker_prints"),
    [
        ("yes", "yes"),
        ("on", "on"),
        ("no", "no"),
        ("010", "8"),
        ("0x1F", "31"),
        ("1e3", "1000"),
        ("1_000", "1000"),
        ("08", "8"),
        ("0b11", "3"),
        ("0o17", "15"),
        (".5", "0.5"),
        ("1.", "1"),
        ("+12", "12"),
        ("=", "="),
        ("12:30:00", "12:30:00"),
        ("80:80", "80:80"),
        ("99999999999999999999", "1e+20"),
        ("1e558", "1e558"),
        ("12345678901234567890", "12345678901234567890"),
        ("-0x10", "-16"),
        ("1234567.0", "1.234567e+06"),
        ("123456.5", "123456.5"),
        ("0.00001", "1e-05"),
        ("0.0001", "0.0001"),
        ("-0.0", "-0"),
        ("2001-12-14", "2001-12-14 00:00:00 +0000 UTC"),
        ("2001-12-14T21:59:43.10-05:00", "2001-12-14 21:59:43.1 -0500 -0500"),
        ("2001-12-14T21:59:43", "2001-12-14T21:59:43"),
        ("2001-13-14", "2001-13-14"),
        ("2001-12-14 21:59:43", "2001-12-14 21:59:43 +0000 UTC"),
        ("2001-12-14 21:59:43Z", "2001-12-14 21:59:43Z"),
        ("2001-2-3", "2001-02-03 00:00:00 +0000 UTC"),
        ("2001-12-14t01:02:03.5+02:00", "2001-12-14 01:02:03.5 +0200 +0200"),
        ("true", "true"),
        ("False", "false"),
    ],
)
def test_plain_scalars_resolve_like_docker(text: str, as_docker_prints: str) -> None:
    assert go_str(resolve_plain(text)) == as_docker_prints


def test_yes_no_on_off_stay_strings_and_ports_are_not_base_60() -> None:
    doc = parse("services:\n  web:\n    read_only: yes\n    tty: off\n    ports:\n      - 80:80\n")
    web = doc.data["services"]["web"]
    assert web == {"read_only": "yes", "tty": "off", "ports": ["80:80"]}


def test_null_forms_and_special_floats() -> None:
    doc = parse("a: ~\nb: null\nc:\nd: .inf\ne: -.Inf\nf: .nan\n")
    assert doc.data["a"] is None and doc.data["b"] is None and doc.data["c"] is None
    assert doc.data["d"] == math.inf and doc.data["e"] == -math.inf
    assert math.isnan(doc.data["f"])


def test_quoted_scalars_are_strings() -> None:
    doc = parse("a: '1'\nb: \"true\"\nc: |\n  010\n")
    assert doc.data == {"a": "1", "b": "true", "c": "010\n"}


def test_every_node_has_a_location_and_locate_finds_the_deepest_ancestor() -> None:
    text = "services:\n  web:\n    image: nginx\n    ports:\n      - 80:80\n      - target: 81\n"
    doc = parse(text)
    assert doc.locations[("services",)] == Location("stack.yml", 1, 1)
    assert doc.locations[("services", "web")] == Location("stack.yml", 2, 3)
    assert doc.locations[("services", "web", "image")] == Location("stack.yml", 3, 5)
    assert doc.locations[("services", "web", "ports", 0)] == Location("stack.yml", 5, 9)
    assert doc.locations[("services", "web", "ports", 1, "target")] == Location("stack.yml", 6, 9)
    locate = make_locator(doc.locations, Location("stack.yml"))
    assert locate(("services", "web", "deploy", "replicas")) == Location("stack.yml", 2, 3)


def test_locations_read_like_a_dict_of_locations() -> None:
    # Long lines too: the parser's positions are packed into ints until read.
    pad = "p" * 70_000
    doc = parse(f"services: {{pad: {{image: {pad}}}, web: {{image: nginx}}}}\nx: [1, 2]\n")
    assert doc.locations[("services", "web", "image")] == Location("stack.yml", 1, 70_034)
    assert doc.locations.get(("x", 1)) == Location("stack.yml", 2, 8)
    assert doc.locations.get(("nope",)) is None
    plain = dict(doc.locations)
    assert plain == doc.locations
    assert all(type(v) is Location for v in plain.values())
    assert len(plain) == len(doc.locations) == 9  # with the root, ()
    copied = doc.locations.copy()
    copied[("x",)] = Location("other.yml", 9, 9)
    del copied[("services",)]
    assert doc.locations[("x",)] == Location("stack.yml", 2, 1)
    assert ("services",) in doc.locations
    assert copied.pop(("x",)) == Location("other.yml", 9, 9)


def test_anchors_aliases_and_merge_keys() -> None:
    text = (
        "x-base: &base\n"
        "  image: nginx\n"
        "  environment: {A: '1'}\n"
        "x-more: &more\n"
        "  image: other\n"
        "  user: app\n"
        "services:\n"
        "  web:\n"
        "    <<: *base\n"
        "    image: mine\n"
        "  db:\n"
        "    <<: [*base, *more]\n"
        "  copy: *base\n"
    )
    doc = parse(text)
    services = doc.data["services"]
    assert services["web"] == {"image": "mine", "environment": {"A": "1"}}
    # Explicit keys win; among merged mappings the first wins.
    assert services["db"] == {"image": "nginx", "environment": {"A": "1"}, "user": "app"}
    assert services["copy"] == {"image": "nginx", "environment": {"A": "1"}}
    # Aliased values are copies: changing one leaves the others alone.
    services["copy"]["environment"]["A"] = "2"
    assert services["web"]["environment"]["A"] == "1"
    # Merged keys point at the anchored definition; explicit ones at themselves.
    assert doc.locations[("services", "web", "environment", "A")].line == 3
    assert doc.locations[("services", "web", "image")].line == 10
    assert doc.locations[("services", "db", "user")].line == 6
    assert doc.locations[("services", "copy", "image")].line == 2
    assert not any("<<" in path for path in doc.locations)


def test_duplicate_key_is_a_located_error() -> None:
    finding = parse_error("services:\n  web:\n    image: a\n    image: b\n")
    assert finding.location == Location("stack.yml", 4, 5)
    assert finding.path == "services.web.image"
    assert "duplicate key 'image'" in finding.message and "line 3" in finding.message


def test_tab_indentation_is_explained() -> None:
    finding = parse_error("services:\n\tweb:\n    image: a\n")
    assert finding.location == Location("stack.yml", 2, 1)
    assert "tab character" in finding.message


def test_syntax_error_is_located_in_plain_words() -> None:
    finding = parse_error("services:\n  web:\n    image: a\n   ports: []\n")
    assert finding.location.line == 4
    assert finding.message.startswith("invalid YAML:")


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "\n\n"])
def test_empty_files_are_refused_clearly(text: str) -> None:
    finding = parse_error(text)
    assert "empty" in finding.message
    assert finding.location == Location("stack.yml", 1, 1)


@pytest.mark.parametrize(
    ("text", "kind"), [("- a\n- b\n", "a list"), ("hello\n", "the scalar 'hello'")]
)
def test_top_level_must_be_a_mapping(text: str, kind: str) -> None:
    finding = parse_error(text)
    assert "must be a mapping" in finding.message and kind in finding.message


def test_non_string_keys_are_refused_with_a_quoting_hint() -> None:
    finding = parse_error("services:\n  web:\n    environment:\n      1: x\n")
    assert finding.location == Location("stack.yml", 4, 7)
    assert finding.hint == 'quote it: "1"'


def test_undefined_alias() -> None:
    finding = parse_error("services:\n  web: *nope\n")
    assert "*nope" in finding.message and finding.location == Location("stack.yml", 2, 8)


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    start = time.process_time()
    finding = parse_error("\n".join(lines) + "\n")
    assert time.process_time() - start < 30  # bounded, not a timing assertion on speed
    assert f"{MAX_ALIAS_NODES:,}" in finding.message
    assert finding.location.line is not None


def test_deep_block_nesting_is_refused_without_recursion_error() -> None:
    text = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 10))
    finding = parse_error(text)
    assert "deeper than" in finding.message


def test_deep_flow_nesting_is_refused() -> None:
    finding = parse_error("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert finding.location.line == 1


def test_control_character_is_located() -> None:
    finding = parse_error("services:\n  web:\n    image: a\x07\n")
    assert finding.location == Location("stack.yml", 3, 13)
    assert "control character" in finding.message


def test_multiple_documents_warn_and_use_the_first() -> None:
    doc = parse("services: {}\n---\nother: 1\n")
    assert doc.data == {"services": {}}
    assert [w.code for w in doc.warnings] == ["SC003"]
    assert doc.warnings[0].location.line == 2


def test_unknown_tags_are_ignored_with_a_warning() -> None:
    doc = parse("services:\n  web:\n    ports: !reset []\n    image: !custom nginx\n")
    assert doc.data["services"]["web"] == {"ports": [], "image": "nginx"}
    assert {w.location.line for w in doc.warnings} == {3, 4}
    assert all(w.severity is Severity.WARNING for w in doc.warnings)


def test_core_tags() -> None:
    doc = parse("a: !!str 010\nb: !!int '12'\nc: !!float 1\nd: !!binary aGVsbG8=\n")
    assert doc.data == {"a": "010", "b": 12, "c": 1.0, "d": "hello"}
    assert "!!int" in parse_error("a: !!int nope\n").message


def test_merge_key_needs_a_mapping() -> None:
    finding = parse_error("a:\n  <<: 3\n")
    assert "merge key" in finding.message and finding.location.line == 2


class TestDecoding:
    def test_utf8_bom_is_dropped(self) -> None:
        assert decode_source(b"\xef\xbb\xbfa: 1\n", "f") == "a: 1\n"

    def test_utf16_with_bom_is_decoded_like_docker_does(self) -> None:
        raw = "services:\n  web:\n    image: nginx\n".encode("utf-16")
        assert parse(decode_source(raw, "f")).data == {"services": {"web": {"image": "nginx"}}}

    def test_utf16_without_bom_is_binary(self) -> None:
        with pytest.raises(StackFileError) as caught:
            decode_source("a: 1\n".encode("utf-16-le"), "f.yml")
        assert "NUL" in caught.value.findings[0].message

    def test_invalid_utf8_is_located(self) -> None:
        with pytest.raises(StackFileError) as caught:
            decode_source(b"a: 1\nb: caf\xe9\n", "f.yml")
        finding = caught.value.findings[0]
        assert finding.location == Location("f.yml", 2, 7)
        assert "UTF-8" in finding.message and "0xe9" in finding.message
