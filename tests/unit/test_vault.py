"""The vault: bounds, expiry, sessions, sealing, and the encrypted vault file."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.errors import UnknownSessionError, VaultFullError, VaultKeyError
from guard.taxonomy import SpanType
from guard.vault import VAULT_KEY_ENV, Vault, VaultLimits, VaultStore, load_vault_file, load_vault_key, save_vault_file

KEY = b"k" * 32
PHONE = "010-2345-6789"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fill(vault: Vault, n: int, value: str = PHONE) -> None:
    for i in range(n):
        vault.add(SpanType.PHONE, f"{i}", f"{value}{i}", f"<PHONE_{i + 1}>", "placeholder")


def test_a_session_is_bounded_in_entries() -> None:
    vault = Vault(limits=VaultLimits(max_entries=3))
    _fill(vault, 3)
    with pytest.raises(VaultFullError):
        _fill(vault, 1, "x")
    assert len(vault) == 3


def test_a_session_is_bounded_in_bytes() -> None:
    vault = Vault(limits=VaultLimits(max_bytes=400))
    with pytest.raises(VaultFullError) as err:
        vault.add(SpanType.ADDRESS, "a", "서울" * 200, "<주소_1>", "placeholder")
    assert "서울" not in str(err.value) and len(vault) == 0


def test_values_are_found_by_pseudonym_and_by_their_key() -> None:
    vault = Vault()
    vault.add(SpanType.PHONE, "01023456789", PHONE, "<PHONE_1>", "placeholder")
    assert vault.value("<PHONE_1>") == PHONE
    assert vault.find(SpanType.PHONE, "01023456789") == "<PHONE_1>"
    assert vault.find(SpanType.ACCOUNT, "01023456789") is None
    assert vault.value("<PHONE_2>") is None


def test_nothing_shows_a_value() -> None:
    for vault in (Vault(), Vault(key=KEY)):
        vault.add(SpanType.PHONE, "01023456789", PHONE, "<PHONE_1>", "placeholder")
        assert PHONE not in repr(vault) and PHONE not in repr(vault.entries())
        assert not any(b"01023456789" in key for key in vault._by_value)  # an HMAC index, no plaintext


def test_a_sealed_value_is_not_in_memory_as_text() -> None:
    vault = Vault(key=KEY)
    vault.add(SpanType.PHONE, "01023456789", PHONE, "<PHONE_1>", "placeholder")
    sealed = vault.entries()[0].sealed
    assert PHONE.encode() not in sealed and vault.value("<PHONE_1>") == PHONE


def test_a_session_expires_after_its_ttl_from_last_use() -> None:
    clock = Clock()
    store = VaultStore(limits=VaultLimits(ttl_s=60), clock=clock)
    vault = store.open()
    vault.add(SpanType.PHONE, "1", PHONE, "<PHONE_1>", "placeholder")
    clock.now += 50
    assert store.get(vault.session_id) is vault  # used: the TTL starts again
    clock.now += 50
    assert store.get(vault.session_id).value("<PHONE_1>") == PHONE
    clock.now += 61
    with pytest.raises(UnknownSessionError):
        store.get(vault.session_id)
    assert len(store) == 0 and store.total_bytes == 0 and vault.value("<PHONE_1>") is None


def test_the_store_is_bounded_in_sessions_and_in_total_bytes() -> None:
    clock = Clock()
    store = VaultStore(limits=VaultLimits(ttl_s=10), max_sessions=2, max_total_bytes=1000, clock=clock)
    a, _ = store.open(), store.open()
    with pytest.raises(VaultFullError):
        store.open()
    with pytest.raises(VaultFullError):
        for i in range(100):
            a.add(SpanType.PHONE, str(i), PHONE, f"<PHONE_{i + 1}>", "placeholder")
    assert store.total_bytes <= 1000
    clock.now += 11  # both expire: room again
    assert store.open() is not None and store.total_bytes == 0


def test_end_and_clear_drop_the_values() -> None:
    store = VaultStore()
    vault = store.open()
    vault.add(SpanType.PHONE, "1", PHONE, "<PHONE_1>", "placeholder")
    assert store.end(vault.session_id) and not store.end(vault.session_id)
    other = store.open()
    other.add(SpanType.PHONE, "1", PHONE, "<PHONE_1>", "placeholder")
    store.clear()
    assert len(store) == 0 and other.value("<PHONE_1>") is None and store.total_bytes == 0
    with pytest.raises(UnknownSessionError):
        store.get(other.session_id)


def test_the_vault_file_round_trips_and_is_unreadable_without_the_key(tmp_path: Path) -> None:
    vault = Vault()
    vault.add(SpanType.PHONE, "01023456789", PHONE, "<PHONE_1>", "placeholder")
    vault.add(SpanType.PERSON, "홍길동", "홍길동", "채미호", "fake", alias="<이름_1>")
    path = tmp_path / "vault.kgv"
    save_vault_file(path, vault, KEY)
    raw = path.read_bytes()
    for secret in (PHONE, "01023456789", "홍길동", "채미호", "<PHONE_1>"):
        assert secret.encode() not in raw
    assert path.stat().st_mode & 0o077 == 0
    loaded = load_vault_file(path, KEY)
    assert loaded.value("<PHONE_1>") == PHONE and loaded.value("<이름_1>") == "홍길동"
    assert loaded.value("채미호") == "홍길동"


def test_a_wrong_key_or_a_changed_file_fails_clearly(tmp_path: Path) -> None:
    vault = Vault()
    vault.add(SpanType.PHONE, "1", PHONE, "<PHONE_1>", "placeholder")
    path = tmp_path / "vault.kgv"
    save_vault_file(path, vault, KEY)
    with pytest.raises(VaultKeyError, match="wrong key"):
        load_vault_file(path, b"w" * 32)
    data = bytearray(path.read_bytes())
    data[-10] = ord("A") if data[-10] != ord("A") else ord("B")
    path.write_bytes(bytes(data))
    with pytest.raises(VaultKeyError):
        load_vault_file(path, KEY)
    (tmp_path / "plain.json").write_text("{}")
    with pytest.raises(VaultKeyError, match="not a kguard vault file"):
        load_vault_file(tmp_path / "plain.json", KEY)


def test_the_key_comes_from_a_file_or_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAULT_KEY_ENV, raising=False)
    assert load_vault_key() is None
    with pytest.raises(VaultKeyError, match="required"):
        load_vault_key(required=True)
    monkeypatch.setenv(VAULT_KEY_ENV, "short")
    with pytest.raises(VaultKeyError, match="16 bytes"):
        load_vault_key()
    monkeypatch.setenv(VAULT_KEY_ENV, "a-long-enough-vault-key")
    assert load_vault_key() == b"a-long-enough-vault-key"
    (tmp_path / "key").write_bytes(b"0123456789abcdef0123\n")
    assert load_vault_key(tmp_path / "key") == b"0123456789abcdef0123"
    with pytest.raises(VaultKeyError, match="cannot read"):
        load_vault_key(tmp_path / "missing")
