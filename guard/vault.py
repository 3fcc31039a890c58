"""The pseudonym vault: what each pseudonym of a session stands for, in memory, bounded and expiring.

A `Vault` is one session's table, pseudonym -> (span type, original value). It is bounded in entries
and bytes (`VaultLimits`), expires `ttl_s` after its last use, and holds nothing else: no text, no
verdict. Values are looked up by pseudonym; the reverse lookup that keeps pseudonyms consistent (the
same value, the same pseudonym) goes through an HMAC of the value under a random per-session key, so the
table has no plaintext index. With a key (`load_vault_key`: a key file or KGUARD_VAULT_KEY, never
code), every value is sealed with AES-256-GCM under a per-session key derived from it, the pseudonym
bound as associated data. Nothing here logs, prints or counts a value: `repr` shows sizes only.

`VaultStore` holds the sessions of a server or an application: bounded per session (each Vault's
limits) and in total (sessions and bytes), expired sessions dropped as it goes, all dropped by `clear()`
at shutdown. A full store refuses a new entry (VaultFullError, RESOURCE_EXHAUSTED) rather than dropping
another session's values.

The vault file (`save_vault_file` / `load_vault_file`, for `kguard scan --masking pseudonymize`) is the
one place a vault is written: AES-256-GCM under a key stretched with scrypt, the header bound as
associated data; a wrong key or a changed byte fails with VaultKeyError.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guard.errors import ConfigError, UnknownSessionError, VaultFullError, VaultKeyError
from guard.taxonomy import SpanType

__all__ = ["VAULT_KEY_ENV", "Entry", "Vault", "VaultLimits", "VaultStore", "load_vault_file", "load_vault_key",
           "save_vault_file"]

VAULT_KEY_ENV = "KGUARD_VAULT_KEY"
MIN_KEY_BYTES = 16
_ENTRY_OVERHEAD = 64  # bytes counted per entry besides the value and the pseudonym
_FILE_FORMAT = "kguard-vault"
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}


def load_vault_key(key_file: Path | None = None, *, required: bool = False) -> bytes | None:
    """The vault key: from `key_file` if given, else the KGUARD_VAULT_KEY variable, else None.

    Raises:
        VaultKeyError: the file cannot be read, the key is shorter than 16 bytes, or `required` and
            there is none.
    """
    key: bytes | None = None
    if key_file is not None:
        try:
            key = key_file.read_bytes().strip()
        except OSError as exc:
            raise VaultKeyError(f"cannot read vault key file {key_file}: {exc.strerror}") from None
    elif os.environ.get(VAULT_KEY_ENV):
        key = os.environ[VAULT_KEY_ENV].encode("utf-8", "surrogateescape")
    if key is None:
        if required:
            raise VaultKeyError(f"a vault key is required: set {VAULT_KEY_ENV} or pass a key file")
        return None
    if len(key) < MIN_KEY_BYTES:
        raise VaultKeyError(f"the vault key must be at least {MIN_KEY_BYTES} bytes")
    return key


@dataclass(frozen=True, kw_only=True)
class VaultLimits:
    """Bounds of one session.

    Attributes:
        max_entries: pseudonyms per session.
        max_bytes: bytes per session (values and pseudonyms in UTF-8, plus a fixed overhead per entry).
        ttl_s: a session expires this long after its last use.
    """

    max_entries: int = 1_000
    max_bytes: int = 256 * 1024
    ttl_s: float = 900.0

    def __post_init__(self) -> None:
        if self.max_entries < 1 or self.max_bytes < 1 or self.ttl_s <= 0:
            raise ConfigError("vault limits must be positive")


@dataclass(frozen=True)
class Entry:
    """One pseudonym and what it stands for (the value sealed; `Vault.value` opens it)."""

    pseudonym: str
    span_type: SpanType
    style: str                                   # "placeholder" or "fake"
    sealed: bytes = field(repr=False)
    placeholder: str = ""                        # the canonical placeholder (a fake's alias, or itself)


class _Sealer:
    """Seals values with AES-256-GCM when there is a key; passes UTF-8 bytes through when not."""

    def __init__(self, key: bytes | None) -> None:
        self._aead: Any = None
        if key is not None:
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            from cryptography.hazmat.primitives.kdf.hkdf import HKDF

            derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=secrets.token_bytes(16),
                           info=b"kguard vault session v1").derive(key)
            self._aead = AESGCM(derived)

    def seal(self, value: str, aad: str) -> bytes:
        data = value.encode("utf-8", "surrogatepass")
        if self._aead is None:
            return data
        nonce = secrets.token_bytes(12)
        return nonce + bytes(self._aead.encrypt(nonce, data, aad.encode("utf-8", "surrogatepass")))

    def open(self, sealed: bytes, aad: str) -> str:
        if self._aead is not None:
            sealed = self._aead.decrypt(sealed[:12], sealed[12:], aad.encode("utf-8", "surrogatepass"))
        return sealed.decode("utf-8", "surrogatepass")


class Vault:
    """One session's pseudonyms. Thread-safe.

    Args:
        limits: the session's bounds and time to live.
        key: seal values under this key (AES-256-GCM); None keeps them as UTF-8 in memory.
        session_id: the session's id (a random one by default); a bearer secret: whoever has it can
            restore the session's values through a server that holds it.
        clock: monotonic seconds (tests pass a fake one).
        budget: called with the bytes an entry adds before it is added (a store's total bound); may
            raise VaultFullError.
    """

    def __init__(self, *, limits: VaultLimits | None = None, key: bytes | None = None,
                 session_id: str | None = None, clock: Callable[[], float] = time.monotonic,
                 budget: Callable[[int], None] | None = None) -> None:
        self.limits = limits or VaultLimits()
        self.session_id = session_id or secrets.token_urlsafe(18)
        self.encrypted = key is not None
        self._sealer = _Sealer(key)
        self._index_key = secrets.token_bytes(32)
        self._clock = clock
        self._budget = budget
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {}
        self._by_value: dict[bytes, str] = {}
        self._aliases: dict[str, str] = {}
        self._numbers: dict[str, int] = {}
        self.nbytes = 0
        self.version = 0  # bumped on every change (restorers cache their patterns per version)
        self.last_used = clock()

    def __repr__(self) -> str:
        return f"Vault(entries={len(self._entries)}, bytes={self.nbytes}, encrypted={self.encrypted})"

    def __len__(self) -> int:
        return len(self._entries)

    def _digest(self, span_type: SpanType, key: str) -> bytes:
        data = f"{span_type.value}\x00{key}".encode("utf-8", "surrogatepass")
        return hmac.new(self._index_key, data, hashlib.sha256).digest()

    def find(self, span_type: SpanType, key: str) -> str | None:
        """The pseudonym already given to the value whose consistency key is `key`, or None."""
        self.touch()
        return self._by_value.get(self._digest(span_type, key))

    def next_number(self, label: str) -> int:
        """The next free number of a placeholder label (1, 2, ...), reserved."""
        with self._lock:
            number = self._numbers.get(label, 0) + 1
            self._numbers[label] = number
            return number

    def add(self, span_type: SpanType, key: str, value: str, pseudonym: str, style: str, *,
            alias: str | None = None) -> None:
        """Record that `pseudonym` stands for `value` (whose consistency key is `key`); `alias` is a
        fake's placeholder, found like the pseudonym itself.

        Raises:
            VaultFullError: the session (or the store) is at its bound.
        """
        size = len(value.encode("utf-8", "surrogatepass")) + len(pseudonym.encode("utf-8", "surrogatepass"))
        size += _ENTRY_OVERHEAD
        with self._lock:
            if len(self._entries) >= self.limits.max_entries or self.nbytes + size > self.limits.max_bytes:
                raise VaultFullError("pseudonym session is full (entries or bytes); start a new session")
            if pseudonym in self._entries or pseudonym in self._aliases or (alias and alias in self._aliases):
                raise VaultFullError("pseudonym already taken in this session")
            if self._budget is not None:
                self._budget(size)
            self._entries[pseudonym] = Entry(pseudonym, span_type, style, self._sealer.seal(value, pseudonym),
                                             alias or pseudonym)
            if alias:
                self._aliases[alias] = pseudonym
            self._by_value[self._digest(span_type, key)] = pseudonym
            self.nbytes += size
            self.version += 1
        self.touch()

    def entry(self, pseudonym: str) -> Entry | None:
        """The entry of a pseudonym or of a fake's placeholder, or None."""
        return self._entries.get(self._aliases.get(pseudonym, pseudonym))

    def value(self, pseudonym: str) -> str | None:
        """The original value a pseudonym (or a fake's placeholder) stands for, or None when it is not
        in this session."""
        entry = self.entry(pseudonym)
        return None if entry is None else self._sealer.open(entry.sealed, entry.pseudonym)

    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries.values())

    def touch(self) -> None:
        self.last_used = self._clock()

    def expired(self, now: float | None = None) -> bool:
        return (self._clock() if now is None else now) - self.last_used > self.limits.ttl_s

    def clear(self) -> int:
        """Forget every value; returns the bytes freed."""
        with self._lock:
            freed = self.nbytes
            self._entries.clear()
            self._by_value.clear()
            self._aliases.clear()
            self._numbers.clear()
            self.nbytes = 0
            self.version += 1
            return freed

    def items(self) -> Iterator[tuple[Entry, str]]:
        """Every entry with its opened value (for the vault file only)."""
        for entry in self.entries():
            yield entry, self._sealer.open(entry.sealed, entry.pseudonym)


class VaultStore:
    """The sessions of one server or application, bounded per session and in total. Thread-safe.

    Args:
        limits: each session's bounds and time to live.
        max_sessions: sessions held at once.
        max_total_bytes: bytes of all sessions together.
        key: seal every session's values under this key (see Vault).
        clock: monotonic seconds.
    """

    def __init__(self, *, limits: VaultLimits | None = None, max_sessions: int = 10_000,
                 max_total_bytes: int = 64 * 1024 * 1024, key: bytes | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_sessions < 1 or max_total_bytes < 1:
            raise ConfigError("vault store bounds must be positive")
        self.limits = limits or VaultLimits()
        self.max_sessions = max_sessions
        self.max_total_bytes = max_total_bytes
        self._key = key
        self._clock = clock
        self._lock = threading.RLock()
        self._sessions: dict[str, Vault] = {}
        self.total_bytes = 0

    def __repr__(self) -> str:
        return f"VaultStore(sessions={len(self._sessions)}, bytes={self.total_bytes})"

    def __len__(self) -> int:
        return len(self._sessions)

    def _reserve(self, size: int) -> None:
        with self._lock:
            if self.total_bytes + size > self.max_total_bytes:
                self.purge()
            if self.total_bytes + size > self.max_total_bytes:
                raise VaultFullError("the pseudonym vault is full; try again later")
            self.total_bytes += size

    def open(self, session_id: str | None = None) -> Vault:
        """The session `session_id` (UnknownSessionError when unknown or expired), or a new one."""
        if session_id:
            return self.get(session_id)
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                self.purge()
            if len(self._sessions) >= self.max_sessions:
                raise VaultFullError("too many pseudonym sessions; try again later")
            vault = Vault(limits=self.limits, key=self._key, clock=self._clock, budget=self._reserve)
            self._sessions[vault.session_id] = vault
            return vault

    def get(self, session_id: str) -> Vault:
        with self._lock:
            vault = self._sessions.get(session_id)
            if vault is not None and vault.expired():
                self._drop(session_id)
                vault = None
        if vault is None:
            raise UnknownSessionError("pseudonym session unknown, expired or ended")
        vault.touch()
        return vault

    def end(self, session_id: str) -> bool:
        """Drop a session now; False when there was none."""
        with self._lock:
            return self._drop(session_id)

    def _drop(self, session_id: str) -> bool:
        vault = self._sessions.pop(session_id, None)
        if vault is None:
            return False
        self.total_bytes -= vault.clear()
        return True

    def purge(self) -> int:
        """Drop expired sessions; returns how many."""
        with self._lock:
            now = self._clock()
            gone = [sid for sid, v in self._sessions.items() if v.expired(now)]
            for sid in gone:
                self._drop(sid)
            return len(gone)

    def clear(self) -> None:
        """Drop every session (shutdown)."""
        with self._lock:
            for sid in list(self._sessions):
                self._drop(sid)
            self.total_bytes = 0


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _stretch(key: bytes, salt: bytes, params: dict[str, int]) -> bytes:
    return hashlib.scrypt(key, salt=salt, n=params["n"], r=params["r"], p=params["p"], dklen=32,
                          maxmem=256 * 1024 * 1024)


def save_vault_file(path: Path, vault: Vault, key: bytes) -> None:
    """Write `vault` to `path`, encrypted under `key` (owner-only; replaced atomically)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(key) < MIN_KEY_BYTES:
        raise VaultKeyError(f"the vault key must be at least {MIN_KEY_BYTES} bytes")
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    header = {"format": _FILE_FORMAT, "version": 1, "cipher": "AES-256-GCM",
              "kdf": {"name": "scrypt", **_SCRYPT}, "salt": _b64(salt)}
    aad = json.dumps(header, sort_keys=True).encode("ascii")
    body = json.dumps({"entries": [[e.pseudonym, e.span_type.value, e.style, value, e.placeholder]
                                   for e, value in vault.items()]}, ensure_ascii=False)
    ciphertext = AESGCM(_stretch(key, salt, _SCRYPT)).encrypt(nonce, body.encode("utf-8", "surrogatepass"), aad)
    data = json.dumps({**header, "nonce": _b64(nonce), "ciphertext": _b64(ciphertext)}).encode("ascii")
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_vault_file(path: Path, key: bytes, *, limits: VaultLimits | None = None,
                    key_of: Callable[[SpanType, str], str] = lambda _t, v: v) -> Vault:
    """The vault written to `path` under `key`; `key_of` gives each value's consistency key.

    Raises:
        VaultKeyError: a wrong key, or a file that is damaged or not a vault file.
    """
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        doc = json.loads(path.read_bytes())
        header = {k: doc[k] for k in ("format", "version", "cipher", "kdf", "salt")}
        if header["format"] != _FILE_FORMAT or header["version"] != 1:
            raise ValueError
        params = {k: int(header["kdf"][k]) for k in ("n", "r", "p")}
        salt, nonce = base64.b64decode(header["salt"]), base64.b64decode(doc["nonce"])
        ciphertext = base64.b64decode(doc["ciphertext"])
    except OSError as exc:
        raise VaultKeyError(f"cannot read vault file {path}: {exc.strerror}") from None
    except (ValueError, KeyError, TypeError):
        raise VaultKeyError(f"{path} is not a kguard vault file") from None
    aad = json.dumps(header, sort_keys=True).encode("ascii")
    try:
        body = AESGCM(_stretch(key, salt, params)).decrypt(nonce, ciphertext, aad)
    except (InvalidTag, ValueError):
        raise VaultKeyError(f"cannot open vault file {path}: wrong key, or the file was changed") from None
    entries = json.loads(body.decode("utf-8", "surrogatepass"))["entries"]
    size = sum(len(str(e[0])) + len(str(e[3])) + _ENTRY_OVERHEAD for e in entries) * 4
    limits = limits or VaultLimits(max_entries=max(len(entries), 1) * 2 + 1000, max_bytes=size * 2 + 1_000_000,
                                   ttl_s=float("inf"))
    vault = Vault(limits=limits)
    for pseudonym, span_type, style, value, alias in entries:
        kind = SpanType(span_type)
        vault.add(kind, key_of(kind, value), value, pseudonym, style,
                  alias=alias if alias != pseudonym else None)
    return vault
