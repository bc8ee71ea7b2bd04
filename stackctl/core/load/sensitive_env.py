"""Which service environment values came from an encrypted (``.age``) env file.

Values decrypted from an ``.age`` env file are secret whatever their variable
is called, so the loader collects, per service, the environment names whose
value came from one: entries of an ``env_file: x.env.age``, and entries whose
value was interpolated from (or defaulted to) a variable of an ``--env-file
x.env.age``. Conversion puts those names on the service
(``io.stackctl.sensitive-env``), and every redaction rule reads them there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stackctl.core.load.doc_paths import Path


@dataclass
class SensitiveEnv:
    variables: frozenset[str] = frozenset()
    """Interpolation variables whose value came from an encrypted env file."""
    interpolated: set[Path] = field(default_factory=set)
    """``services.NAME.environment.KEY`` entries whose template used one of them."""
    names: dict[str, set[str]] = field(default_factory=dict)
    """Service -> environment names holding a value from an encrypted file."""

    def mark(self, service: str, name: str) -> None:
        self.names.setdefault(service, set()).add(name)


def is_environment_value(path: Path) -> bool:
    """Whether ``path`` is a service's environment entry (the one place secrets may go)."""
    return len(path) == 4 and path[0] == "services" and path[2] == "environment"
