"""What the pseudonymize round trip adds to an LLM call, besides the guard's own checks.

For prompts with identifiers and names (the values of tests/unit/test_pseudonymize.py in Korean
sentences), per style (placeholder, fake): pseudonymizing the prompt's spans into a fresh session,
bringing an answer that repeats every pseudonym back to placeholders, and restoring it; and a streamed
restore of the same answer in 3-character chunks. The checks (one for the prompt, one for the answer)
cost what bench/RESULTS.md's in-process figures say and are not included.

    python -m bench.roundtrip [--texts 200] [--spans 4] [--tiny]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from bench.common import percentiles, report, table
from guard.pseudonymize import PseudonymStyle, pseudonymize_spans
from guard.restore import StreamRestorer, restore
from guard.taxonomy import SpanType
from guard.vault import Vault
from guard.verdict import Span

VALUES = {
    SpanType.RRN: "900101-1234568", SpanType.PHONE: "010-2345-6789", SpanType.EMAIL: "kim.minsu@naver.com",
    SpanType.CARD: "4532-0151-1283-0366", SpanType.ACCOUNT: "110-123-456789", SpanType.PERSON: "홍길동",
    SpanType.ADDRESS: "서울특별시 강남구 테헤란로 123",
}
FILLER = ("안녕하세요, 문의드립니다. ", "제 정보는 다음과 같아요: ", "확인 후 연락 부탁드려요. ", "감사합니다. ")


def _prompt(rng: random.Random, spans: int) -> tuple[str, list[Span]]:
    text, out = "", []
    for _ in range(spans):
        text += rng.choice(FILLER)
        kind = rng.choice(list(VALUES))
        out.append(Span(len(text), len(text) + len(VALUES[kind]), kind.value, kind.category.value, 0.9, "detector"))
        text += VALUES[kind] + " "
    return text + rng.choice(FILLER), out


def measure(style: PseudonymStyle, texts: int, spans: int) -> dict[str, float]:
    rng = random.Random(0)
    styles = dict.fromkeys(("P1", "P2", "P3", "P5"), style)
    to_llm, back, stream = [], [], []
    for _ in range(texts):
        text, found = _prompt(rng, spans)
        vault = Vault()
        t0 = time.perf_counter()
        sent = pseudonymize_spans(text, found, vault, styles, rng=rng).text
        t1 = time.perf_counter()
        answer = "네, 확인했습니다. " + sent
        canonical = restore(answer, vault, to="placeholder").text
        assert restore(canonical, vault).text == "네, 확인했습니다. " + text
        t2 = time.perf_counter()
        restorer = StreamRestorer(vault)
        "".join(restorer.feed(answer[i:i + 3]) for i in range(0, len(answer), 3)) + restorer.finish()
        t3 = time.perf_counter()
        to_llm.append(t1 - t0)
        back.append(t2 - t1)
        stream.append(t3 - t2)
    return {"pseudonymize_ms": statistics.mean(to_llm) * 1e3, "canonical_restore_ms": statistics.mean(back) * 1e3,
            "stream_restore_ms": statistics.mean(stream) * 1e3,
            "total_p95_ms": percentiles([a + b for a, b in zip(to_llm, back, strict=True)])["p95_ms"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=200)
    parser.add_argument("--spans", type=int, default=4)
    parser.add_argument("--tiny", action="store_true", help="a smoke run: a few texts")
    args = parser.parse_args()
    texts = 5 if args.tiny else args.texts
    rows, payload = [], {}
    for style in PseudonymStyle:
        figures = measure(style, texts, args.spans)
        payload[style.value] = figures
        rows.append([style.value, args.spans, *(round(v, 3) for v in figures.values())])
    markdown = table(["style", "spans", "pseudonymize ms", "canonical + restore ms", "stream restore ms",
                      "p95 total ms"], rows)
    print(markdown)
    report("roundtrip", {"texts": texts, "spans": args.spans, **payload}, markdown, smoke=args.tiny)


if __name__ == "__main__":
    main()
