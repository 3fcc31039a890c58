"""Policy files and the fusion of detector and model evidence into a Verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard._pipeline import Evidence, decide
from guard.detectors.base import Match, Validity
from guard.engine.base import ModelSpan
from guard.errors import ConfigError, InputError
from guard.normalize import normalize
from guard.policy import Overrides, Policy
from guard.taxonomy import CATEGORY_CODES, Role, SpanType
from guard.verdict import Action, Span, Verdict

TEXT = "제 주민번호는 900101-1234568이에요"
RRN = Match(8, 22, SpanType.RRN, 1.0, Validity.VALID, "rrn")


def evidence(text: str = TEXT, matches=(), scores=None, spans=(), role=Role.USER) -> Evidence:  # type: ignore[no-untyped-def]
    return Evidence(normalize(text), role, list(matches), scores, list(spans))


def judge(ev: Evidence, policy: Policy, *, overrides: Overrides | None = None, **kw: object) -> Verdict:
    """decide under `policy` resolved for the evidence's role and `overrides`, as a check does."""
    return decide(ev, policy.resolve(ev.role, overrides), **kw)  # type: ignore[arg-type]


def zeros(**kw: float) -> dict[str, float]:
    return {**dict.fromkeys(CATEGORY_CODES, 0.0), **kw}


def test_validated_detector_flags_its_category_whatever_the_model_says() -> None:
    v = judge(evidence(matches=[RRN], scores=zeros()), Policy.default())
    assert not v.safe and v.categories == ["P1"] and v.action == "mask"
    assert v.masked == "제 주민번호는 900101-1******이에요"
    assert [(s.start, s.end, s.type, s.source) for s in v.spans] == [(8, 22, "RRN", "detector")]


def test_unverifiable_match_needs_its_score_to_pass_the_threshold() -> None:
    weak = Match(8, 22, SpanType.RRN, 0.4, Validity.UNVERIFIABLE, "rrn")
    assert judge(evidence(matches=[weak], scores=zeros()), Policy.default()).safe
    strong = Match(8, 22, SpanType.RRN, 0.7, Validity.UNVERIFIABLE, "rrn")
    assert judge(evidence(matches=[strong], scores=zeros()), Policy.default()).categories == ["P1"]


def test_model_scores_against_model_thresholds_and_order_by_confidence() -> None:
    text = "저 작년에 공황장애 진단받았고 요즘 교회 다녀요"
    v = judge(evidence(text, scores=zeros(S1=0.9, S5=0.7, S3=0.4)), Policy.default(),
               model_thresholds={"S5": 0.6, "S3": 0.5})
    assert v.categories == ["S1", "S5"] and v.action == "flag" and v.masked == text
    v = judge(evidence(text, scores=zeros(S1=0.9, S5=0.7)), Policy.default(), model_thresholds={"S5": 0.8})
    assert v.categories == ["S1"]


def test_policy_threshold_beats_model_threshold_and_override_beats_both() -> None:
    ev = evidence("x y", scores=zeros(S3=0.7))
    assert judge(ev, Policy.default(), model_thresholds={"S3": 0.5}).categories == ["S3"]
    strict_s3 = Policy.from_dict({"thresholds": {"S3": 0.8}})
    assert judge(ev, strict_s3, model_thresholds={"S3": 0.5}).safe
    assert judge(ev, strict_s3, overrides=Overrides(thresholds={"S3": 0.6}).validated()).categories == ["S3"]


def test_allow_action_scores_but_does_not_flag() -> None:
    policy = Policy.from_dict({"user": {"S1": "allow"}})
    v = judge(evidence("a", scores=zeros(S1=0.99)), policy)
    assert v.safe and v.action == "allow" and v.scores["S1"] == 0.99


def test_strictest_action_wins_and_block_still_masks() -> None:
    v = judge(evidence(matches=[RRN], scores=zeros(S1=0.9)), Policy.from_dict({"user": {"S1": "block"}}))
    assert v.action == "block" and v.categories[0] in ("P1", "S1") and "******" in (v.masked or "")
    assert judge(evidence(matches=[RRN], scores=zeros()), Policy.strict()).action == "block"


def test_assistant_role_has_its_own_actions() -> None:
    spans = [ModelSpan(0, 3, SpanType.PERSON, 0.9)]
    v = judge(evidence("홍길동 씨는 1990년생이고 판교에 살아요", scores=zeros(P5=0.95), spans=spans,
                        role=Role.ASSISTANT), Policy.default())
    assert v.action == "block" and v.role == "assistant" and v.masked is not None and v.masked.startswith("홍*동")


def test_model_spans_only_for_flagged_categories_and_never_over_detector_spans() -> None:
    spans = [ModelSpan(8, 22, SpanType.RRN, 0.8), ModelSpan(0, 1, SpanType.PERSON, 0.9)]
    v = judge(evidence(matches=[RRN], scores=zeros(), spans=spans), Policy.default())
    assert [(s.type, s.source) for s in v.spans] == [("RRN", "detector")]


def test_overrides_turn_categories_off_and_on() -> None:
    ev = evidence(matches=[RRN], scores=zeros(S1=0.9))
    assert judge(ev, Policy.default(), overrides=Overrides(categories_off=frozenset({"P1"}))).categories == ["S1"]
    only = Overrides(categories_on=frozenset({"unique_id"})).validated()
    assert judge(ev, Policy.default(), overrides=only).categories == ["P1"]
    quiet = judge(ev, Policy.default(), overrides=Overrides(return_masked=False, return_spans=False))
    assert quiet.masked is None and quiet.spans == [] and not quiet.safe


@pytest.mark.parametrize("bad", [
    Overrides(categories_off=frozenset({"P9"})),
    Overrides(thresholds={"S1": 1.5}),
    Overrides(actions={"S1": "explode"}),
])
def test_bad_overrides_are_input_errors(bad: Overrides) -> None:
    with pytest.raises(InputError):
        bad.validated()
    with pytest.raises(InputError):
        Policy.default().resolve("user", bad)
    with pytest.raises(InputError):
        Policy.default().resolve("robot")


def test_resolve_once_gives_every_judged_category_its_action_and_threshold() -> None:
    rules = Policy.from_dict({"thresholds": {"S3": 0.8}}).resolve(
        "assistant", Overrides(categories_off=frozenset({"S9"}), actions={"health": "block"},
                               thresholds={"S2": 0.3}))
    assert rules.role is Role.ASSISTANT and "S9" not in rules.actions and rules.action("S9") is Action.ALLOW
    assert rules.action("S1") is Action.BLOCK and rules.action("P5") is Action.BLOCK
    assert rules.action("P1") is Action.MASK and rules.action("S4") is Action.FLAG
    assert rules.threshold("S3", {"S3": 0.5}) == 0.8 and rules.threshold("S2", {"S2": 0.5}) == 0.3
    assert rules.threshold("S4", {"S4": 0.6}) == 0.6 and rules.threshold("S5") == 0.5


def test_the_masking_rule_hides_mask_and_block_categories_only() -> None:
    rules = Policy.default().resolve("assistant")  # P1-P4 mask, P5 block, S* flag
    assert [c for c in CATEGORY_CODES if rules.masks(c)] == ["P1", "P2", "P3", "P4", "P5"]
    spans = [Span(0, 3, "PERSON", "P5", 0.9, "model"), Span(4, 6, "PERSON", "S1", 0.9, "model")]
    assert rules.mask("홍길동 김철", spans, None) == "홍*동 김철"


def test_scrubbing_masks_every_category_the_policy_does_not_allow() -> None:
    policy = Policy.from_dict({"user": {"S3": "allow", "S1": "block"}}).scrubbing()
    assert policy.action(Role.USER, "S3") is Action.ALLOW
    assert {policy.action(Role.USER, c) for c in CATEGORY_CODES if c != "S3"} == {Action.MASK}


def test_policy_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('masking = "placeholder"\n[thresholds]\nhealth = 0.7\n[assistant]\nS1 = "block"\n',
                    encoding="utf-8")
    policy = Policy.from_file(path)
    assert policy.thresholds == {"S1": 0.7}
    assert policy.action(Role.ASSISTANT, "S1").value == "block"
    assert policy.action(Role.USER, "S1").value == "flag"
    v = judge(evidence(matches=[RRN], scores=zeros()), policy)
    assert v.masked == "제 주민번호는 [주민등록번호]이에요"


@pytest.mark.parametrize(("content", "message"), [
    ("masking = ", "not valid TOML"),
    ("colour = 1", "unknown keys"),
    ('[user]\nP9 = "mask"', "unknown category"),
    ('[user]\nP1 = "shred"', "action must be"),
    ("[thresholds]\nP1 = 2", "threshold must be"),
    ('[thresholds]\nP1 = "high"', "threshold must be"),
    ('user = "mask"', "must be a table"),
    ('masking = "blur"', "masking must be"),
])
def test_malformed_policy_files_are_config_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as info:
        Policy.from_file(path)
    assert str(path) in str(info.value)


def test_missing_and_undecodable_policy_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        Policy.from_file(tmp_path / "nope.toml")
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"masking = \"\xff\"")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Policy.from_file(path)


def test_shipped_policy_files_match_the_presets() -> None:
    policies = Path(__file__).resolve().parents[2] / "policies"
    assert Policy.from_file(policies / "default.toml") == Policy.default()
    assert Policy.from_file(policies / "strict.toml") == Policy.strict()


def test_line_endings_are_read_as_toml_defines_them(tmp_path: Path) -> None:
    path = tmp_path / "crlf.toml"
    path.write_bytes(b'masking = "placeholder"\r\n[user]\r\nP1 = "block"\r\n')  # CRLF is valid TOML
    assert Policy.from_file(path).action(Role.USER, "P1").value == "block"
    path.write_bytes(b"\r")  # a bare CR is not (found by the fuzz test; newline translation hid it)
    with pytest.raises(ConfigError, match="not valid TOML"):
        Policy.from_file(path)
