"""Schema-directed casts after interpolation, and the unit parsers docker uses."""

from __future__ import annotations

import pytest

from stackctl.core.model.coerce import coerce_types
from stackctl.core.model.units import (
    UnitError,
    format_cpus,
    format_duration,
    parse_bytes,
    parse_cpus,
    parse_duration,
)


def _service(**keys: object) -> dict[str, object]:
    return {"services": {"web": {"image": "nginx:1", **keys}}}


def test_integer_fields_are_cast_from_strings() -> None:
    data = coerce_types(
        _service(
            deploy={"replicas": "3", "update_config": {"parallelism": "2"}},
            healthcheck={"retries": "5"},
            ulimits={"nofile": {"soft": "1024", "hard": "2048"}, "nproc": "512"},
        )
    )
    web = data["services"]["web"]
    assert web["deploy"]["replicas"] == 3
    assert web["deploy"]["update_config"]["parallelism"] == 2
    assert web["healthcheck"]["retries"] == 5
    assert web["ulimits"] == {"nofile": {"soft": 1024, "hard": 2048}, "nproc": 512}


def test_number_and_boolean_fields_are_cast() -> None:
    data = coerce_types(
        _service(
            deploy={"update_config": {"max_failure_ratio": "0.25"}},
            read_only="yes",
            tty="False",
            init="on",
        )
    )
    web = data["services"]["web"]
    assert web["deploy"]["update_config"]["max_failure_ratio"] == 0.25
    assert (web["read_only"], web["tty"], web["init"]) == (True, False, True)


def test_external_flag_is_cast_on_top_level_objects() -> None:
    data = coerce_types({"services": {}, "networks": {"n": {"external": "true"}}})
    assert data["networks"]["n"]["external"] is True


def test_strings_where_the_schema_allows_strings_stay_strings() -> None:
    data = coerce_types(
        _service(
            image="123",
            environment={"PORT": "8080"},
            labels=["a=1"],
            ports=["80"],
            deploy={"resources": {"limits": {"cpus": "0.5", "memory": "512"}}},
        )
    )
    web = data["services"]["web"]
    assert web["image"] == "123"
    assert web["environment"] == {"PORT": "8080"}
    assert web["ports"] == ["80"]
    assert web["deploy"]["resources"]["limits"] == {"cpus": "0.5", "memory": "512"}


def test_values_that_do_not_fit_are_left_for_validation() -> None:
    data = coerce_types(_service(deploy={"replicas": "three"}, read_only="maybe"))
    web = data["services"]["web"]
    assert web["deploy"]["replicas"] == "three"
    assert web["read_only"] == "maybe"


def test_extension_fields_are_untouched() -> None:
    data = coerce_types({"services": {}, "x-replicas": {"replicas": "3"}})
    assert data["x-replicas"] == {"replicas": "3"}


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("0", 0),
        ("10s", 10_000_000_000),
        ("1m30s", 90_000_000_000),
        ("500ms", 500_000_000),
        ("1h", 3_600_000_000_000),
        ("1.5s", 1_500_000_000),
        ("2h45m", 9_900_000_000_000),
        ("300us", 300_000),
        ("7ns", 7),
        (".5m", 30_000_000_000),
    ],
)
def test_go_durations(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text", ["10", "10 s", "1d", "s", "", "1m30", "-5s", "1.2.3s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UnitError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (60_000_000_000, "1m0s"),
        (90_000_000_000, "1m30s"),
        (120_000_000_000, "2m0s"),
        (3_600_000_000_000, "1h0m0s"),
        (1_500_000_000, "1.5s"),
        (500_000_000, "500ms"),
        (1_500_000, "1.5ms"),
        (10_000_000_000, "10s"),
    ],
)
def test_go_duration_strings(ns: int, text: str) -> None:
    assert format_duration(ns) == text
    assert parse_duration(text) == ns


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("512m", 512 * 1024**2),
        ("1g", 1024**3),
        ("1G", 1024**3),
        ("1.5g", int(1.5 * 1024**3)),
        ("1024", 1024),
        (1024, 1024),
        ("50M", 52_428_800),
        ("64mb", 64 * 1024**2),
        ("2KiB", 2048),
        ("1 k", 1024),
    ],
)
def test_byte_sizes_like_docker(value: str | int, size: int) -> None:
    assert parse_bytes(value) == size


@pytest.mark.parametrize("value", ["1x", "m", "-1g", "1,5g", "", "1gb2"])
def test_bad_byte_sizes(value: str) -> None:
    with pytest.raises(UnitError):
        parse_bytes(value)


@pytest.mark.parametrize(
    ("value", "nano"),
    [("0.5", 500_000_000), ("2", 2_000_000_000), (1.25, 1_250_000_000), ("0.001", 1_000_000)],
)
def test_cpus_like_docker(value: str | float, nano: int) -> None:
    assert parse_cpus(value) == nano


@pytest.mark.parametrize("value", ["half", "-1", "0.0000000001", "1e400x"])
def test_bad_cpus(value: str) -> None:
    with pytest.raises(UnitError):
        parse_cpus(value)


def test_cpus_printed_as_docker_does() -> None:
    assert format_cpus(500_000_000) == "0.5"
    assert format_cpus(2_000_000_000) == "2"
    assert format_cpus(1_000_000) == "0.001"
