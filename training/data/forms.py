"""Forms and records (HR, medical, sign-up, counselling): several fields, several categories at once;
and their safe twins (blank or placeholder forms). The layout style is the template family."""

# ruff: noqa: E501  (template text stays on one line so it reads like the message it produces)

from __future__ import annotations

import random

from training.data.render import Filler, Rendered, render

# (field label, value template, categories it discloses joined by "+"; "" = none by itself)
FIELDS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("생년월일", "생일", "DOB"), "{bday}", "P5"),
    (("주민등록번호", "주민번호", "주민등록번호(앞-뒤)"), "{rrn}", "P1"),
    (("외국인등록번호", "외국인 등록번호", "등록증 번호", "ARC No."), "{frn}", "P1"),
    (("여권번호",), "{passport}", "P1"),
    (("운전면허번호", "면허번호"), "{dl}", "P1"),
    (("연락처", "휴대폰", "H.P", "전화", "보호자 연락처", "비상연락처"), "{phone}", "P3"),
    (("이메일", "E-mail"), "{email}", "P3"),
    (("주소", "자택 주소", "거주지"), "{addr}", "P3"),
    (("급여 계좌", "환불계좌", "계좌"), "{bank} {account}", "P2"),
    (("입금 계좌", "계좌번호(예금주 본인)", "지급 계좌", "이체 계좌"), "{bankacct}", "P2"),
    (("카드번호",), "{card}", "P2"),
    (("임시 비밀번호", "초기 비밀번호", "PIN"), "{pw}", "P4"),
    # a workplace alone next to a name is not P5; with a home address it is (see unsafe_form)
    (("직장", "소속", "재직"), "{company} {dept}", ""),
    (("진단명", "병명", "상병명", "기저질환", "주호소", "과거력"), "{diag}", "S1"),
    (("복용 약", "처방"), "{med}", "S1"),
    (("성적 지향",), "{orient}", "S2"),
    (("지지 정당", "정치 성향"), "{party}", "S3"),
    (("노조 가입", "소속 노조"), "{union}", "S4"),
    # party membership naming the party is S4 and S3 (LABELLING.md)
    (("당원 가입", "소속 정당(당원)", "당적"), "{party} 권리당원", "S3+S4"),
    (("종교", "종교 유무"), "무교 (종교 없음)", "S5"),  # no religion is S5 too
    (("종교",), "{religion}", "S5"),
    (("유전자 검사", "가족력(유전)"), "{gene} 양성", "S6"),
    (("범죄경력", "전과"), "{crime} {sentence}", "S7"),
    (("등록 생체정보", "생체인증"), "지문 템플릿 등록됨 (fp_{name_roman}.dat)", "S8"),
    (("국적/민족", "출신"), "{ethnic}", "S9"),
)
TITLES = ("[입사지원서]", "[진료 접수]", "상담 신청서", "회원가입 정보", "[인사기록카드]", "긴급 연락망", "환자 정보",
          "신원 조회 결과", "고객 정보", "", "[보험 청구서]", "학생 기록부", "[진단서]", "[산재 신청서]", "[입원 약정서]",
          "외국인 근로자 인적사항", "[경조금 신청서]", "상담일지", "[급여 이체 신청]", "보건실 기록")
# layout styles: how label/value pairs are written. Index = family; split by family.
STYLES = ("{k}: {v}\n", "{k} : {v} / ", "| {k} | {v} |\n", '"{k}": "{v}", ', "- {k} {v}\n",
          "{k}={v}; ", "■ {k}: {v}\n", "{k}\t{v}\n", "[{k}] {v} ", "{k} - {v}\n",
          "{k} ▶ {v}\n", "* {k}: {v}\n", "{k}({v}) ", "○ {k} : {v}\n", "<{k}> {v}\n")
_SPLIT = ("train", "train", "train", "dev", "test")


def _styles(split: str) -> list[int]:
    return [i for i in range(len(STYLES)) if _SPLIT[i % 5] == split]


def _layout(rng: random.Random, split: str, pairs: list[tuple[str, str]]) -> tuple[str, str]:
    style = rng.choice(_styles(split))
    body = "".join(STYLES[style].format(k=k, v=v) for k, v in pairs)
    title = rng.choice(TITLES)
    return (f"{title}\n{body}" if title else body).strip(), f"form:style{style}"


def unsafe_form(rng: random.Random, filler: Filler, split: str) -> tuple[Rendered, set[str], str]:
    """A filled form: a name plus 2-5 fields; labels are the categories its fields disclose."""
    fields = rng.sample(FIELDS, rng.randint(2, 5))
    pairs = [(rng.choice(("성명", "이름", "환자명", "지원자")), "{name}")]
    pairs += [(rng.choice(labels), value) for labels, value, _ in fields]
    template, family = _layout(rng, split, pairs)
    labels = {c for _, _, cat in fields for c in cat.split("+") if c}
    values = {value for _, value, _ in fields}
    if "{company} {dept}" in values and "{addr}" in values:  # name + workplace + home: a profile
        labels.add("P5")
    return render(template, filler), labels, family


def safe_form(rng: random.Random, split: str) -> tuple[Rendered, str]:
    """A blank, placeholder or masked form: the shape of personal data with none in it (not rendered:
    its braces are literal placeholders)."""
    fields = rng.sample(FIELDS, rng.randint(2, 6))
    blank = rng.choice(("", "____", "(미기재)", "***", "○○○", "XXX", "해당 없음", "[입력]", "예: 000000-0000000",
                        "010-****-****", "YYYY-MM-DD", "{{값}}"))
    pairs = [(rng.choice(("성명", "이름")), rng.choice(("홍길동 (예시)", "○○○", "____", "김**")))]
    pairs += [(rng.choice(labels), blank) for labels, _, _ in fields]
    template, family = _layout(rng, split, pairs)
    note = rng.choice(("", "\n※ 작성 예시입니다.", "\n아래 양식에 맞춰 작성해 주세요.", "\n(개인정보는 마스킹 처리됨)"))
    return Rendered(template + note, ()), "safe_" + family
