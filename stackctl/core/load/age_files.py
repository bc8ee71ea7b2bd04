"""Decrypting and encrypting age files in memory (pyrage, the Rust reference ``rage``).

Identities come as file paths (``--age-identity``, ``STACKCTL_AGE_IDENTITY_FILE``,
or whatever a library caller such as the GitOps agent passes); they are read
once, on the first ``.age`` file met, so a stack without one never imports
pyrage. Plaintext is only ever returned to the caller: it is never written,
logged, or put into an error message.

Errors are ``AgeFileError`` (an OSError, so the loader's read paths report it
like any unreadable file) with a plain message and a hint.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from stackctl.core.load.age_format import AgeFormatError, AgeHeader, parse_header

IDENTITY_ENV = "STACKCTL_AGE_IDENTITY_FILE"
IDENTITY_HINT = f"pass --age-identity FILE (repeatable) or set {IDENTITY_ENV}"
_SSH_KEY_BEGIN = "-----BEGIN OPENSSH PRIVATE KEY-----"


class AgeFileError(OSError):
    """An age file or identity that cannot be used; ``str()`` is the plain message."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


def _pyrage() -> Any:
    try:
        # lazy: pyrage only when an .age file is read or written
        import pyrage  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - a broken install
        raise AgeFileError("the pyrage package is not installed", "pip install pyrage") from exc
    return pyrage


def parse_identities(text: str, name: str) -> list[Any]:
    """Identities in an identity file: age-keygen's format, or an OpenSSH private key."""
    pyrage = _pyrage()
    if text.lstrip().startswith(_SSH_KEY_BEGIN):
        try:
            return [pyrage.ssh.Identity.from_buffer(text.encode())]
        except Exception as exc:
            raise AgeFileError(
                f"identity file {name}: the SSH key cannot be used ({exc})",
                "passphrase-protected SSH keys are not supported; use an age key",
            ) from None
    identities = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("AGE-SECRET-KEY-"):
            raise AgeFileError(
                f"identity file {name}:{number}: not an age secret key",
                "an identity file holds AGE-SECRET-KEY-1... lines, as age-keygen writes them",
            )
        try:
            identities.append(pyrage.x25519.Identity.from_str(line))
        except Exception:
            # The message must not quote the line: it is a secret key.
            raise AgeFileError(
                f"identity file {name}:{number}: the secret key is malformed"
            ) from None
    if not identities:
        raise AgeFileError(f"identity file {name} holds no age secret key")
    return identities


def parse_recipients(text: str, name: str) -> list[Any]:
    """Recipients from ``age1...`` / ``ssh-ed25519 ...`` / ``ssh-rsa ...`` lines."""
    pyrage = _pyrage()
    recipients = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            if line.startswith("ssh-"):
                recipients.append(pyrage.ssh.Recipient.from_str(line))
            else:
                recipients.append(pyrage.x25519.Recipient.from_str(line))
        except Exception:
            where = f"{name}:{number}" if name else "recipient"
            raise AgeFileError(
                f"{where}: {line[:80]!r} is not an age recipient",
                "a recipient is an age public key (age1..., from age-keygen -y) "
                "or an SSH public key (ssh-ed25519 ..., ssh-rsa ...)",
            ) from None
    return recipients


def encrypt(plaintext: bytes, recipients: Sequence[Any], *, armor: bool = False) -> bytes:
    """``plaintext`` encrypted to every recipient (binary, or ASCII-armoured)."""
    if not recipients:
        raise AgeFileError("no recipient given", "pass --recipient age1... or --recipients-file")
    return bytes(_pyrage().encrypt(plaintext, list(recipients), armored=armor))


class Decryptor:
    """Decrypts age files with identities read, on first use, from the given files.

    ``check_only`` (``stackctl validate`` without any identity): files are only
    checked to be well-formed, and ``decrypt`` returns None. ``ask_passphrase``
    (interactive runs only) is asked for the passphrase of a passphrase-encrypted
    file; without it such a file is an error.
    """

    def __init__(
        self,
        identity_files: Sequence[str],
        read: Callable[[str], bytes],
        *,
        check_only: bool = False,
        ask_passphrase: Callable[[str], str] | None = None,
    ) -> None:
        self.identity_files = tuple(identity_files)
        self.check_only = check_only and not self.identity_files
        self.ask_passphrase = ask_passphrase
        self._read = read
        self._identities: list[Any] | None = None

    def identities(self) -> list[Any]:
        if self._identities is None:
            found: list[Any] = []
            for path in self.identity_files:
                try:
                    raw = self._read(path)
                except AgeFileError:
                    raise
                except OSError as exc:
                    raise AgeFileError(
                        f"identity file {path} cannot be read: {exc.strerror or exc}",
                        IDENTITY_HINT,
                    ) from None
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise AgeFileError(f"identity file {path} is not text") from None
                found += parse_identities(text, path)
            self._identities = found
        return self._identities

    def decrypt(self, data: bytes, name: str) -> bytes | None:
        """The plaintext of the age file ``data`` (called ``name`` in messages)."""
        try:
            header = parse_header(data)
        except AgeFormatError as exc:
            raise AgeFileError(
                f"{name} is not a valid age file: {exc}",
                "encrypt it again with stackctl secret encrypt or the age CLI",
            ) from None
        if self.check_only:
            return None
        if header.passphrase_only and self.ask_passphrase is not None:
            return self._decrypt_with_passphrase(data, name)
        if header.passphrase_only:
            raise AgeFileError(
                f"{name} is encrypted with a passphrase, which a non-interactive run "
                "cannot ask for",
                "encrypt it to an age public key instead (stackctl secret encrypt "
                "--recipient age1...) and pass the identity with --age-identity",
            )
        if not self.identity_files:
            raise AgeFileError(f"{name} is age-encrypted and no identity was given", IDENTITY_HINT)
        return self._decrypt(data, header, name)

    def _decrypt_with_passphrase(self, data: bytes, name: str) -> bytes:
        pyrage = _pyrage()
        assert self.ask_passphrase is not None
        passphrase = self.ask_passphrase(name)
        try:
            return bytes(pyrage.passphrase.decrypt(data, passphrase))
        except pyrage.DecryptError as exc:
            raise passphrase_error(name, str(exc), parse_header(data).work_factor) from None

    def _decrypt(self, data: bytes, header: AgeHeader, name: str) -> bytes:
        pyrage = _pyrage()
        identities = self.identities()
        try:
            return bytes(pyrage.decrypt(data, identities))
        except pyrage.DecryptError as exc:
            if "no matching keys" in str(exc).lower():
                kinds = ", ".join(sorted(set(header.recipients)))
                files = ", ".join(self.identity_files)
                raise AgeFileError(
                    f"{name}: none of the identities in {files} can decrypt it "
                    f"(it is encrypted to {len(header.recipients)} recipient(s): {kinds})",
                    "use the identity whose public key the file was encrypted to",
                ) from None
            raise AgeFileError(
                f"{name} cannot be decrypted: the file is corrupt or truncated",
                "encrypt it again with stackctl secret encrypt or the age CLI",
            ) from None


# rage's words (age crate, error.rs / i18n age.ftl) for the ways a passphrase file fails
_EXCESSIVE_WORK = "excessive work parameter"
_WRONG_KEY = "decryption failed"
_SECONDS = re.compile(r"around\D*(\d+)")


def passphrase_error(name: str, reason: str, work_factor: int | None) -> AgeFileError:
    """What rage's refusal of a passphrase file means, in the user's terms.

    rage (``age::scrypt::Identity::new``) times scrypt on this machine when asked to
    decrypt, and refuses a file whose work factor is more than 4 above what takes
    about 1 s here now (about 16 s of work) before deriving any key: a file made
    on a faster or quieter machine can be refused on a slow or busy one, whatever
    the passphrase. pyrage does not let the limit be raised, so this says so
    instead of blaming the passphrase. "Decryption failed" is the key stanza not
    opening (a wrong passphrase, or that stanza altered); any other error comes
    after the passphrase opened it (the rest of the file is damaged).
    """
    text = reason.lower()
    if _EXCESSIVE_WORK in text:
        factor = f" (scrypt N = 2^{work_factor})" if work_factor is not None else ""
        seconds = _SECONDS.search(reason)
        estimate = f"; decrypting it would take about {seconds.group(1)} s" if seconds else ""
        return AgeFileError(
            f"{name} cannot be decrypted on this machine now: its passphrase work factor"
            f"{factor} is above the limit age sets from this machine's current speed"
            f"{estimate}; the passphrase was not checked",
            "a busy or slower machine lowers that limit: try again when the machine is "
            "less loaded, or encrypt the file again (age -p) on the machine that decrypts "
            "it; for pipelines, encrypt to an age key instead (stackctl secret encrypt "
            "--recipient age1...)",
        )
    if _WRONG_KEY in text:
        return AgeFileError(f"{name} cannot be decrypted: wrong passphrase, or the file is corrupt")
    return AgeFileError(
        f"{name} cannot be decrypted: the file is corrupt or truncated (the passphrase "
        "was accepted)",
        "encrypt it again with stackctl secret encrypt or the age CLI",
    )
