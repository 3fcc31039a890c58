"""SecretDetector: keyword + value, and well-known key shapes."""

from __future__ import annotations

import pytest

from guard.detectors.base import Validity
from guard.detectors.secret import SecretDetector

DETECTOR = SecretDetector()


def _found(text: str) -> list[str]:
    found = DETECTOR.find(text)
    assert all(m.validity is Validity.UNVERIFIABLE and m.category.value == "P4" for m in found)
    return [text[m.start:m.end] for m in found]


_PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1234abcd\n-----END RSA PRIVATE KEY-----"
_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("비밀번호는 hunter2!야", "hunter2!"),
        ("비번 abcd1234", "abcd1234"),
        ("password: letmein", "letmein"),
        ("pw=Qwer!234", "Qwer!234"),
        ("PIN은 4321", "4321"),
        ("PIN 번호 0852", "0852"),
        ("OTP 123456 입력하세요", "123456"),
        ("인증번호는 839201입니다", "839201"),
        ("패스워드: 'p@ss w0rd'", "p@ss"),
        ("my password is s3cret", "s3cret"),
        ("AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
        ("token ghp_" + "a1" * 18, "ghp_" + "a1" * 18),
        ("github_pat_" + "A1b2" * 20, "github_pat_" + "A1b2" * 20),
        ("key=sk-proj-" + "Ab3" * 10, "sk-proj-" + "Ab3" * 10),
        ("xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"),
        ("AIza" + "Sy1" * 11 + "ab", "AIza" + "Sy1" * 11 + "ab"),
        (_JWT, _JWT),
        ("키: " + _PEM + " 끝", _PEM),
        ("-----BEGIN PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----"),
    ],
)
def test_finds(text: str, span: str) -> None:
    assert _found(text) == [span]


@pytest.mark.parametrize(
    "text",
    [
        "비밀번호를 잊어버렸어요",
        "비밀번호 변경은 어떻게 하나요?",
        "password is required",
        "Forgot your password?",
        "reset password link",
        "비밀번호: ****",
        "password: xxxx",
        "PIN은 4자리예요",
        "OTP 앱을 설치하세요",
        "인증번호가 안 와요",
        "암호화폐 시세",
        "shopping 1234",
        "task-force-meeting-notes-2024",
        "sk-short",
        "AKIA1234",
        "-----BEGIN PUBLIC KEY-----",
        "",
    ],
)
def test_hard_negatives(text: str) -> None:
    assert _found(text) == []
