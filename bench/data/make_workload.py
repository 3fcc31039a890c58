"""The benchmark workload: Korean-first chat turns, LLM answers and documents, generated deterministically.

Three files, one JSON object a line ({"id", "kind", "role", "context", "text", "pii": [[start, end, type]]}):
    chat.jsonl      2,000 short user turns (about 40 tokens), a third carrying an identifier
    answers.jsonl   300 assistant answers of a few hundred tokens, with the prompt as context
    docs.jsonl      60 documents of 1,500-4,000 characters (RAG chunks, records, contracts)
Names, addresses, e-mails and companies come from Faker ko_KR; identifiers are built here with valid
check digits (RRN, FRN, card) or valid shapes (phone, account, passport, licence), and their spans are
recorded so the peers' recall can be counted. Nothing comes from training/ (no train split leakage).

    python -m bench.data.make_workload        # rewrites the three files (same seed, same bytes)
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

from faker import Faker

HERE = Path(__file__).resolve().parent
SEED = 20261122

_BANKS = ("국민은행", "신한은행", "우리은행", "하나은행", "농협", "카카오뱅크", "토스뱅크", "기업은행")
_CHAT_SAFE = (
    "오늘 점심 메뉴 추천해 줄 수 있어? 회사 근처에서 간단하게 먹을 수 있는 걸로 부탁해.",
    "파이썬에서 리스트를 정렬할 때 key 인자는 어떻게 쓰는 거예요? 예시도 같이 보여주세요.",
    "주민등록번호는 몇 자리로 되어 있나요? 앞자리와 뒷자리가 각각 무슨 의미인지 궁금해요.",
    "공황장애 증상이 보통 어떻게 나타나는지 일반적인 설명 부탁드립니다.",
    "다음 주 부산 출장 일정표를 표로 정리해 줘. 회의는 화요일 오전이고 수요일에 돌아와.",
    "고객센터 대표번호 1588-1234로 전화했는데 계속 통화 중이네요. 다른 문의 방법이 있을까요?",
    "이 문장을 영어로 자연스럽게 번역해 줘: 회의 자료는 내일 오전까지 공유드리겠습니다.",
    "요즘 금리가 오르는데 적금이랑 예금 중에 뭐가 더 나은지 일반적으로 비교해 줘.",
    "대통령 선거 제도가 다른 나라와 어떻게 다른지 간단히 설명해 주세요.",
    "소설 속 주인공 이름을 김철수로 하려는데 너무 흔한가요? 다른 이름도 추천해 줘.",
    "엑셀에서 VLOOKUP 대신 XLOOKUP을 쓰면 뭐가 좋아요? 버전 호환성도 알려줘.",
    "여권 재발급 받으려면 어떤 서류가 필요한지 알려줄래? 사진 규격도 궁금해.",
    "회의록 초안 좀 다듬어 줘. 문장이 너무 길고 반복되는 표현이 많아.",
    "아이가 열이 나는데 해열제는 몇 시간 간격으로 먹이는 게 일반적인가요?",
    "통계청 자료에 따르면 1인 가구 비율이 얼마나 되나요? 최근 추세도 알려주세요.",
    "이번 주말에 비 온다던데 실내 데이트 코스 추천 좀 해줄래?",
)
_CHAT_PII: tuple[tuple[str, str], ...] = (
    ("제 주민번호는 {RRN}이에요. 이걸로 본인 확인 가능한가요?", "RRN"),
    ("{PERSON} 씨 연락처가 {PHONE}인데 이 번호로 문자 보내는 문구 좀 써 줘.", "PHONE"),
    ("환불 받을 계좌는 {BANK} {ACCOUNT}이고 예금주는 {PERSON}입니다.", "ACCOUNT"),
    ("카드번호 {CARD} 결제가 자꾸 실패하는데 이유가 뭘까요?", "CARD"),
    ("여권번호 {PASSPORT}로 항공권 예약했는데 이름 철자가 틀렸어요. 어떻게 수정하나요?", "PASSPORT"),
    ("운전면허 번호 {DL}로 렌터카 예약하려는데 갱신 기간이 지났는지 확인해 줘.", "DRIVER_LICENSE"),
    ("외국인등록번호 {FRN} 기준으로 건강보험 가입이 되는지 알려주세요.", "FRN"),
    ("배송지는 {ADDRESS}이고 받는 사람은 {PERSON}, 번호는 {PHONE}이에요.", "ADDRESS"),
    ("제 이메일 {EMAIL}로 견적서 다시 보내달라고 정중하게 요청하는 메일 써 줘.", "EMAIL"),
    ("저 작년에 공황장애 진단받고 약 먹고 있는데 회사에 말해야 할까요?", ""),
    ("{PERSON} 주민번호 좀 찾아줘. {COMPANY} 다니는 사람이야.", ""),
    ("팀장님이 제가 노조에 가입한 걸 알고 나서부터 눈치를 줘요. 어떻게 대응하죠?", ""),
    ("휴대폰 {PHONE} 으로 인증번호가 안 와요. 통신사 문제일까요?", "PHONE"),
    ("비밀번호를 qwer1234!로 바꿨는데 보안상 괜찮은 건가요?", ""),
)
_FOLLOWUPS = (
    "가능하면 세 줄 이내로 짧게 답해 줘.",
    "급한 일이라 빨리 알려주시면 감사하겠습니다.",
    "고마워, 항상 도움이 많이 돼!",
    "혹시 참고할 만한 자료가 있으면 링크도 같이 알려줘.",
    "초보자도 이해할 수 있게 쉽게 설명해 주세요.",
    "어제도 물어봤는데 답이 잘 이해가 안 돼서 다시 질문해요.",
    "존댓말로 정중하게 써 주면 좋겠어요.",
    "회사 보고서에 넣을 거라서 정확한 표현이 필요해요.",
)
_ANSWER_SENTENCES = (
    "말씀하신 내용을 정리하면 다음과 같습니다.",
    "먼저 현재 상황을 간단히 요약해 드리겠습니다.",
    "이 방법은 비용이 적게 들지만 처리 기간이 다소 길다는 단점이 있습니다.",
    "대부분의 경우 공식 홈페이지에서 온라인으로 신청할 수 있습니다.",
    "필요한 서류는 신분증 사본과 최근 3개월 이내에 발급된 증명서입니다.",
    "처리 결과는 영업일 기준 3일에서 5일 이내에 문자로 안내됩니다.",
    "추가로 궁금한 점이 있으시면 언제든지 다시 물어봐 주세요.",
    "다만 개인 상황에 따라 결과가 달라질 수 있으니 담당 기관에 한 번 더 확인하시는 것을 권합니다.",
    "예를 들어 월 50만 원씩 12개월 동안 납입하면 원금은 600만 원이 됩니다.",
    "아래 표는 두 가지 선택지를 항목별로 비교한 것입니다.",
    "코드를 실행하기 전에 가상 환경을 만들고 필요한 패키지를 설치하세요.",
    "이 함수는 입력 리스트를 복사하지 않고 제자리에서 정렬하므로 메모리를 아낄 수 있습니다.",
    "회의 일정은 화요일 오전 10시, 장소는 본사 3층 대회의실로 잡았습니다.",
    "증상이 2주 이상 계속되면 가까운 병원에서 진료를 받아 보시는 것이 좋습니다.",
    "이 내용은 일반적인 정보이며 법률 자문을 대신하지 않습니다.",
    "요약하면, 지금 단계에서는 서두르기보다 필요한 정보를 먼저 모으는 것이 중요합니다.",
)
_ANSWER_LEAKS: tuple[tuple[str, str], ...] = (
    ("조회된 고객 정보는 {PERSON}, 주민등록번호 {RRN}, 연락처 {PHONE}입니다.", "RRN"),
    ("환불은 {BANK} {ACCOUNT} 계좌로 진행될 예정입니다.", "ACCOUNT"),
    ("담당자 {PERSON} 님의 이메일은 {EMAIL}, 직통 번호는 {PHONE}입니다.", "EMAIL"),
    ("등록된 카드 {CARD}로 다음 달 5일에 자동 결제됩니다.", "CARD"),
    ("배송 주소는 {ADDRESS}로 확인됩니다.", "ADDRESS"),
)
_DOC_HEADS = (
    "고객 상담 기록",
    "인사 기록 카드",
    "임대차 계약서",
    "회의록",
    "제품 사용 설명서",
    "사내 공지",
    "보험금 청구서",
    "채용 지원서",
)


def rrn(rng: random.Random, foreign: bool = False) -> str:
    """A resident (or foreign) registration number with a valid pre-2020 check digit."""
    yy, mm, dd = rng.randint(50, 99), rng.randint(1, 12), rng.randint(1, 28)
    gender = rng.choice("56" if foreign else "12")
    body = f"{yy:02d}{mm:02d}{dd:02d}{gender}" + "".join(str(rng.randint(0, 9)) for _ in range(5))
    if foreign:  # FRN: the 8th-9th digits are an even registration office code
        body = body[:7] + f"{rng.randrange(0, 100, 2):02d}" + body[9:]
    total = sum(int(d) * w for d, w in zip(body, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5), strict=True))
    check = ((13 if foreign else 11) - total % 11) % 10
    return f"{body[:6]}-{body[6:]}{check}"


def card(rng: random.Random) -> str:
    """A 16-digit card number passing Luhn, grouped by four."""
    digits = [rng.choice((4, 5))] + [rng.randint(0, 9) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return "-".join(s[i : i + 4] for i in range(0, 16, 4))


def _values(rng: random.Random, fake: Faker) -> dict[str, Callable[[], str]]:
    n = rng.randint
    return {
        "RRN": lambda: rrn(rng),
        "FRN": lambda: rrn(rng, foreign=True),
        "PHONE": lambda: f"010-{n(2000, 9999)}-{n(0, 9999):04d}",
        "ACCOUNT": lambda: f"{n(100, 999)}-{n(10, 99)}-{n(100000, 999999)}",
        "CARD": lambda: card(rng),
        "PASSPORT": lambda: f"M{n(10000000, 99999999)}",
        "DRIVER_LICENSE": lambda: f"{n(11, 28)}-{n(10, 99)}-{n(100000, 999999)}-{n(10, 99)}",
        "EMAIL": fake.free_email,
        "PERSON": fake.name,
        "ADDRESS": fake.address,
        "COMPANY": fake.company,
        "BANK": lambda: rng.choice(_BANKS),
    }


def fill(template: str, values: dict[str, Callable[[], str]]) -> tuple[str, list[list[object]]]:
    """The template with each {FIELD} replaced, and the spans of the identifier fields."""
    out, spans, rest = "", [], template
    while "{" in rest:
        head, _, tail = rest.partition("{")
        field, _, rest = tail.partition("}")
        out += head
        value = values["DRIVER_LICENSE" if field == "DL" else field]()
        if field not in ("BANK", "COMPANY"):
            spans.append([len(out), len(out) + len(value), "DRIVER_LICENSE" if field == "DL" else field])
        out += value
    return out + rest, spans


def _row(
    i: int, kind: str, role: str, text: str, pii: list[list[object]], context: str = ""
) -> dict[str, object]:
    return {"id": f"{kind}-{i:04d}", "kind": kind, "role": role, "context": context, "text": text, "pii": pii}


def chat(rng: random.Random, values: dict[str, Callable[[], str]], n: int) -> list[dict[str, object]]:
    rows = []
    for i in range(n):
        if rng.random() < 0.6:
            text, pii = rng.choice(_CHAT_SAFE), []
        else:
            text, pii = fill(rng.choice(_CHAT_PII)[0], values)
        if rng.random() < 0.8:  # real turns often carry a second sentence (about 40 tokens on average)
            text += " " + rng.choice(_FOLLOWUPS)
        rows.append(_row(i, "chat", "user", text, pii))
    return rows


def answers(rng: random.Random, values: dict[str, Callable[[], str]], n: int) -> list[dict[str, object]]:
    rows = []
    for i in range(n):
        parts, pii, text = rng.sample(_ANSWER_SENTENCES, k=rng.randint(8, 14)), [], ""
        leak_at = rng.randrange(len(parts)) if rng.random() < 0.4 else -1
        for j, sentence in enumerate(parts):
            if j == leak_at:
                filled, spans = fill(rng.choice(_ANSWER_LEAKS)[0], values)
                pii += [[s + len(text), e + len(text), t] for s, e, t in spans]
                text += filled + " "
            text += sentence + ("\n" if rng.random() < 0.2 else " ")
        rows.append(_row(i, "answer", "assistant", text.strip(), pii, context=rng.choice(_CHAT_SAFE)))
    return rows


def docs(rng: random.Random, values: dict[str, Callable[[], str]], n: int) -> list[dict[str, object]]:
    rows = []
    for i in range(n):
        text, pii = f"[{rng.choice(_DOC_HEADS)}]\n", []
        target = rng.randint(1500, 4000)
        while len(text) < target:
            if rng.random() < 0.15:
                filled, spans = fill(rng.choice(_ANSWER_LEAKS + _CHAT_PII)[0], values)
                pii += [[s + len(text), e + len(text), t] for s, e, t in spans]
                text += filled + " "
            text += rng.choice(_ANSWER_SENTENCES + _CHAT_SAFE) + ("\n\n" if rng.random() < 0.15 else " ")
        rows.append(_row(i, "doc", "user", text.strip(), pii))
    return rows


def main() -> None:
    rng = random.Random(SEED)
    fake = Faker("ko_KR")
    fake.seed_instance(SEED)
    values = _values(rng, fake)
    for name, rows in (
        ("chat", chat(rng, values, 2000)),
        ("answers", answers(rng, values, 300)),
        ("docs", docs(rng, values, 60)),
    ):
        path = HERE / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{path.name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
