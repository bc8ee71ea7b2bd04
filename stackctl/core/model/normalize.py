"""From a valid plain document to the typed, frozen :class:`Stack`.

Short syntax becomes long syntax, units become integers (ns, bytes,
nano-CPUs), defaults docker applies are applied, and collections get a
deterministic order. The document must have passed :func:`validate_document`
without errors; this module trusts the types the schema guarantees.
"""

from __future__ import annotations

import hashlib
import posixpath
import shlex
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from stackctl.core.model.model import (
    IGNORABLE_FIELDS,
    CredentialSpec,
    DependsOn,
    FileObject,
    FileReference,
    Healthcheck,
    IPAMPool,
    Logging,
    Mount,
    Network,
    Port,
    Service,
    ServiceNetwork,
    Stack,
    StackSettings,
    Ulimit,
    Volume,
    frozen_map,
)
from stackctl.core.model.normalize_deploy import normalize_deploy
from stackctl.core.model.normalize_values import (
    key_value_map,
    optional_duration,
    optional_int,
    scalar_text,
    string_list,
)
from stackctl.core.model.shortsyntax import is_bind_source, parse_port, parse_volume
from stackctl.core.model.units import parse_bytes, parse_file_mode
from stackctl.errors import Finding, Location, Severity, StackFileError

_T = TypeVar("_T")
ReadFile = Callable[[str], bytes]
Locate = Callable[[tuple[str | int, ...]], Location]


def normalize_document(
    data: Mapping[str, Any],
    *,
    read_file: ReadFile,
    working_dir: str | None = None,
    home_dir: str | None = None,
    locate: Locate | None = None,
) -> Stack:
    """Build the normalized Stack from a validated document.

    ``read_file(path)`` returns the bytes of config/secret files. ``env_file`` is
    not read here: the loader folds it into ``environment`` before validation.
    Relative paths are resolved against ``working_dir`` and ``~`` against
    ``home_dir`` when given (the loader may also have resolved them already).
    Raises StackFileError when a referenced file cannot be read.
    """
    return _Normalizer(read_file, working_dir, home_dir, locate).stack(data)


class _Normalizer:
    def __init__(
        self,
        read_file: ReadFile,
        working_dir: str | None,
        home_dir: str | None,
        locate: Locate | None,
    ) -> None:
        self.read_file = read_file
        self.working_dir = working_dir
        self.home_dir = home_dir
        self.locate = locate
        self.errors: list[Finding] = []
        self.built: dict[tuple[str, str], Any] = {}

    def repeated(self, part: str, build: Callable[..., _T], *args: Any) -> _T:
        """``build(*args)``, built once per distinct ``args`` (by their repr).

        Services often repeat a section word for word (anchors, generated files).
        The builders used here are pure functions of plain YAML values, whose
        repr tells every value and type apart, and their results are frozen, so
        one result may serve every service that repeats the section.
        """
        key = (part, repr(args))
        found = self.built.get(key)
        if found is None:
            found = self.built[key] = build(*args)
        return found

    # -- helpers ------------------------------------------------------------------------------

    def path(self, value: str) -> str:
        """Resolve ``~`` and relative host paths like docker does (against the file's folder)."""
        if value.startswith("~") and self.home_dir:
            value = self.home_dir + value[1:]
        if self.working_dir and value.startswith("."):
            return posixpath.normpath(posixpath.join(self.working_dir, value))
        return value

    def read(self, file: str, where: tuple[str | int, ...]) -> bytes | None:
        try:
            return self.read_file(file)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            self.errors.append(
                Finding(
                    severity=Severity.ERROR,
                    code="SC230",
                    message=f"cannot read file '{file}': {reason}",
                    location=self.locate(where) if self.locate else Location(),
                    path=".".join(str(p) for p in where),
                    hint="the path is relative to the stack file that names it",
                )
            )
            return None

    # -- the stack ----------------------------------------------------------------------------

    def stack(self, data: Mapping[str, Any]) -> Stack:
        services = {
            str(name): self.service(str(name), spec or {})
            for name, spec in (data.get("services") or {}).items()
        }
        networks = {
            str(name): self.network(str(name), spec or {})
            for name, spec in (data.get("networks") or {}).items()
        }
        volumes = {
            str(name): self.volume(str(name), spec or {})
            for name, spec in (data.get("volumes") or {}).items()
        }
        configs = {
            str(name): self.file_object("configs", str(name), spec or {})
            for name, spec in (data.get("configs") or {}).items()
        }
        secrets = {
            str(name): self.file_object("secrets", str(name), spec or {})
            for name, spec in (data.get("secrets") or {}).items()
        }
        settings = data.get("x-stackctl") or {}
        if self.errors:
            raise StackFileError(self.errors)
        return Stack(
            services=frozen_map(services),
            networks=frozen_map(networks),
            volumes=frozen_map(volumes),
            configs=frozen_map(configs),
            secrets=frozen_map(secrets),
            settings=StackSettings(ignore=tuple(sorted(set(settings.get("ignore") or ())))),
        )

    # -- services -----------------------------------------------------------------------------

    def ignore_changes(self, name: str, settings: Any) -> tuple[str, ...]:
        """``x-stackctl: {ignore_changes: [...]}`` of a service, checked."""
        value = settings.get("ignore_changes") if isinstance(settings, Mapping) else None
        if value is None:
            return ()
        where: tuple[str | int, ...] = ("services", name, "x-stackctl", "ignore_changes")
        items = value if isinstance(value, list) else [value]
        bad = [str(v) for v in items if str(v) not in IGNORABLE_FIELDS]
        if bad or not isinstance(value, list):
            self.errors.append(
                Finding(
                    severity=Severity.ERROR,
                    code="SC225",
                    message="ignore_changes must be a list of: "
                    + ", ".join(IGNORABLE_FIELDS)
                    + (f" (not {', '.join(bad)})" if bad else ""),
                    location=self.locate(where) if self.locate else Location(),
                    path=".".join(str(p) for p in where),
                    hint="these are the fields another tool may own: an autoscaler's "
                    "replicas, an image updater's image",
                )
            )
            return ()
        return tuple(sorted(set(str(v) for v in items)))

    def service(self, name: str, spec: Mapping[str, Any]) -> Service:
        return Service(
            name=name,
            image=str(spec.get("image") or ""),
            command=_command(spec.get("command")),
            entrypoint=_command(spec.get("entrypoint")),
            # env_file entries were folded into environment by the loader
            # (stackctl.core.load.file_refs.resolve_environments), which owns env files.
            environment=frozen_map(key_value_map(spec.get("environment"))),
            labels=frozen_map(_labels(spec.get("labels"))),
            ports=_ports(spec.get("ports") or []),
            volumes=tuple(self.mount(m) for m in spec.get("volumes") or []),
            networks=self.repeated("networks", _service_networks, spec.get("networks")),
            configs=_file_refs(spec.get("configs") or []),
            secrets=_file_refs(spec.get("secrets") or []),
            healthcheck=self.repeated("healthcheck", _healthcheck, spec.get("healthcheck")),
            deploy=self.repeated(
                "deploy", normalize_deploy, spec.get("deploy") or {}, spec.get("restart")
            ),
            depends_on=_depends_on(spec.get("depends_on")),
            ignore_changes=self.ignore_changes(name, spec.get("x-stackctl")),
            user=_opt_str(spec.get("user")),
            working_dir=_opt_str(spec.get("working_dir")),
            hostname=_opt_str(spec.get("hostname")),
            dns=string_list(spec.get("dns")),
            dns_search=string_list(spec.get("dns_search")),
            dns_opt=string_list(spec.get("dns_opt")),
            extra_hosts=_extra_hosts(spec.get("extra_hosts")),
            cap_add=string_list(spec.get("cap_add")),
            cap_drop=string_list(spec.get("cap_drop")),
            group_add=tuple(str(g) for g in spec.get("group_add") or []),
            sysctls=frozen_map({k: v or "" for k, v in key_value_map(spec.get("sysctls")).items()}),
            ulimits=_ulimits(spec.get("ulimits") or {}),
            init=spec.get("init"),
            read_only=bool(spec.get("read_only", False)),
            tty=bool(spec.get("tty", False)),
            stdin_open=bool(spec.get("stdin_open", False)),
            stop_signal=_opt_str(spec.get("stop_signal")),
            stop_grace_period=optional_duration(spec.get("stop_grace_period")),
            logging=_logging(spec.get("logging")),
            isolation=_opt_str(spec.get("isolation")),
            credential_spec=_credential_spec(spec.get("credential_spec")),
            oom_score_adj=optional_int(spec.get("oom_score_adj")),
            extensions=frozen_map({k: v for k, v in spec.items() if str(k).startswith("x-")}),
        )

    def mount(self, entry: str | Mapping[str, Any]) -> Mount:
        spec = parse_volume(entry) if isinstance(entry, str) else entry
        kind = str(spec["type"])
        source = spec.get("source")
        if isinstance(source, str) and (
            kind == "bind" or (kind == "volume" and is_bind_source(source))
        ):
            source = self.path(source)
        tmpfs = spec.get("tmpfs") or {}
        tmpfs_mode = tmpfs.get("mode")
        return Mount(
            type=kind,
            target=str(spec.get("target", "")),
            source=source if source else None,
            read_only=bool(spec.get("read_only", False)),
            consistency=spec.get("consistency"),
            bind_propagation=(spec.get("bind") or {}).get("propagation"),
            volume_nocopy=bool((spec.get("volume") or {}).get("nocopy", False)),
            tmpfs_size=parse_bytes(tmpfs["size"]) if tmpfs.get("size") is not None else None,
            tmpfs_mode=_octal(tmpfs_mode) if tmpfs_mode is not None else None,
        )

    # -- top-level objects ----------------------------------------------------------------------

    def network(self, name: str, spec: Mapping[str, Any]) -> Network:
        external, external_name = _external(name, spec)
        ipam = spec.get("ipam") or {}
        return Network(
            name=name,
            external=external,
            external_name=external_name,
            driver=spec.get("driver"),
            driver_opts=frozen_map(_string_values(spec.get("driver_opts"))),
            attachable=bool(spec.get("attachable", False)),
            internal=bool(spec.get("internal", False)),
            ipam_driver=ipam.get("driver"),
            ipam_config=tuple(
                IPAMPool(
                    subnet=pool.get("subnet"),
                    ip_range=pool.get("ip_range"),
                    gateway=pool.get("gateway"),
                    aux_addresses=frozen_map(_string_values(pool.get("aux_addresses"))),
                )
                for pool in ipam.get("config") or []
            ),
            labels=frozen_map(_labels(spec.get("labels"))),
        )

    def volume(self, name: str, spec: Mapping[str, Any]) -> Volume:
        external, external_name = _external(name, spec)
        return Volume(
            name=name,
            external=external,
            external_name=external_name,
            driver=spec.get("driver"),
            driver_opts=frozen_map(_string_values(spec.get("driver_opts"))),
            labels=frozen_map(_labels(spec.get("labels"))),
        )

    def file_object(self, kind: str, name: str, spec: Mapping[str, Any]) -> FileObject:
        external, external_name = _external(name, spec)
        file = spec.get("file")
        content: bytes | None = None
        if isinstance(file, str) and not external:
            file = self.path(file)
            content = self.read(file, (kind, name, "file"))
        return FileObject(
            name=name,
            file=file if isinstance(file, str) else None,
            external=external,
            external_name=external_name,
            labels=frozen_map(_labels(spec.get("labels"))),
            template_driver=spec.get("template_driver"),
            driver=spec.get("driver"),
            driver_opts=frozen_map(_string_values(spec.get("driver_opts"))),
            content=content,
            content_sha256=hashlib.sha256(content).hexdigest() if content is not None else None,
        )


# -- value helpers (pure functions of one value) -----------------------------------------------


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _octal(value: int | str) -> int:
    """YAML reads ``0440`` as octal already; a string ``"0440"`` is octal too."""
    return parse_file_mode(value)


def _command(value: Any) -> tuple[str, ...] | None:
    """String (split like a shell) or list -> tuple; empty means the image's default.

    (The Engine API omits an empty Command/Args, so ``[]`` and absent are the same.)
    """
    if value is None:
        return None
    parts = shlex.split(value) if isinstance(value, str) else [str(part) for part in value]
    return tuple(parts) or None


def _labels(value: Any) -> dict[str, str]:
    return {k: "" if v is None else v for k, v in key_value_map(value).items()}


def _string_values(value: Any) -> dict[str, str]:
    return {str(k): scalar_text(v) for k, v in (value or {}).items()}


def _external(key: str, spec: Mapping[str, Any]) -> tuple[bool, str | None]:
    """(external?, the real name when it differs from the default)."""
    declared = spec.get("external")
    name = spec.get("name")
    external = bool(declared)
    if isinstance(declared, Mapping):
        external, name = True, declared.get("name") or name
    if external:
        # An external object is looked up by its key unless named otherwise, so
        # `name: <key>` means the same as no name: keep the model canonical.
        return True, None if name in (None, "", key) else str(name)
    return False, None if name is None else str(name)


def _ports(entries: list[Any]) -> tuple[Any, ...]:
    ports: list[Port] = []
    for entry in entries:
        if isinstance(entry, Mapping):
            published = entry.get("published")
            if isinstance(published, str):
                start, _, end = published.partition("-")
                offsets = range(int(end or start) - int(start) + 1)
                specs = [{**entry, "published": int(start) + i} for i in offsets]
            else:
                specs = [dict(entry)]
        else:
            specs, _host_ip = parse_port(entry)
        for spec in specs:
            ports.append(
                Port(
                    target=int(spec["target"]),
                    published=None if spec.get("published") is None else int(spec["published"]),
                    protocol=str(spec.get("protocol") or "tcp"),
                    mode=str(spec.get("mode") or "ingress"),
                )
            )
    unique = dict.fromkeys(ports)
    return tuple(sorted(unique, key=lambda p: (p.target, p.published or 0, p.protocol, p.mode)))


def _service_networks(value: Any) -> tuple[ServiceNetwork, ...]:
    if not value:
        return ()
    if isinstance(value, list):
        return tuple(ServiceNetwork(name=str(n)) for n in sorted(set(value)))
    networks = []
    for name in sorted(value):
        spec = value[name] or {}
        networks.append(
            ServiceNetwork(
                name=str(name),
                aliases=tuple(spec.get("aliases") or ()),
                ipv4_address=spec.get("ipv4_address"),
                ipv6_address=spec.get("ipv6_address"),
                driver_opts=frozen_map(_string_values(spec.get("driver_opts"))),
            )
        )
    return tuple(networks)


def _file_refs(entries: list[Any]) -> tuple[FileReference, ...]:
    refs = []
    for entry in entries:
        spec = {"source": entry} if isinstance(entry, str) else entry
        source = str(spec["source"])
        mode = spec.get("mode")
        refs.append(
            FileReference(
                source=source,
                target=str(spec.get("target") or source),
                uid=str(spec.get("uid") or "0"),
                gid=str(spec.get("gid") or "0"),
                mode=0o444 if mode is None else _octal(mode),
            )
        )
    return tuple(sorted(refs, key=lambda r: (r.source, r.target)))


def _healthcheck(value: Any) -> Healthcheck | None:
    if value is None:
        return None
    test = value.get("test")
    disable = bool(value.get("disable", False))
    # An empty test inherits the image's check, the same as no test at all.
    if isinstance(test, str) and test:
        test_tuple: tuple[str, ...] | None = ("CMD-SHELL", test)
    elif isinstance(test, list) and test:
        test_tuple = tuple(str(t) for t in test)
    else:
        test_tuple = None
    if disable:
        test_tuple = ("NONE",)
    if test_tuple == ("NONE",):
        disable = True
    return Healthcheck(
        test=test_tuple,
        interval=optional_duration(value.get("interval")),
        timeout=optional_duration(value.get("timeout")),
        retries=None if value.get("retries") is None else int(value["retries"]),
        start_period=optional_duration(value.get("start_period")),
        start_interval=optional_duration(value.get("start_interval")),
        disable=disable,
    )


def _depends_on(value: Any) -> tuple[DependsOn, ...]:
    if not value:
        return ()
    if isinstance(value, list):
        return tuple(DependsOn(service=str(s)) for s in sorted(set(value)))
    return tuple(
        DependsOn(
            service=str(s), condition=str((value[s] or {}).get("condition") or "service_started")
        )
        for s in sorted(value)
    )


def _extra_hosts(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return tuple(f"{host}:{scalar_text(ip)}" for host, ip in value.items())
    return tuple(
        str(entry).replace("=", ":", 1) if ":" not in str(entry) else str(entry) for entry in value
    )


def _ulimits(value: Mapping[str, Any]) -> tuple[Ulimit, ...]:
    limits = []
    for name in sorted(value):
        spec = value[name]
        if isinstance(spec, Mapping):
            limits.append(Ulimit(name=str(name), soft=int(spec["soft"]), hard=int(spec["hard"])))
        else:
            limits.append(Ulimit(name=str(name), soft=int(spec), hard=int(spec)))
    return tuple(limits)


def _logging(value: Any) -> Logging | None:
    if value is None:
        return None
    options = {
        str(k): "" if v is None else scalar_text(v) for k, v in (value.get("options") or {}).items()
    }
    return Logging(driver=value.get("driver"), options=frozen_map(options))


def _credential_spec(value: Any) -> CredentialSpec | None:
    if not value:
        return None
    return CredentialSpec(
        config=value.get("config"), file=value.get("file"), registry=value.get("registry")
    )
