"""The training-data generator: valid identifiers, fitted particles, spans that point at the values,
reproducibility, and a split by template family. Needs Faker (the train extra), not torch."""

from __future__ import annotations

import json
import random
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
import time_machine

pytest.importorskip("faker", reason="the train extra (faker) is not installed")

from faker import Faker  # noqa: E402
from stdnum import luhn  # noqa: E402

from guard.taxonomy import CATEGORY_CODES, SpanType  # noqa: E402
from training.data import en, ko_safe, ko_unsafe  # noqa: E402
from training.data import values as V  # noqa: E402
from training.data.benign import konlpy_corpora, sentences  # noqa: E402
from training.data.pools import POOLS  # noqa: E402
from training.data.render import Filler, josa, render, typing_noise  # noqa: E402
from training.generate import Catalog, generate  # noqa: E402

SIZES = {"train": 300, "dev": 120, "test": 120}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data")
    generate(out, SIZES, seed=7, use_benign=False)
    return out


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_rrn_check_digit_matches_the_published_rule() -> None:
    # 880101-1234568 is the textbook example whose check digit is 8
    assert V.rrn_check("880101123456") == "8"


def test_generated_rrns_with_a_check_digit_validate() -> None:
    rng = random.Random(1)
    checked = 0
    for _ in range(200):
        digits = "".join(c for c in V.rrn(rng) if c.isdigit())
        assert len(digits) == 13
        if digits[:12] and V.rrn_check(digits[:12]) == digits[12]:
            checked += 1
    assert checked > 100  # ~75% carry a check digit; post-2020 numbers are random


def test_cards_pass_luhn() -> None:
    rng = random.Random(2)
    for _ in range(100):
        assert luhn.is_valid("".join(c for c in V.card(rng) if c.isdigit()))


@pytest.mark.parametrize(
    ("word", "particle", "expected"),
    [
        ("김민수", "은", "는"),
        ("김민준", "은", "은"),
        ("우울증", "으로", "으로"),
        ("서울", "으로", "로"),
        ("010-1234-5678", "으로", "로"),
        ("900101-1234567", "이에요", "이에요"),
        ("교회", "를", "를"),
    ],
)
def test_josa_fits_the_last_sound(word: str, particle: str, expected: str) -> None:
    assert josa(word, particle) == expected


def test_spans_point_at_the_inserted_values(data_dir: Path) -> None:
    for row in rows(data_dir / "train.jsonl"):
        for start, end, kind in row["spans"]:
            assert 0 <= start < end <= len(row["text"])
            SpanType(kind)
            assert row["text"][start:end].strip() == row["text"][start:end]
        assert set(row["labels"]) <= set(CATEGORY_CODES)


def test_every_split_has_every_category_and_negatives(data_dir: Path) -> None:
    for split in SIZES:
        data = rows(data_dir / f"{split}.jsonl")
        seen = {c for r in data for c in r["labels"]}
        assert len(seen) >= 12, split  # tiny samples may miss one or two
        assert sum(1 for r in data if not r["labels"]) >= len(data) * 0.4
        assert {r["role"] for r in data} == {"user", "assistant"}


def test_families_do_not_cross_splits(data_dir: Path) -> None:
    families = {
        s: {r["family"] for r in rows(data_dir / f"{s}.jsonl") if r["kind"] != "benign"} for s in SIZES
    }
    assert not families["train"] & families["test"]
    assert not families["train"] & families["dev"]


def test_generation_is_reproducible(tmp_path: Path, data_dir: Path) -> None:
    generate(tmp_path, {"dev": SIZES["dev"]}, seed=7, use_benign=False)
    assert (tmp_path / "dev.jsonl").read_text() == (data_dir / "dev.jsonl").read_text()


def _dates() -> list[str]:
    fake = Faker("ko_KR")
    fake.seed_instance(5)
    rng = random.Random(5)
    return ["".join(text for text, _ in Filler(rng, fake, Faker("en_US")).value("date")) for _ in range(50)]


def test_generated_dates_do_not_depend_on_the_day_the_generator_runs() -> None:
    days = [datetime(2026, 12, 6, 23, 0, tzinfo=timezone.utc), datetime(2029, 3, 1, 12, 0, tzinfo=timezone.utc)]
    seen = []
    for day in days:
        with time_machine.travel(day, tick=False):
            seen.append(_dates())
    assert seen[0] == seen[1]


def test_obfuscations_keep_the_value_recognisable() -> None:
    rng = random.Random(3)
    assert V.hangul_digits("010", rng) == "공일공"
    assert V.fullwidth("12", rng) == "１２"
    assert V.spaced("010-12", rng) == "0 1 0 1 2"
    assert (
        V.zero_width("1234", rng)
        .replace("\u200b", "")
        .replace("\u200c", "")
        .replace("\u200d", "")
        .replace("\ufeff", "")
        == "1234"
    )


# --- template coverage, the typing augmentation, exact spans --------------------------------------------


def _filler(seed: int) -> Filler:
    from faker import Faker

    rng = random.Random(seed)
    fake, fake_en = Faker("ko_KR"), Faker("en_US")
    fake.seed_instance(seed)
    fake_en.seed_instance(seed + 1)
    return Filler(rng, fake, fake_en)


def test_every_category_has_korean_unsafe_families_in_every_split() -> None:
    cat = Catalog.build()
    minimum = {"train": 25, "dev": 8, "test": 8}
    for code in CATEGORY_CODES:
        total = 0
        for split, n in minimum.items():
            fams = [f for t in (cat.disclose, cat.request) for f in t["ko"][split] if code in f.labels]
            assert len(fams) >= n, (code, split, len(fams))
            total += len(fams)
        assert total >= 40, code


def test_safe_negatives_outnumber_unsafe_families() -> None:
    unsafe = sum(len(v) for m in (ko_unsafe, en) for t in (m.DISCLOSE, m.REQUEST) for v in t.values())
    safe = sum(len(v) for t in (ko_safe.SAFE, en.SAFE) for v in t.values())
    assert safe >= 0.6 * unsafe
    cat = Catalog.build()
    for split in ("train", "dev", "test"):
        kinds = {f.id.split(":")[2] for f in cat.safe["ko"][split]}
        assert {"general", "format", "commerce", "chat", "answer", "support"} <= kinds, split


def test_every_template_renders() -> None:
    filler_seed = 0
    for table in (ko_unsafe.DISCLOSE, ko_unsafe.REQUEST, ko_safe.SAFE, en.DISCLOSE, en.REQUEST, en.SAFE):
        for templates in table.values():
            for template in templates:
                filler_seed += 1
                r = render(template, _filler(filler_seed))
                assert "{" not in r.text.replace("{{", "").replace("}}", "") or "{{" in template, template
                assert len(set(templates)) == len(templates), "duplicate family"


def test_typing_noise_never_touches_a_span() -> None:
    rng = random.Random(5)
    changed = 0
    for i, template in enumerate(t for table in (ko_unsafe.DISCLOSE, ko_safe.SAFE) for v in table.values() for t in v):
        r = render(template, _filler(i))
        values = [(r.text[s:e], kind) for s, e, kind in r.spans]
        for casual in (True, False):
            noisy = typing_noise(r, rng, "ko", casual=casual)
            assert [(noisy.text[s:e], kind) for s, e, kind in noisy.spans] == values, (r.text, noisy.text)
            changed += noisy.text != r.text
    assert changed > 100  # it does rewrite texts


def test_typing_noise_drops_spacing_and_adds_tails() -> None:
    r = render("저 요즘 정말 너무 힘들어서 병원에 다니고 있어요.", _filler(1))
    outs = {typing_noise(r, random.Random(i), "ko").text for i in range(200)}
    assert any(o.count(" ") < r.text.count(" ") for o in outs)
    assert any(o.endswith(("ㅋ", "ㅠ", "~", "!")) for o in outs)
    assert any("\n" in o or "어여" in o or "어용" in o for o in outs)


def test_account_and_frn_spans_hold_the_numbers(data_dir: Path) -> None:
    seen = set()
    for split in SIZES:
        for row in rows(data_dir / f"{split}.jsonl"):
            for start, end, kind in row["spans"]:
                value = row["text"][start:end]
                if kind in ("ACCOUNT", "FRN", "RRN", "PHONE", "CARD") and not row["obfuscated"]:
                    seen.add(kind)
                    # digits, or the same number read aloud in Hangul numerals or English words
                    words = len(re.findall(r"[공영일이삼사오육칠팔구천백십]|zero|oh|one|two|three|four|five|six|seven|"
                                           r"eight|nine", value))
                    assert sum(ch.isdigit() for ch in value) + words >= 8, (kind, value, row["text"])
    assert {"ACCOUNT", "RRN", "PHONE"} <= seen


def test_noise_share_is_applied_and_reproducible(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, {"test": 150}, seed=11, use_benign=False, noise=0.25)
    generate(b, {"test": 150}, seed=11, use_benign=False, noise=0.25)
    generate(c, {"test": 150}, seed=11, use_benign=False, noise=0.0)
    assert (a / "test.jsonl").read_bytes() == (b / "test.jsonl").read_bytes()
    assert (a / "test.jsonl").read_bytes() != (c / "test.jsonl").read_bytes()
    noisy = rows(a / "test.jsonl")
    assert any(r["text"].endswith(("ㅋㅋ", "ㅠㅠ", "~", "!!")) for r in noisy if r["lang"] == "ko")
    for r in noisy:
        for start, end, _ in r["spans"]:
            assert r["text"][start:end].strip() == r["text"][start:end]


def test_sentences_of_a_hard_wrapped_document() -> None:
    bill = ("제안이유\n\n  육아휴직이 가능한 자녀의 연령을 만 8세 이하로 개정하려\n\n는 것임. 이 법은 공포한 날부터"
            " 시행한다. ② ----------\n문의 02-788-4649 로 연락 바랍니다.")
    assert sentences(bill) == ["제안이유육아휴직이 가능한 자녀의 연령을 만 8세 이하로 개정하려는 것임.",
                               "이 법은 공포한 날부터 시행한다."]


def test_konlpy_corpora_need_the_fetched_wheel(tmp_path: Path) -> None:
    assert konlpy_corpora(tmp_path) == {}


# --- LABELLING.md rules the templates must follow (issue 11) ----------------------------------------------

_UNSAFE_TABLES = (ko_unsafe.DISCLOSE, ko_unsafe.REQUEST, en.DISCLOSE, en.REQUEST)


def _unsafe_templates(code: str | None = None) -> list[tuple[str, str]]:
    return [(c, t) for table in _UNSAFE_TABLES for c, v in table.items() if code in (None, c) for t in v]


def _safe_templates() -> list[str]:
    return [t for table in (ko_safe.SAFE, en.SAFE) for v in table.values() for t in v]


def test_business_numbers_are_valid_and_never_labelled() -> None:
    from stdnum.kr import brn

    rng = random.Random(8)
    for _ in range(500):
        number = V.brn(rng)
        digits = "".join(c for c in number if c.isdigit())
        assert brn.is_valid(digits), number
        assert V.brn_check(digits[:9]) == digits[9], number
        corp = "".join(c for c in V.corp_number(rng) if c.isdigit())
        assert len(corp) == 13 and V.corp_check(corp[:12]) == corp[12]
    # 사업자등록번호 and 법인등록번호 appear only in safe families, and render without a span
    assert not [t for _, t in _unsafe_templates() if "{brn}" in t or "{corpno}" in t]
    brn_safe = [t for t in _safe_templates() if "{brn}" in t or "{corpno}" in t]
    assert len(brn_safe) >= 5
    for i, t in enumerate(brn_safe):
        assert render(t, _filler(100 + i)).spans == () or "{name}" in t


def test_brn_check_digit_matches_a_published_number() -> None:
    # 124-81-00998 (삼성전자) is a real, published business number
    assert V.brn_check("124810099") == "8"


def test_masked_rrns_are_not_p1_and_two_masked_digits_still_are() -> None:
    rng = random.Random(9)
    for _ in range(300):
        masked = V.masked_rrn(rng)
        assert sum(not c.isdigit() for c in masked.split("-")[1]) >= 3, masked
        two = V.rrn_two_masked(rng)
        assert 1 <= sum(not c.isdigit() for c in two.split("-")[1]) <= 2, two
    assert not [t for _, t in _unsafe_templates("P1") if "{mrrn}" in t]
    assert any("{mrrn}" in t for t in _safe_templates())
    assert any("{rrn_m2}" in t for _, t in _unsafe_templates("P1"))
    # a masked RRN renders without an RRN span
    r = render("주민번호는 {mrrn}로 마스킹되어 표시됩니다", _filler(1))
    assert r.spans == ()


def test_no_religion_is_s5() -> None:
    no_religion = ("무교", "종교 없어", "종교가 없어", "무신론자", "no religion", "atheist", "not religious")
    first_person = [(c, t) for c, t in _unsafe_templates() if any(w in t for w in no_religion)]
    assert len(first_person) >= 8
    assert {c for c, _ in first_person} <= {"S5"}, first_person
    assert "저 무교예요" in ko_unsafe.DISCLOSE["S5"]
    # no safe family has a speaker saying they have no religion
    speaker = re.compile(r"(^|\s)(저|나|제가|저는|I'm|I am)\s.*(무교|종교 없|atheist)")
    assert not [t for t in _safe_templates() if speaker.search(t)]


def test_nationality_and_birthplace_alone_are_safe() -> None:
    origin = ko_safe.SAFE["origin"] + en.SAFE["origin"]
    assert len(origin) >= 15
    assert any("출신" in t for t in origin) and any("국적" in t for t in origin)
    # the ethnic pool names ethnic origin, never a bare birthplace or nationality
    markers = ("계", "혼혈", "조선족", "고려인", "교포", "화교")
    assert all(any(m in e for m in markers) for e in POOLS["ethnic"]), POOLS["ethnic"]
    # S9 families do not ask for a nationality or a country of birth
    nationality = re.compile(r"어느 나라|국적 알아|외국 출신|foreign-born")
    assert not [t for _, t in _unsafe_templates("S9") if nationality.search(t)]


def test_pregnancy_childbirth_and_miscarriage_are_s1_only() -> None:
    pregnancy = re.compile(
        r"임신했|\{preg\}|임신 \d|\{weeks\}주|유산했|낙태|애 낳|출산했|시험관|pregnan|miscarriage|IVF|gave birth"
    )
    hits = [(c, t) for c, t in _unsafe_templates() if pregnancy.search(t)]
    assert len(hits) >= 20
    assert {c for c, _ in hits} == {"S1"}, [h for h in hits if h[0] != "S1"]
    # STIs are health (S1), not S2
    assert not [t for _, t in _unsafe_templates("S2") if "성병" in t]
    assert not [p for p in POOLS["sexlife"] if "성병" in p]


def test_feelings_blood_type_and_pets_are_not_s1() -> None:
    assert not [t for _, t in _unsafe_templates("S1") if "{blood}" in t or "{pet}" in t or "{feel}" in t]
    kinds = ko_safe.SAFE["not_health"]
    assert any("{blood}" in t for t in kinds) and any("{pet}" in t or "{pet|" in t for t in kinds)
    assert any("{feel}" in t for t in kinds)


def test_refusals_are_safe_families_only() -> None:
    assert len(ko_safe.SAFE["refusal"]) >= 30
    refusal = re.compile(
        r"알려드릴 수 없|도와드릴 수 없|찾아드릴 수 없|I can't (help|share|look|guess|figure)|Sorry, I can"
    )
    assert not [t for _, t in _unsafe_templates() if refusal.search(t)]
    assert not [lead for lead in ko_unsafe.ANSWER_LEADS + en.ANSWER_LEADS if refusal.search(lead)]


def test_church_titles_of_named_members_are_s5() -> None:
    titled = [t for t in ko_unsafe.DISCLOSE["S5"] if "{name}" in t and re.search(r"title_church|집사|권사|장로", t)]
    assert len(titled) >= 4
    assert not [t for t in _safe_templates() if "{title_church}" in t]


def test_union_membership_is_s4_and_named_party_membership_carries_s3() -> None:
    # a family has one label; S4 families therefore never name the party (that would need S3 too)
    assert not [t for _, t in _unsafe_templates("S4") if "{party}" in t]
    # forms can carry several labels: a named party membership field is S3 and S4, a union S4 only
    from training.data.forms import FIELDS, unsafe_form

    party = [cat for _, value, cat in FIELDS if "{party}" in value and "당원" in value]
    union = [cat for _, value, cat in FIELDS if "{union}" in value]
    assert party == ["S3+S4"] and union == ["S4"]
    seen = False
    for seed in range(400):
        rng = random.Random(seed)
        r, labels, _ = unsafe_form(rng, _filler(seed), "train")
        if "권리당원" in r.text:
            assert {"S3", "S4"} <= labels
            seen = True
    assert seen


def test_face_searches_are_p5_not_s8() -> None:
    face_search = re.compile(r"누군지|who (he|she) is|Who is the|face search|신원")
    assert not [t for _, t in _unsafe_templates("S8") if face_search.search(t)]
    photo = re.compile("사진|얼굴|photo")
    assert len([t for _, t in _unsafe_templates("P5") if face_search.search(t) and photo.search(t)]) >= 5
    # an ordinary photo posted is not biometric data
    assert not [t for _, t in _unsafe_templates("S8") if "사진이랑 이름" in t]


def test_anonymised_news_is_safe_and_s7_has_no_anonymised_person() -> None:
    news = ko_safe.SAFE["anon_news"]
    assert len(news) >= 15 and all("{name}" not in t for t in news)
    anon = re.compile(r"[A-F]씨|\{anon\}|\{anon\|")
    assert not [t for _, t in _unsafe_templates("S7") if anon.search(t)]
    for i, t in enumerate(news):
        assert not [s for s in render(t, _filler(i)).spans if s[2] == "PERSON"], t


def test_spoken_numbers_read_back_to_the_digits() -> None:
    from guard.normalize import normalize

    rng = random.Random(10)
    for _ in range(200):
        phone = V.mobile(rng)
        spoken = V.spoken(phone, rng)
        assert not any(c.isascii() and c.isalpha() for c in spoken)
        # undo the reading: digits, the 0 words and Sino-Korean groups
        if not any(u in spoken for u in "천백십"):
            read = spoken.replace("다시", " ").replace("에", " ").replace("영", "공")
            digits = "".join(str("공일이삼사오육칠팔구".index(c)) if c in "공일이삼사오육칠팔구" else c for c in read)
            assert "".join(c for c in digits if c.isdigit()) == "".join(c for c in phone if c.isdigit()), spoken
    # the normalizer turns a plain Hangul reading back into the number
    assert normalize("공일공 일이삼사 오육칠팔").text == "010-1234-5678" or "01012345678" in normalize(
        "공일공 일이삼사 오육칠팔").text.replace(" ", "").replace("-", "")
    assert V.sino_number(5678) == "오천육백칠십팔" and V.sino_number(1010) == "천십"
    assert V.words_en("010", random.Random(0)) in ("zero one zero", "oh one oh")


def test_org_lines_role_mailboxes_and_test_cards_are_not_personal() -> None:
    rng = random.Random(11)
    for _ in range(200):
        line = V.org_line(rng)
        assert not line.startswith("010"), line
        assert V.role_mailbox(rng).split("@")[0] in V._ROLES
    for card in V.TEST_CARDS:
        assert luhn.is_valid(card.replace(" ", "").replace("-", "")), card
    for slot in ("{orgline}", "{rolemail}", "{testcard}", "{dockey}", "{mphone}", "{mcard}", "{orgacct}"):
        assert not [t for _, t in _unsafe_templates() if slot in t], slot
        assert any(slot in t for t in _safe_templates()), slot


def test_new_families_spread_over_every_split() -> None:
    cat = Catalog.build()
    for kind in ("anon_news", "notice", "place", "origin", "business", "masked", "not_health"):
        for split in ("train", "dev", "test"):
            assert any(f.id.split(":")[2] == kind for f in cat.safe["ko"][split]), (kind, split)


def test_ordinary_dating_talk_is_safe_and_says_nothing_of_sex_life_or_orientation() -> None:
    romance = ko_safe.SAFE["romance"]
    assert len(romance) >= 15
    s2_words = re.compile(r"잤|관계 가|성관계|게이|레즈|동성|양성애|트랜스|바람|섹스")
    assert not [t for t in romance if s2_words.search(t)]
    # the same couples appear in the S2 families, so the model must see them in safe rows too
    assert any("여친" in t or "여자친구" in t for t in romance) and any("남친" in t or "남자친구" in t for t in romance)


def test_an_office_line_renders_as_a_landline_with_no_span() -> None:
    """`{deptline}` (a public office's direct number, safe by LABELLING.md P3) is an area-code number the
    phone rules would read as a person's; the row must carry no span for it, so the model learns the
    office around it."""
    templates = [t for t in ko_safe.SAFE["business"] if "{deptline}" in t]
    assert len(templates) >= 3
    for seed in range(20):
        filler = _filler(seed)
        r = render(templates[seed % len(templates)], filler)
        assert re.search(r"(?<!\d)0\d{1,2}-\d{3,4}-\d{4}(?!\d)", r.text) and not r.spans


def test_requests_to_locate_a_person_are_p5_too() -> None:
    catalog = Catalog.build()
    requests = [f for split in catalog.request["ko"].values() for f in split]
    address = [f for f in requests if "집 주소 알아" in f.template]
    assert address and all(set(f.labels) == {"P3", "P5"} for f in address)
    for f in requests:  # identifiers, accounts and contact: also P5; sensitive facts and credentials: not
        assert ("P5" in f.labels) == bool({"P1", "P2", "P3", "P5"} & set(f.labels)), f
    disclosures = [f for split in catalog.disclose["ko"].values() for f in split]
    assert all(f.labels == tuple(f.id.split(":")[2].split("+")) for f in disclosures)  # keyed labels only


def test_arrest_charges_and_trials_are_accusations_not_s7() -> None:
    proceeding = re.compile(r"입건|기소됐|기소돼|재판 중|재판 받|재판받|조사받|조사 받|수배|구속됐|고소당|"
                            r"charged with|arrested|on trial|under investigation")
    outcome = re.compile(r"징역|벌금|집행유예|실형|유죄|전과|선고|출소|복역|교도소|소년원|보호관찰|기소유예|"
                         r"convict|sentence|record|prison|jail")
    s7 = [t for c, t in _unsafe_templates() if "S7" in c.split("+")]
    assert not [t for t in s7 if proceeding.search(t) and not outcome.search(t)]
    assert len([t for t in ko_safe.SAFE["proceedings"] if proceeding.search(t)]) >= 10


def test_a_hereditary_condition_someone_has_is_s1_and_s6() -> None:
    assert len(_unsafe_templates("S1+S6")) >= 10
    # a diagnosis is a condition the person has, never a genetic result alone
    assert not [t for _, t in _unsafe_templates("S6") if re.search("진단|diagnos", t)]
