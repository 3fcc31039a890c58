"""A generated dataset with known planted identifiers and sensitive sentences, for the scan tests.

Every planted value is valid for its validator (RRN check digit, Luhn, a Korean mobile number, an
e-mail address), so the detectors catch it whatever the model says. The sensitive sentences use the
words the tiny test model scores (tests/support/tinymodel.py: 우울증 S1, 전과 S7), which a real model flags too.
Clean records use only plain words, which neither flags.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
SENSITIVE = {
    "S1": "저 작년에 우울증 진단을 받아서 약을 먹고 있어요",
    "S7": "제 동생은 전과 기록이 있어서 취업이 어려워요",
}
CLEAN = ("오늘 날씨 좋다", "hello world", "회의는 내일 오후 세 시에 합니다", "점심 메뉴 추천해 주세요")


@dataclass
class Dataset:
    """Records plus what was planted in them (record number = 1-based position = JSONL line)."""

    records: list[dict[str, Any]]
    expected: dict[int, set[str]] = field(default_factory=dict)   # number -> categories planted
    secrets: list[str] = field(default_factory=list)              # every plain value planted

    def write_jsonl(self, path: Path) -> Path:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.records),
                        encoding="utf-8")
        return path


def rrn(rng: random.Random) -> str:
    yy, mm, dd = rng.randint(60, 99), rng.randint(1, 12), rng.randint(1, 28)
    body = f"{yy:02d}{mm:02d}{dd:02d}{rng.choice('12')}{rng.randint(0, 99999):05d}"
    check = (11 - sum(int(d) * w for d, w in zip(body, _RRN_WEIGHTS, strict=True)) % 11) % 10
    return f"{body[:6]}-{body[6:]}{check}"


def card(rng: random.Random) -> str:
    digits = [4] + [rng.randint(0, 9) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):  # Luhn over the 15 digits, check digit appended
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return "-".join(s[i:i + 4] for i in range(0, 16, 4))


def phone(rng: random.Random) -> str:
    return f"010-{rng.randint(2000, 9999)}-{rng.randint(0, 9999):04d}"


def email(rng: random.Random, i: int) -> str:
    return f"minsu.kim{i}{rng.randint(10, 99)}@naver.com"


def make_dataset(n: int, *, seed: int = 7) -> Dataset:
    """`n` records with a "text" field and a "messages" chat; one in three carries a planted item."""
    rng = random.Random(seed)
    ds = Dataset(records=[])
    for i in range(n):
        number = i + 1
        text = f"{rng.choice(CLEAN)}"
        answer = rng.choice(CLEAN)
        kind = i % 9
        planted: set[str] = set()
        if kind == 1:
            value = rrn(rng)
            text, planted = f"제 주민번호는 {value}이에요", {"P1"}
            ds.secrets.append(value)
        elif kind == 2:
            value = phone(rng)
            answer, planted = f"담당자 연락처는 {value}입니다", {"P3"}
            ds.secrets.append(value)
        elif kind == 4:
            value = card(rng)
            text, planted = f"카드 {value} 로 결제해 주세요", {"P2"}
            ds.secrets.append(value)
        elif kind == 5:
            value = email(rng, i)
            text, planted = f"메일은 {value} 로 보내 주세요", {"P3"}
            ds.secrets.append(value)
        elif kind == 7:
            code = "S1" if i % 2 else "S7"
            text, planted = SENSITIVE[code], {code}
        ds.records.append({"id": number, "text": text, "lang": "ko",
                           "messages": [{"role": "user", "content": rng.choice(CLEAN)},
                                        {"role": "assistant", "content": answer}]})
        if planted:
            ds.expected[number] = planted
    return ds
