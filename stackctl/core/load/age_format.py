"""The age file format, read without decrypting (pure, no crypto library).

``stackctl validate`` checks that every ``.age`` file a stack names is
well-formed even when no identity is at hand (a pipeline's lint step has none),
and the loader uses the header to tell a passphrase-encrypted file or a corrupt
one apart before it tries any key. Spec: https://age-encryption.org/v1
(binary header, ASCII armour in PEM style).

A header is ``age-encryption.org/v1``, one or more recipient stanzas
(``-> TYPE ARGS`` then base64 body lines, the last one shorter than 64 chars),
and ``--- MAC``; then the binary payload: a 16-byte nonce and at least one
sealed chunk (16 bytes of tag at least).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

AGE_SUFFIX = ".age"
ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"
VERSION_LINE = b"age-encryption.org/v1"
PASSPHRASE_STANZA = "scrypt"

_B64_CHARS = re.compile(rb"^[A-Za-z0-9+/]*$")
_NONCE_BYTES = 16
_TAG_BYTES = 16
_MAX_HEADER_LINES = 10_000


class AgeFormatError(ValueError):
    """The bytes are not a well-formed age file; the message says what is wrong."""


@dataclass(frozen=True)
class AgeHeader:
    """What the header of an age file says, without any key."""

    stanza_types: tuple[str, ...]  # e.g. ("X25519", "X25519") or ("scrypt",)
    armored: bool
    # a passphrase file's scrypt work factor, log2 of N (``-> scrypt SALT 18``)
    work_factor: int | None = None

    @property
    def recipients(self) -> tuple[str, ...]:
        """Stanza types without rage's random "grease" stanzas (``*-grease``)."""
        return tuple(t for t in self.stanza_types if not t.endswith("-grease"))

    @property
    def passphrase_only(self) -> bool:
        """Encrypted with a passphrase (age -p): no identity file can open it."""
        return PASSPHRASE_STANZA in self.recipients


def is_age_path(path: str) -> bool:
    """Whether a file name says it is age-encrypted (``secret.txt.age``)."""
    return path.endswith(AGE_SUFFIX)


def dearmor(data: bytes) -> bytes:
    """The binary age file inside an ASCII armour (``age -a``)."""
    text = data.strip()
    if not text.endswith(ARMOR_END):
        raise AgeFormatError("the ASCII armour has no END line: the file is truncated")
    lines = text[len(ARMOR_BEGIN) : -len(ARMOR_END)].strip().split(b"\n")
    lines = [line.rstrip(b"\r") for line in lines]
    for index, line in enumerate(lines):
        last = index == len(lines) - 1
        if not _B64_CHARS.match(line.rstrip(b"=")) or (not last and len(line) != 64):
            raise AgeFormatError(f"the ASCII armour is corrupt (line {index + 2})")
    try:
        return base64.b64decode(b"".join(lines), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AgeFormatError("the ASCII armour is not valid base64") from exc


def _b64_line(line: bytes, what: str) -> None:
    if not _B64_CHARS.match(line) or len(line) > 64:
        raise AgeFormatError(f"the header is corrupt ({what} is not unpadded base64)")


def parse_header(data: bytes) -> AgeHeader:
    """Check that ``data`` is a well-formed age file; raise AgeFormatError when not."""
    armored = data.lstrip().startswith(ARMOR_BEGIN)
    binary = dearmor(data) if armored else data
    if not binary:
        raise AgeFormatError("the file is empty")
    if not binary.startswith(VERSION_LINE + b"\n"):
        if binary.startswith(b"age-encryption.org/"):
            raise AgeFormatError("unsupported age format version (only v1 is known)")
        raise AgeFormatError("not an age file (no 'age-encryption.org/v1' header)")
    position = len(VERSION_LINE) + 1
    stanzas: list[str] = []
    work_factor: int | None = None
    in_body = False
    for _ in range(_MAX_HEADER_LINES):
        end = binary.find(b"\n", position)
        if end < 0:
            raise AgeFormatError("the header is truncated (no '---' line)")
        line = binary[position:end]
        position = end + 1
        if line.startswith(b"--- "):
            if not stanzas or in_body:
                raise AgeFormatError("the header is corrupt (a stanza is unfinished)")
            mac = line[4:]
            if len(mac) != 43 or not _B64_CHARS.match(mac):
                raise AgeFormatError("the header is corrupt (bad MAC line)")
            break
        if line.startswith(b"-> "):
            if in_body:
                raise AgeFormatError("the header is corrupt (a stanza body is unfinished)")
            args = line[3:].split(b" ")
            if not args or not args[0] or any(not a for a in args):
                raise AgeFormatError("the header is corrupt (empty stanza)")
            stanzas.append(args[0].decode("ascii", errors="replace"))
            if args[0] == PASSPHRASE_STANZA.encode() and len(args) == 3 and args[2].isdigit():
                work_factor = int(args[2])
            in_body = True
            continue
        if not in_body:
            raise AgeFormatError("the header is corrupt (a line outside any stanza)")
        _b64_line(line, "a stanza body")
        in_body = len(line) == 64  # a shorter line ends the body
    else:
        raise AgeFormatError("the header is too long")
    payload = len(binary) - position
    if payload < _NONCE_BYTES + _TAG_BYTES:
        raise AgeFormatError("the encrypted payload is truncated")
    return AgeHeader(tuple(stanzas), armored, work_factor)
