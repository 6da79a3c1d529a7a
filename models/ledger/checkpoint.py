"""Signed tree heads in the transparency-dev checkpoint format: a signed note (Go's
``golang.org/x/mod/sumdb/note``) whose body is the log's origin, its size, its root hash in base64
and one extension line with the instant it was signed::

    esupervision/ledger/0192f1c4-…
    4096
    0p3a…base64…=
    time 2026-11-26T01:00:05.000000Z

    — esupervision <base64 of the 4-byte key hash and the Ed25519 signature>

The private key signs; the verifier key (``name+keyhash+base64``, printed by
``esv ledger public-key``) alone checks, so whoever verifies cannot sign.
"""
from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from esupervision.models.base import utc

ED25519 = 0x01          # the signed-note algorithm byte of Ed25519
SIGNATURE_PREFIX = "\u2014 "   # an em dash and a space open every signature line


class CheckpointError(ValueError):
    """A checkpoint that cannot be read, or whose signature does not verify."""


@dataclass(frozen=True)
class TreeHead:
    """What a checkpoint states: the log ``origin`` had ``size`` leaves with head ``root`` at ``time``."""

    origin: str
    size: int
    root: bytes
    time: datetime

    def body(self) -> str:
        """The signed text: four lines, each ending in a newline."""
        stamp = utc(self.time).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\ntime {stamp}\n"


def origin_for(log_name: str, center_id: uuid.UUID | str) -> str:
    """The origin line of a center's log: one log per center and deployment."""
    return f"{log_name}/ledger/{center_id}"


def center_of(origin: str) -> uuid.UUID:
    """The center a log's origin names."""
    return uuid.UUID(origin.rsplit("/", 1)[-1])


def _key_hash(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public).digest()[:4]


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key, as the verifier key text ``name+hash+base64`` gives it."""

    name: str
    public_key: Ed25519PublicKey

    @property
    def key_hash(self) -> bytes:
        return _key_hash(self.name, _raw(self.public_key))

    def text(self) -> str:
        """The verifier key: ``name+<8 hex digits of the key hash>+<base64 of 0x01 ‖ key>``."""
        return (f"{self.name}+{self.key_hash.hex()}+"
                f"{base64.b64encode(bytes([ED25519]) + _raw(self.public_key)).decode()}")

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """Read a verifier key; raises CheckpointError when it is not one (or its hash is wrong)."""
        parts = text.strip().split("+", 2)     # the base64 key may hold a "+" itself
        if len(parts) != 3 or not parts[0]:
            raise CheckpointError("a verifier key reads name+keyhash+base64")
        name, hash_hex, key_b64 = parts
        try:
            raw = base64.b64decode(key_b64, validate=True)
            key_hash = bytes.fromhex(hash_hex)
        except ValueError as exc:
            raise CheckpointError(f"unreadable verifier key: {exc}") from None
        if len(raw) != 33 or raw[0] != ED25519:
            raise CheckpointError("only Ed25519 verifier keys (algorithm 1) are known")
        if key_hash != _key_hash(name, raw[1:]):
            raise CheckpointError("the verifier key's hash does not match its name and key")
        return cls(name, Ed25519PublicKey.from_public_bytes(raw[1:]))


def read_verifier(text: str, name: str) -> Verifier:
    """A verifier from a key file's text: a verifier key (``name+hash+base64``), a bare Ed25519
    public key in base64 (as ``esv keys generate`` prints it; named ``name``) or a PEM public key."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
        key = load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise CheckpointError("the PEM key is not an Ed25519 public key")
        return Verifier(name, key)
    parts = text.split("+", 2)
    if len(parts) == 3 and len(parts[1]) == 8 and all(c in "0123456789abcdef" for c in parts[1]):
        return Verifier.parse(text)
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise CheckpointError("the key file holds no verifier key, base64 or PEM public key") from None
    if len(raw) != 32:
        raise CheckpointError("an Ed25519 public key is 32 bytes")
    return Verifier(name, Ed25519PublicKey.from_public_bytes(raw))


@dataclass(frozen=True)
class Signer:
    """A named Ed25519 private key."""

    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def from_seed(cls, name: str, seed_b64: str) -> Signer:
        seed = base64.b64decode(seed_b64)
        if len(seed) != 32:
            raise ValueError("ledger signing key must be 32 bytes, base64")
        return cls(name, Ed25519PrivateKey.from_private_bytes(seed))

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.private_key.public_key())

    def sign(self, head: TreeHead) -> str:
        """The checkpoint: ``head``'s body, a blank line and this key's signature line."""
        body = head.body()
        signature = self.private_key.sign(body.encode())
        key_hash = _key_hash(self.name, _raw(self.private_key.public_key()))
        return f"{body}\n{SIGNATURE_PREFIX}{self.name} {base64.b64encode(key_hash + signature).decode()}\n"


def parse(note: str) -> TreeHead:
    """The head a checkpoint states, without checking any signature."""
    body, sep, _ = note.partition("\n\n")
    lines = body.split("\n")
    if not sep or len(lines) < 3:
        raise CheckpointError("a checkpoint has an origin, a size and a root hash, then a blank line")
    origin, size_text, root_b64 = lines[:3]
    if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise CheckpointError(f"bad tree size {size_text!r}")
    try:
        root = base64.b64decode(root_b64, validate=True)
    except ValueError:
        raise CheckpointError("the root hash is not base64") from None
    if len(root) != 32:
        raise CheckpointError("the root hash is not 32 bytes")
    stamp = next((line[5:] for line in lines[3:] if line.startswith("time ")), None)
    try:
        signed_at = datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None
    except ValueError:
        raise CheckpointError(f"bad time {stamp!r}") from None
    if signed_at is None:
        raise CheckpointError("a checkpoint of this log carries a time line")
    return TreeHead(origin, int(size_text), root, signed_at)


def verify(note: str, verifier: Verifier) -> TreeHead:
    """The head of ``note`` if ``verifier``'s key signed it; raises CheckpointError otherwise."""
    head = parse(note)
    body, _, signatures = note.partition("\n\n")
    body += "\n"
    for line in signatures.split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            continue
        name, _, blob = line[len(SIGNATURE_PREFIX):].rpartition(" ")
        if name != verifier.name:
            continue
        try:
            raw = base64.b64decode(blob, validate=True)
        except ValueError:
            continue
        if len(raw) != 68 or raw[:4] != verifier.key_hash:
            continue
        try:
            verifier.public_key.verify(raw[4:], body.encode())
        except InvalidSignature:
            raise CheckpointError(f"the signature of {verifier.name} on the head of size {head.size} is invalid") \
                from None
        return head
    raise CheckpointError(f"the head of size {head.size} carries no signature of {verifier.name}")
