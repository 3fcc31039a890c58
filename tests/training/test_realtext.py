"""The real-text dev set and the real-text training rows: label files, splits, carriers, long documents.

The label files are checked without the corpora (CI has no ../shared/corpora): corpus rows carry a
reference and a digest, never the text. With the corpora present, every reference resolves to the row
that was labelled."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from guard.taxonomy import CATEGORY_CODES, SpanType
from training.realtext import devset, longdocs
from training.realtext.corpora import CORPORA
from training.realtext.train_rows import carrier

CORPUS_KEYS = {"ref", "sha", "labels", "spans", "note"}


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_corpus_label_files_hold_references_not_text() -> None:
    files = sorted(devset.LABELS.glob("corpus_*.jsonl")) + sorted(
        (devset.LABELS.parent / "trainpool_labels").glob("*.jsonl"))
    assert files
    for path in files:
        for raw in _lines(path):
            assert set(raw) <= CORPUS_KEYS and {"ref", "sha", "labels"} <= set(raw), path.name
            assert all(code in CATEGORY_CODES for code in raw["labels"])  # type: ignore[union-attr]


def test_training_labels_never_touch_the_dev_set() -> None:
    from training.realtext.pool import labelled_trainpool

    trainpool = labelled_trainpool()
    assert len(trainpool) >= 2500 and sum(bool(raw["labels"]) for raw in trainpool.values()) >= 80
    assert not set(trainpool) & devset.excluded_refs()


def test_handwritten_rows_are_well_formed() -> None:
    rows = _lines(devset.LABELS / "handwritten.jsonl")
    assert len(rows) >= 500
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        text = str(r["text"])
        for s, e, kind in r["spans"]:  # type: ignore[misc]
            assert 0 <= s < e <= len(text) and kind in SpanType.__members__
        if not r["labels"]:
            assert not r["spans"]
    covered = {code for r in rows for code in r["labels"]}  # type: ignore[union-attr]
    assert covered == set(CATEGORY_CODES)


@given(st.text(min_size=1, max_size=30))
def test_the_split_is_fixed_by_the_id(row_id: str) -> None:
    assert devset.split_of(row_id) == devset.split_of(row_id) and devset.split_of(row_id) in devset.SPLITS


@pytest.mark.skipif(not CORPORA.is_dir(), reason="needs ../shared/corpora: not a pip extra; install the "
                    "real-text corpora beside the repository (training/README.md)")
def test_every_reference_resolves_to_the_labelled_row() -> None:
    rows = devset.load()
    assert len(rows) >= 2000
    assert {r.split for r in rows} == set(devset.SPLITS)


@pytest.mark.skipif(not CORPORA.is_dir(), reason="needs ../shared/corpora: not a pip extra; install the "
                    "real-text corpora beside the repository (training/README.md)")
def test_the_topic_draw_skips_dev_and_labelled_rows_and_is_seeded() -> None:
    from training.realtext.pool import _SPOKEN, labelled_trainpool, topic_draw

    drawn = topic_draw(300)
    assert [r.ref for r in drawn] == [r.ref for r in topic_draw(300)]
    assert not {r.ref for r in drawn} & (devset.excluded_refs() | set(labelled_trainpool()))
    assert all(r.topics and r.register in _SPOKEN and not r.passage for r in drawn)


@pytest.mark.skipif(not CORPORA.is_dir(), reason="needs ../shared/corpora: not a pip extra; install the "
                    "real-text corpora beside the repository (training/README.md)")
def test_the_second_pool_round_shares_no_row_with_the_first_or_the_dev_set() -> None:
    from training.realtext.pool import SAMPLE, candidates, flagged_refs, labelled_trainpool

    first, second = ({r.ref for r in candidates(SAMPLE, k)} for k in (1, 2))
    assert len(second) == SAMPLE and not first & second
    assert not second & devset.excluded_refs()
    # every row the round's model flagged was read by a person before training may use it
    assert flagged_refs(2) <= second and flagged_refs(2) <= set(labelled_trainpool())


@given(st.lists(st.text(alphabet="가나다라 .", min_size=1, max_size=20), min_size=1, max_size=3),
       st.integers(0, 1000))
def test_a_carrier_keeps_its_spans_on_the_same_characters(around: list[str], seed: int) -> None:
    inner = {"text": "제 번호는 010-2345-6789예요", "spans": [[6, 19, "PHONE"]], "labels": ["P3"], "kind": "disclose",
             "family": "f", "role": "user", "context": "", "lang": "ko", "split": "train", "obfuscated": False}
    row = carrier(inner, around, random.Random(seed))
    (s, e, _), = row["spans"]  # type: ignore[misc]
    assert row["text"][s:e] == "010-2345-6789"  # type: ignore[index]
    fs, fe = row["focus"]  # type: ignore[misc]
    assert row["text"][fs:fe] == inner["text"]  # type: ignore[index]


def _row(i: int, text: str, labels: tuple[str, ...] = (), register: str = "news") -> devset.DevRow:
    return devset.DevRow(f"r{i}", text, "user", "", labels, (), "corpus" if not labels else "handwritten",
                         register, "tune")


def test_long_documents_are_long_and_hold_the_planted_row_whole() -> None:
    benign = [_row(i, f"정부는 {i}번째 정책을 오늘 발표했다.") for i in range(200)]
    unsafe = [_row(1000, "저 작년에 공황장애 진단받았어요", ("S1",))]
    docs = longdocs.benign_docs(benign + unsafe, 5)
    assert all(len(d.text) >= 1500 and not d.labels for d in docs)
    (planted,) = longdocs.planted_docs(benign + unsafe, docs)
    assert unsafe[0].text in planted.text and planted.labels == ("S1",)


def test_scaled_long_documents_plant_every_disclosure_once_per_share_and_scale_one_is_the_recorded_set() -> None:
    benign = [_row(i, f"정부는 {i}번째 정책을 오늘 발표했다.") for i in range(200)]
    unsafe = [_row(1000, "저 작년에 공황장애 진단받았어요", ("S1",)), _row(1001, "나 사실 무교야", ("S5",))]
    rows = benign + unsafe
    carriers, planted, planted_rows = longdocs.long_documents(rows, scale=3, n_benign=4)
    assert len(carriers) == 12 and len(planted) == len(planted_rows) == 6
    for k, (doc, row) in enumerate(zip(planted, planted_rows, strict=True)):
        assert row.text in doc.text and doc.labels == row.labels and doc.planted_id == row.id
        share = carriers[(k // 2) * 4:(k // 2 + 1) * 4]  # each planting uses its own four carriers
        assert " ".join(doc.text.replace(row.text, " ").split()) in {" ".join(c.text.split()) for c in share}
    one = longdocs.long_documents(rows, scale=1, n_benign=4)
    recorded = longdocs.benign_docs(rows, 4)
    assert one == (recorded, longdocs.planted_docs(rows, recorded), unsafe)
    with pytest.raises(ValueError):
        longdocs.long_documents(rows, scale=0)


@pytest.mark.skipif(not CORPORA.is_dir(), reason="needs ../shared/corpora: not a pip extra; install the "
                    "real-text corpora beside the repository (training/README.md)")
def test_real_disclosures_are_planted_in_passages_that_also_appear_without_them() -> None:
    from training.realtext.train_rows import real_rows

    generated = [{"text": f"제 번호는 010-2345-67{i:02d}예요", "spans": [[6, 19, "PHONE"]], "labels": ["P3"],
                  "kind": "disclose", "family": "f", "role": "user", "context": "", "lang": "ko",
                  "split": "train", "obfuscated": False} for i in range(20)]
    rows = real_rows(generated, seed=13, n_benign=10, n_carriers=10)
    passages = {" ".join(str(r["text"]).split()) for r in rows if r["kind"] == "real_passage"}
    planted = [r for r in rows if str(r["kind"]).startswith("planted:")]
    real = [r for r in planted if r["kind"] == "planted:real_labelled"]
    assert real and len(real) < len(planted)  # real and generated disclosures both
    # each piece comes again PLANTS_PER_PIECE (2) times, a plant after its last sentence as a carrier
    assert len(planted) > len(passages)
    for r in planted:
        text, (fs, fe) = str(r["text"]), r["focus"]  # type: ignore[misc]
        # the same piece, without the disclosure (up to the spaces around it)
        assert r["labels"] and " ".join((text[:fs] + text[fe:]).split()) in passages


_PASSAGE_TEXT = st.text(alphabet="가나다 .!?\n", min_size=1, max_size=120)


@given(_PASSAGE_TEXT, st.integers(1, 30))
def test_a_passage_cuts_into_sentences_that_keep_every_character_in_order(text: str, min_chars: int) -> None:
    from training.realtext.corpora import CorpusRow, sentences

    row = CorpusRow("p.jsonl:0", text, "news", "CC0-1.0", True, ("health",))
    parts = sentences(row, min_chars)
    ranges = [tuple(int(x) for x in p.ref.rpartition("#")[2].split("-")) for p in parts]
    for part, (s, e) in zip(parts, ranges, strict=True):
        assert part.text == text[s:e] and part.text.strip() and not part.passage
    assert all(e1 <= s2 for (_, e1), (s2, _) in itertools.pairwise(ranges))
    # only the gaps between sentences (spaces and line breaks) are left out
    covered = {i for s, e in ranges for i in range(s, e)}
    assert all(text[i].isspace() for i in range(len(text)) if i not in covered)


def test_a_ranged_reference_names_part_of_a_row_and_a_bad_range_is_refused(tmp_path: Path) -> None:
    from training.realtext.corpora import read_file, resolve

    (tmp_path / "p.jsonl").write_text(json.dumps({"text": "첫 문장이다. 둘째 문장이다.", "register": "news",
                                                  "license": "CC0-1.0", "kind": "passage"}) + "\n")
    read_file.cache_clear()
    part = resolve("p.jsonl:0#8-16", tmp_path)
    assert (part.text, part.ref, part.passage) == ("둘째 문장이다.", "p.jsonl:0#8-16", False)
    assert resolve("p.jsonl:0", tmp_path).passage
    for bad in ("p.jsonl:0#8-99", "p.jsonl:0#5-5", "p.jsonl:1#0-2"):
        with pytest.raises(KeyError):
            resolve(bad, tmp_path)


@pytest.mark.skipif(not CORPORA.is_dir(), reason="needs ../shared/corpora: not a pip extra; install the "
                    "real-text corpora beside the repository (training/README.md)")
def test_passage_sentences_hold_no_dev_row_and_every_flagged_one_was_read() -> None:
    from training.realtext.corpora import resolve
    from training.realtext.pool import flagged_refs, labelled_trainpool, passage_sentences

    drawn = passage_sentences()
    dev_texts = {resolve(ref).text for ref in devset.excluded_refs()}
    assert drawn and not {r.text for r in drawn} & dev_texts
    assert flagged_refs("passages") <= {r.ref for r in drawn}
    assert flagged_refs("passages") <= set(labelled_trainpool())


@pytest.mark.skipif(not CORPORA.is_dir(), reason="needs ../shared/corpora: not a pip extra; install the "
                    "real-text corpora beside the repository (training/README.md)")
def test_what_the_recheck_flagged_is_no_benign_negative() -> None:
    from training.realtext.corpora import SENTENCE_GAP, resolve
    from training.realtext.pool import RECHECKS, flagged_refs, recheck_rows, rechecked
    from training.realtext.train_rows import benign_pool, passage_pieces

    flagged = rechecked()
    assert flagged_refs(RECHECKS[1]) and flagged <= {r.ref.partition("#")[0] for r in recheck_rows()}
    # a later recheck scores only what the earlier ones left
    assert not {r.ref.partition("#")[0] for r in recheck_rows(2)} & flagged_refs(RECHECKS[0])
    benign, _ = benign_pool()
    assert not {r.ref for r in benign} & flagged
    # a flagged passage gives no piece: its first sentence starts none of them
    firsts = {SENTENCE_GAP.split(resolve(ref).text)[0].strip() for ref in flagged if resolve(ref).passage}
    starts = {piece[:40] for piece in passage_pieces(set(), random.Random(0))}
    assert firsts and not {f[:40] for f in firsts if len(f) >= 40} & starts


@pytest.mark.skipif(not CORPORA.is_dir(), reason="needs ../shared/corpora: not a pip extra; install the "
                    "real-text corpora beside the repository (training/README.md)")
def test_negatives_read_at_random_come_from_their_stratum_and_train_with_their_label() -> None:
    from training.realtext.pool import ROUNDS, STRATA, labelled_trainpool, negatives_sample, unflagged
    from training.realtext.train_rows import benign_pool

    sample = negatives_sample(5)
    assert sample == negatives_sample(5)  # seeded: the labelled files can be drawn again
    unread = {r.ref for round_ in ROUNDS for r in unflagged(round_)}
    for registers, drawn in zip(STRATA, sample, strict=True):
        assert len(drawn) == 5 and len({r.ref for r in drawn}) == 5
        assert all(r.register in registers and r.ref in unread for r in drawn)
    # a row read by a person trains with that label, never also as an unread negative
    benign, labelled = benign_pool()
    read = labelled_trainpool()
    assert read.keys() & unread  # the negatives read at random (trainpool_E*.jsonl)
    assert not {r.ref for r in benign} & read.keys()
    assert len(labelled) == len(read)


@pytest.mark.skipif(not CORPORA.is_dir(), reason="needs ../shared/corpora: not a pip extra; install the "
                    "real-text corpora beside the repository (training/README.md)")
def test_a_text_labelled_twice_for_training_carries_the_same_labels() -> None:
    # the same sentence can come back under another reference (boddari cuts one document into sentence
    # rows and passages); two labels for one text would teach the model both
    from collections import defaultdict

    from training.realtext.corpora import resolve
    from training.realtext.pool import labelled_trainpool

    labels: dict[str, set[tuple[str, ...]]] = defaultdict(set)
    for ref, raw in labelled_trainpool().items():
        labels[resolve(ref).text.strip()].add(tuple(sorted(raw["labels"])))  # type: ignore[call-overload]
    assert not {text[:40]: found for text, found in labels.items() if len(found) > 1}


def test_long_document_figures_and_explanation_agree_on_what_was_lost_and_flagged() -> None:
    import numpy as np

    from training.realtext.report import LongScores, Scored, explain_long_documents, long_document_figures

    s1, p5 = CATEGORY_CODES.index("S1"), CATEGORY_CODES.index("P5")

    def scored(probs: list[dict[int, float]], truth: list[int | None]) -> Scored:
        p, t = np.zeros((len(probs), len(CATEGORY_CODES))), np.zeros((len(probs), len(CATEGORY_CODES)))
        for k, (row, true) in enumerate(zip(probs, truth, strict=True)):
            for i, v in row.items():
                p[k, i] = v
            if true is not None:
                t[k, true] = 1
        return Scored(p, t)

    # three disclosures: kept, lost in its document, never caught alone
    ls = LongScores(1600, ["kept", "lost", "missed"], scored([{s1: 0.9}, {s1: 0.95}, {s1: 0.1}], [s1, s1, s1]),
                    scored([{s1: 0.8}, {s1: 0.3}, {s1: 0.9}], [s1, s1, s1]),
                    scored([{}, {p5: 0.7}, {s1: 0.69}, {p5: 0.65}], [None] * 4),
                    scored([{s1: 0.8}, {p5: 0.9}, {}, {}], [None] * 4).probs)  # document 3: rows add up
    thresholds = {"S1": 0.7, "P5": 0.6}
    figures = long_document_figures(ls, thresholds)
    assert figures["benign_docs_flagged"] == 0.5 and figures["planted_caught_alone"] == 2
    assert figures["benign_docs_flagged_with_a_row_flagged_alone"] == 0.25
    assert figures["still_caught_in_doc"] == 0.5
    lines = explain_long_documents(ls, thresholds)
    assert len(lines) == 3
    assert lines[0].startswith("benign document 1 flagged: P5 0.70")
    assert lines[1].startswith("benign document 3 flagged: P5 0.65")
    assert lines[2].startswith("lost in its document: lost S1 alone 0.95, in the document 0.30")


@given(st.lists(st.text(alphabet="가나다 .", min_size=1, max_size=30), min_size=1, max_size=40),
       st.integers(1, 200), st.integers(0, 100))
def test_joined_documents_reach_their_length_with_each_text_at_most_once(texts: list[str], min_chars: int,
                                                                          seed: int) -> None:
    docs = longdocs.join_texts(texts, 3, min_chars, seed)
    assert docs == longdocs.join_texts(texts, 3, min_chars, seed)
    for parts in docs:
        assert not Counter(parts) - Counter(texts)  # each text at most once
        assert len(" ".join(parts)) >= min_chars or Counter(parts) == Counter(texts)
        assert len(" ".join(parts[:-1])) < min_chars  # no text beyond the one that reached the length


def test_pool_documents_tell_a_lone_false_alarm_from_sentences_adding_up() -> None:
    from guard import Guard
    from training.realtext.pooldocs import figures

    news = ["오늘 서울은 맑고 낮 기온이 20도까지 오르겠습니다.", "시민들은 주말을 맞아 공원에서 산책을 즐겼다."] * 20
    planted = [*news[:10], "저 작년에 우울증 진단받고 지금도 약 먹고 있어요.", *news[10:]]
    out = figures(Guard(), [news, planted])
    assert out["docs"] == 2 and out["flagged"] == 0.5
    assert out["flagged_with_a_row_flagged_alone"] == 1 and out["flagged_with_no_row_flagged_alone"] == 0
