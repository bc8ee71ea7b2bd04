"""Short syntax of ports and volumes, turned into their long syntax (as docker does).

Both parsers return plain dicts in the long syntax of the stack file so the
normalizer has one code path, and raise :class:`ShortSyntaxError` with a
plain-language message for anything docker would refuse.
"""

from __future__ import annotations

import re
from typing import Any

_PROTOCOLS = ("tcp", "udp", "sctp")
_PORT_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")
_VOLUME_MODES = {"ro", "rw", "nocopy", "z", "Z"}
_PROPAGATIONS = {"shared", "rshared", "slave", "rslave", "private", "rprivate"}
_CONSISTENCIES = {"cached", "delegated", "consistent"}
_WINDOWS_DRIVE = re.compile(r"^[a-zA-Z]:[\\/]")


class ShortSyntaxError(ValueError):
    """A short-syntax port or volume docker would not accept."""


def _port_range(text: str, what: str) -> tuple[int, int]:
    match = _PORT_RANGE.match(text)
    if not match:
        raise ShortSyntaxError(f"'{text}' is not a valid {what} port or port range")
    start = int(match.group(1))
    end = int(match.group(2) or start)
    if end < start:
        raise ShortSyntaxError(f"{what} port range '{text}' ends before it starts")
    if not 0 < start <= 65535 or end > 65535:
        raise ShortSyntaxError(f"{what} port '{text}' is outside 1-65535")
    return start, end


def parse_port(spec: str | int | float) -> tuple[list[dict[str, Any]], str | None]:
    """``"127.0.0.1:8080-8081:80-81/udp"`` -> long-syntax ports, and the host IP if one was given.

    Swarm publishes on every address, so a host IP is returned for a warning
    and otherwise dropped (docker does the same).
    """
    if isinstance(spec, float) and spec.is_integer():
        spec = int(spec)  # the schema's "integer" admits 80.0
    if isinstance(spec, int | float):
        spec = str(spec)
    text = spec.strip()
    protocol = "tcp"
    if "/" in text:
        text, protocol = text.rsplit("/", 1)
        if protocol not in _PROTOCOLS:
            raise ShortSyntaxError(
                f"protocol '{protocol}' in port '{spec}' is not one of tcp, udp, sctp"
            )
    host_ip: str | None = None
    parts = text.split(":")
    if len(parts) == 1:
        published_text, target_text = "", parts[0]
    elif len(parts) == 2:
        published_text, target_text = parts
    else:
        # Everything before the last two parts is the IP (IPv6 contains colons).
        host_ip = ":".join(parts[:-2]).strip("[]")
        published_text, target_text = parts[-2], parts[-1]
    if not target_text:
        raise ShortSyntaxError(f"port '{spec}' has no container port")
    target_start, target_end = _port_range(target_text, "container")
    ports: list[dict[str, Any]] = []
    if published_text:
        pub_start, pub_end = _port_range(published_text, "published")
        if pub_end - pub_start != target_end - target_start:
            raise ShortSyntaxError(
                f"port '{spec}': the published range and the container range differ in size"
            )
        for offset in range(target_end - target_start + 1):
            ports.append(
                {
                    "mode": "ingress",
                    "target": target_start + offset,
                    "published": pub_start + offset,
                    "protocol": protocol,
                }
            )
    else:
        for target in range(target_start, target_end + 1):
            ports.append({"mode": "ingress", "target": target, "protocol": protocol})
    return ports, host_ip or None


def _split_volume(spec: str) -> list[str]:
    """Split on ``:``, keeping Windows drive letters (``C:\\data``) intact."""
    parts: list[str] = []
    rest = spec
    while rest:
        cut = rest.find(":", 2) if _WINDOWS_DRIVE.match(rest) else rest.find(":")
        if cut < 0:
            parts.append(rest)
            break
        parts.append(rest[:cut])
        rest = rest[cut + 1 :]
        if not rest:
            parts.append("")
    return parts


def is_bind_source(source: str) -> bool:
    """A short-syntax source is a host path (bind) when it looks like a path."""
    return (
        source.startswith(("/", ".", "~", "\\"))
        or bool(_WINDOWS_DRIVE.match(source))
        or source.startswith("//")
    )


def parse_volume(spec: str) -> dict[str, Any]:
    """``"./data:/var/lib/data:ro"`` -> a long-syntax mount dict."""
    parts = _split_volume(spec)
    if any(part == "" for part in parts) or not parts:
        raise ShortSyntaxError(f"volume '{spec}' has an empty part")
    if len(parts) > 3:
        raise ShortSyntaxError(f"volume '{spec}' has too many ':'-separated parts")
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0]}
    mode_text = parts[2] if len(parts) == 3 else None
    source, target = parts[0], parts[1]
    mount: dict[str, Any] = {
        "type": "bind" if is_bind_source(source) else "volume",
        "source": source,
        "target": target,
    }
    if mode_text is not None:
        for option in mode_text.split(","):
            if option == "ro":
                mount["read_only"] = True
            elif option == "rw":
                mount["read_only"] = False
            elif option == "nocopy":
                mount["volume"] = {"nocopy": True}
            elif option in _PROPAGATIONS:
                mount["bind"] = {"propagation": option}
            elif option in _CONSISTENCIES:
                mount["consistency"] = option
            elif option in _VOLUME_MODES:
                pass  # SELinux relabelling (z/Z): not applicable to Swarm
            else:
                raise ShortSyntaxError(f"volume '{spec}' has an unknown option '{option}'")
    return mount
