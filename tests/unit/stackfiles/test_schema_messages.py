"""Schema errors come out as plain, located messages with useful hints."""

from __future__ import annotations

from typing import Any

import pytest
from support.validation import errors, findings, only_error, parsed

from stackctl.core.validate.schema import conforms, root_shape, stack_validator
from stackctl.core.validate.schema_errors import SchemaErrorTranslator
from stackctl.errors import Location, Severity

# Fragments of jsonschema's own wording that must never reach a user.
RAW_JSONSCHEMA = (
    "is not valid under any of the given schemas",
    "Additional properties are not allowed",
    "is not of type",
    "is a required property",
    "was unexpected",
    "is valid under each of",
)


def test_misspelt_key_is_located_with_did_you_mean() -> None:
    error = only_error(
        """\
        services:
          web:
            image: nginx:1.25
            deploy:
              replica: 2
        """
    )
    assert error.code == "SC010"
    assert error.path == "services.web.deploy.replica"
    assert (error.location.file, error.location.line, error.location.column) == ("stack.yml", 5, 7)
    assert error.message == "unknown key 'replica' in services.web.deploy"
    assert error.hint == "did you mean 'replicas'?"


def test_key_at_the_wrong_level_says_where_it_belongs() -> None:
    error = only_error(
        """\
        services:
          web:
            image: nginx:1.25
            replicas: 2
        """
    )
    assert error.path == "services.web.replicas"
    assert error.hint is not None and "deploy.replicas" in error.hint


def test_unknown_top_level_key() -> None:
    error = only_error("servces:\n  web:\n    image: nginx:1.25\nservices:\n  a:\n    image: b:1\n")
    assert error.message == "unknown key 'servces' at the top level"
    assert error.hint == "did you mean 'services'?"
    assert error.location.line == 1


def test_wrong_type_says_what_was_expected_and_what_was_written() -> None:
    error = only_error(
        """\
        services:
          web:
            image: nginx:1.25
            deploy:
              replicas: two
        """
    )
    assert error.code == "SC011"
    assert error.message == "must be a whole number, not the string 'two'"
    assert error.location.line == 5


def test_yaml_boolean_where_a_string_is_expected_suggests_quotes() -> None:
    error = only_error(
        """\
        services:
          web:
            image: nginx:1.25
            user: true
        """
    )
    assert "not the boolean true" in error.message
    assert error.hint is not None and "quotes" in error.hint


def test_quoted_number_suggests_removing_the_quotes() -> None:
    # A quoted literal stays a string (only interpolated values are cast, like docker).

    data: dict[str, Any] = {"services": {"web": {"image": "a:1", "deploy": {"replicas": "2"}}}}
    translator = SchemaErrorTranslator(lambda path: Location("stack.yml"), lambda ref: {})
    (error,) = list(stack_validator().iter_errors(data))
    (finding,) = translator.translate(error)
    assert finding.message == "must be a whole number, not the string '2'"
    assert finding.hint == "remove the quotes: a quoted value is a string"


def test_number_for_a_duration_suggests_a_unit() -> None:
    error = only_error(
        """\
        services:
          web:
            image: nginx:1.25
            stop_grace_period: 10
        """
    )
    assert error.message == "must be a duration such as 10s, not the number 10"
    assert error.hint == "write a duration with a unit, e.g. '10s' or '1m30s'"


def test_enum_value_gets_did_you_mean() -> None:
    error = only_error(
        """\
        services:
          web:
            image: nginx:1.25
            deploy:
              mode: globl
        """
    )
    assert error.code == "SC012"
    assert "use one of: replicated, global, replicated-job, global-job" in error.message
    assert error.hint == "did you mean 'global'?"


def test_one_of_branch_matching_the_value_type_is_explained() -> None:
    # ports items are int | string | mapping: a mapping with a bad key is explained
    # as a mapping problem, not as "not valid under any of the given schemas".
    error = only_error(
        """\
        services:
          web:
            image: nginx:1.25
            ports:
              - target: 80
                publised: 8080
        """
    )
    assert error.path == "services.web.ports[0].publised"
    assert error.hint == "did you mean 'published'?"
    assert error.location.line == 6


def test_one_of_with_no_matching_type_lists_the_alternatives() -> None:
    error = only_error(
        """\
        services:
          web:
            image: nginx:1.25
            command: {run: now}
        """
    )
    assert error.message == "must be a string, a list or empty, not a mapping"


def test_missing_required_key() -> None:
    error = only_error(
        """\
        services:
          web:
            image: nginx:1.25
            ports:
              - published: 8080
        """
    )
    assert error.code == "SC013"
    assert error.message == "required key 'target' is missing"
    assert error.path == "services.web.ports[0]"


def test_duplicate_list_entry_points_at_the_repeat() -> None:
    error = only_error(
        """\
        services:
          web:
            image: nginx:1.25
            cap_add: [NET_ADMIN, SYS_TIME, NET_ADMIN]
        """
    )
    assert error.code == "SC014"
    assert error.path == "services.web.cap_add[2]"
    assert "NET_ADMIN" in error.message


def test_out_of_range_number() -> None:
    error = only_error(
        """\
        services:
          web:
            image: nginx:1.25
            deploy:
              replicas: -1
        """
    )
    assert error.code == "SC015"
    assert error.message == "the number -1 is too small; it must be at least 0"


def test_invalid_service_name_characters() -> None:
    error = only_error("services:\n  'my web':\n    image: nginx:1.25\n")
    assert error.message == "'my web' is not a valid name"
    assert error.hint is not None and "letters, digits" in error.hint


def test_all_errors_reported_at_once_in_file_order() -> None:
    found = errors(
        """\
        services:
          web:
            image: nginx:1.25
            deploy:
              replica: 2
              mode: globl
          db:
            image: postgres:16
            tty: maybe
        """
    )
    assert [f.location.line for f in found] == [5, 6, 9]


BAD_DOCUMENTS = [
    "services: [web]\n",
    "services:\n  web: nginx\n",
    "services:\n  web:\n    image: [nginx]\n",
    "services:\n  web:\n    image: a:1\n    ports: [true]\n",
    "services:\n  web:\n    image: a:1\n    volumes: [{source: x}]\n",
    "services:\n  web:\n    image: a:1\n    environment: [1, 2]\n",
    "services:\n  web:\n    image: a:1\n    networks: {net: [a]}\n",
    "services:\n  web:\n    image: a:1\n    healthcheck: {test: 5}\n",
    "services:\n  web:\n    image: a:1\n    deploy: {resources: {limits: {cpus: [1]}}}\n",
    "services:\n  web:\n    image: a:1\n    ulimits: {nofile: {soft: 1}}\n",
    "services:\n  web:\n    image: a:1\n    secrets: [{target: /x}]\n",
    "services:\n  web:\n    image: a:1\n    depends_on: {db: {condition: started}}\n",
    "networks:\n  n: {external: {nam: x}}\nservices:\n  web:\n    image: a:1\n",
    "x-stackctl: {ignore: [lint1]}\nservices:\n  web:\n    image: a:1\n",
]


@pytest.mark.parametrize("text", BAD_DOCUMENTS)
def test_no_raw_jsonschema_wording_reaches_the_user(text: str) -> None:
    found = errors(text)
    assert found
    for finding in found:
        assert finding.location.line is not None
        assert finding.path
        for raw in RAW_JSONSCHEMA:
            assert raw not in finding.message
            assert raw not in (finding.hint or "")


@pytest.mark.parametrize("text", BAD_DOCUMENTS)
def test_fast_precheck_never_passes_what_jsonschema_rejects(text: str) -> None:
    data = parsed(text).data
    assert not stack_validator().is_valid(data)
    assert not conforms(data, root_shape())


def test_warnings_are_not_errors() -> None:
    found = findings(
        """\
        services:
          web:
            image: nginx:1.25
            container_name: web
        """
    )
    assert [(f.severity, f.code) for f in found] == [(Severity.WARNING, "SC301")]
