"""Which engine: --context, DOCKER_HOST, DOCKER_CONTEXT, currentContext (files only)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from stackctl.engine.contexts import DEFAULT_HOST, resolve_endpoint
from stackctl.errors import EngineError


def _context(config: Path, name: str, host: str, *, tls: bool = False) -> None:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    docker_ep = {"Host": host, "SkipTLSVerify": False}
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Endpoints": {"docker": docker_ep}}))
    if tls:
        files = config / "contexts" / "tls" / digest / "docker"
        files.mkdir(parents=True)
        for f in ("ca.pem", "cert.pem", "key.pem"):
            (files / f).write_text("x")


def test_default_socket(tmp_path: Path) -> None:
    endpoint = resolve_endpoint(None, {"DOCKER_CONFIG": str(tmp_path)})
    assert endpoint.host == DEFAULT_HOST and endpoint.tls is None


def test_docker_host_with_tls_env(tmp_path: Path) -> None:
    env = {
        "DOCKER_CONFIG": str(tmp_path),
        "DOCKER_HOST": "tcp://h:2376",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": "/certs",
    }
    endpoint = resolve_endpoint(None, env)
    assert (endpoint.host, endpoint.source) == ("tcp://h:2376", "DOCKER_HOST")
    assert endpoint.tls is not None and endpoint.tls.verify
    assert (endpoint.tls.ca, endpoint.tls.cert, endpoint.tls.key) == (
        "/certs/ca.pem",
        "/certs/cert.pem",
        "/certs/key.pem",
    )


def test_precedence_flag_then_docker_host_then_docker_context_then_current(
    tmp_path: Path,
) -> None:
    _context(tmp_path, "a", "tcp://a:2376", tls=True)
    _context(tmp_path, "b", "ssh://user@b")
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "b"}))
    base = {"DOCKER_CONFIG": str(tmp_path)}
    assert resolve_endpoint(None, base).host == "ssh://user@b"
    assert resolve_endpoint(None, {**base, "DOCKER_CONTEXT": "a"}).host == "tcp://a:2376"
    with_host = {**base, "DOCKER_CONTEXT": "a", "DOCKER_HOST": "unix:///x.sock"}
    assert resolve_endpoint(None, with_host).host == "unix:///x.sock"
    flagged = resolve_endpoint("a", with_host)
    assert flagged.host == "tcp://a:2376" and flagged.source == "context 'a'"
    assert flagged.tls is not None and flagged.tls.ca and flagged.tls.ca.endswith("ca.pem")
    assert resolve_endpoint("default", with_host).host == "unix:///x.sock"


def test_unknown_and_broken_contexts(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="'gone' not found"):
        resolve_endpoint("gone", {"DOCKER_CONFIG": str(tmp_path)})
    digest = hashlib.sha256(b"bad").hexdigest()
    (tmp_path / "contexts" / "meta" / digest).mkdir(parents=True)
    (tmp_path / "contexts" / "meta" / digest / "meta.json").write_text("{not json")
    with pytest.raises(EngineError, match="cannot read Docker context 'bad'"):
        resolve_endpoint("bad", {"DOCKER_CONFIG": str(tmp_path)})
