"""Where the engine is: DOCKER_HOST, Docker contexts, TLS material.

Resolves the endpoint the way the docker CLI does, without running it:
``--context`` wins, then ``DOCKER_HOST``, then ``DOCKER_CONTEXT``, then the
``currentContext`` of ``~/.docker/config.json`` (``DOCKER_CONFIG`` moves that
directory), else the local socket. Context metadata is read from
``<config>/contexts/meta/<sha256(name)>/meta.json`` and TLS files from
``<config>/contexts/tls/<sha256(name)>/docker/``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stackctl.errors import EngineError

DEFAULT_HOST = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class TLSFiles:
    ca: str | None
    cert: str | None
    key: str | None
    verify: bool


@dataclass(frozen=True)
class Endpoint:
    """A resolved engine endpoint and where it came from (for messages)."""

    host: str
    source: str  # e.g. "DOCKER_HOST", "context 'prod'", "default socket"
    tls: TLSFiles | None = None


def docker_config_dir(env: Mapping[str, str]) -> Path:
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"])
    return Path(env.get("HOME") or Path.home()) / ".docker"


def _current_context(config_dir: Path) -> str | None:
    try:
        data = json.loads((config_dir / "config.json").read_text())
    except (OSError, ValueError):
        return None
    name = data.get("currentContext") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name else None


def _env_tls(env: Mapping[str, str]) -> TLSFiles | None:
    verify = env.get("DOCKER_TLS_VERIFY", "") not in ("", "0", "false")
    cert_path = env.get("DOCKER_CERT_PATH")
    if not verify and not cert_path:
        return None
    base = Path(cert_path) if cert_path else docker_config_dir(env)
    return TLSFiles(
        ca=str(base / "ca.pem"),
        cert=str(base / "cert.pem"),
        key=str(base / "key.pem"),
        verify=verify,
    )


def _context_endpoint(name: str, config_dir: Path) -> Endpoint:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta_file = config_dir / "contexts" / "meta" / digest / "meta.json"
    try:
        meta = json.loads(meta_file.read_text())
        docker_ep = meta["Endpoints"]["docker"]
        host = str(docker_ep["Host"])
    except FileNotFoundError:
        raise EngineError(
            f"Docker context {name!r} not found",
            hint=f"expected {meta_file}; list contexts with `docker context ls`",
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EngineError(
            f"cannot read Docker context {name!r}: {exc}", hint=f"check {meta_file}"
        ) from None
    tls_dir = config_dir / "contexts" / "tls" / digest / "docker"
    tls = None
    if tls_dir.is_dir():
        files = {f: tls_dir / f"{f}.pem" for f in ("ca", "cert", "key")}
        tls = TLSFiles(
            ca=str(files["ca"]) if files["ca"].exists() else None,
            cert=str(files["cert"]) if files["cert"].exists() else None,
            key=str(files["key"]) if files["key"].exists() else None,
            verify=not bool(docker_ep.get("SkipTLSVerify")),
        )
    return Endpoint(host=host, source=f"context {name!r}", tls=tls)


def resolve_endpoint(context: str | None, env: Mapping[str, str] | None = None) -> Endpoint:
    """The engine endpoint to use for ``--context`` (``None``: not given)."""
    env = os.environ if env is None else env
    config_dir = docker_config_dir(env)
    if context is None and env.get("DOCKER_HOST"):
        return Endpoint(host=env["DOCKER_HOST"], source="DOCKER_HOST", tls=_env_tls(env))
    name = context or env.get("DOCKER_CONTEXT") or _current_context(config_dir)
    if name and name != "default":
        return _context_endpoint(name, config_dir)
    if env.get("DOCKER_HOST"):  # the "default" context is DOCKER_HOST when set
        return Endpoint(host=env["DOCKER_HOST"], source="DOCKER_HOST", tls=_env_tls(env))
    return Endpoint(host=DEFAULT_HOST, source="default socket", tls=_env_tls(env))
