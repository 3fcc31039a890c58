"""Training data generator: seeded, reproducible rows for the guard model, split by template family.

Each row is one judged text with its role, the prompt before it (role assistant), the category codes
it is unsafe for, and character spans of every inserted identifier or name:
    {"text", "role", "context", "lang", "labels": ["P1", ...], "spans": [[start, end, "RRN"], ...],
     "kind", "family", "split", "obfuscated"}
Kinds: unsafe disclosures and requests (user), leaking answers (assistant), mixed-category messages,
forms, obfuscated identifiers; safe hard negatives of many kinds, refusals, and benign real text.
A share of the rows of every kind (`--noise`, 0.25 by default) is rewritten the way people really type
(training.data.render.typing_noise: spacing dropped or added, casual endings, line breaks, ㅋㅋ/ㅠㅠ/emoji
tails), never inside a span. Texts are normalized with guard.normalize (as the runtime does) when that
module is available, spans mapped through it.

    python -m training.generate [--train 30000 --dev 3000 --test 4000 --seed 13 --noise 0.25
                                 --out training/work/data]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from faker import Faker

from guard.taxonomy import CATEGORY_CODES
from training.base_model import fetch_wheel
from training.data import en, ko_safe, ko_unsafe
from training.data.benign import KONLPY, collect
from training.data.forms import safe_form, unsafe_form
from training.data.pools import WRAPPERS_EN, WRAPPERS_KO
from training.data.render import Filler, Rendered, join, render, typing_noise
from training.paths import DATA
from training.realtext.train_rows import real_rows
from training.written import training_rows as written_rows

logger = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")
WORK = DATA  # where the splits go (training.paths)


def family_split(index: int) -> str:
    """Template families rotate train, train, train, dev, test (so each split has every category)."""
    return ("train", "train", "train", "dev", "test")[index % 5]


@dataclass(frozen=True)
class Family:
    """One template and where it belongs."""

    id: str
    template: str
    lang: str
    labels: tuple[str, ...]


#: A request for a private person's identifiers, accounts, contact or address also asks to identify or
#: locate them: P5 besides the data's own category (LABELLING.md, P5: "a request to find, locate, identify
#: or compile data on a private person"; the real-text dev set reads "헤어진 남친 새 집 주소 알아낼 방법" as
#: P3 and P5). A request for a sensitive fact or a credential keeps its own category only.
LOCATING_REQUESTS = frozenset({"P1", "P2", "P3"})


def request_labels(key: str) -> tuple[str, ...]:
    """The labels of a request family keyed `key` ("P3", "S3+S4")."""
    labels = tuple(key.split("+"))
    return (*labels, "P5") if LOCATING_REQUESTS & set(labels) and "P5" not in labels else labels


def families_of(table: dict[str, list[str]], lang: str, kind: str, labelled: bool) -> dict[str, list[Family]]:
    """Families by split for one template table (key = category or kind of negative)."""
    out: dict[str, list[Family]] = {s: [] for s in SPLITS}
    for key, templates in table.items():
        for i, template in enumerate(templates):
            if not labelled:
                labels: tuple[str, ...] = ()
            elif kind == "request":
                labels = request_labels(key)
            else:
                labels = tuple(key.split("+"))  # "S3+S4": a family with two categories
            out[family_split(i)].append(Family(f"{lang}:{kind}:{key}:{i}", template, lang, labels))
    return out


@dataclass
class Catalog:
    """Every family of every table, by split."""

    disclose: dict[str, dict[str, list[Family]]] = field(default_factory=dict)  # lang -> split -> list
    request: dict[str, dict[str, list[Family]]] = field(default_factory=dict)
    safe: dict[str, dict[str, list[Family]]] = field(default_factory=dict)

    @classmethod
    def build(cls) -> Catalog:
        cat = cls()
        for lang, mod in (("ko", ko_unsafe), ("en", en)):
            cat.disclose[lang] = families_of(mod.DISCLOSE, lang, "disclose", True)
            cat.request[lang] = families_of(mod.REQUEST, lang, "request", True)
        cat.safe["ko"] = families_of(ko_safe.SAFE, "ko", "safe", False)
        cat.safe["en"] = families_of(en.SAFE, "en", "safe", False)
        return cat


class Generator:
    """Builds the rows of one split."""

    def __init__(
        self,
        split: str,
        seed: int,
        catalog: Catalog,
        benign: dict[str, list[tuple[str, str]]],
        noise: float = 0.25,
    ):
        self.split = split
        self.noise = noise
        self.rng = random.Random(f"{seed}:{split}")
        self.fake, self.fake_en = Faker("ko_KR"), Faker("en_US")
        self.fake.seed_instance(self.rng.randrange(1 << 30))
        self.fake_en.seed_instance(self.rng.randrange(1 << 30))
        self.catalog = catalog
        sources = sorted(benign)
        # benign sources are split like families: by source, not by row
        self.benign = [r for i, s in enumerate(sources) if family_split(i) == split for r in benign[s]]

    def filler(self) -> Filler:
        return Filler(self.rng, self.fake, self.fake_en)

    def lang(self) -> str:
        return "ko" if self.rng.random() < 0.8 else "en"

    def pick(self, table: dict[str, dict[str, list[Family]]], lang: str, code: str | None = None) -> Family:
        """A family of this split; English tables are small, so when one has no family of this split
        for `code`, a Korean one is used (never a family of another split)."""
        pool = [f for f in table[lang][self.split] if code is None or code in f.labels]
        if not pool and lang != "ko":
            return self.pick(table, "ko", code)
        return self.rng.choice(pool)

    def wrap(self, r: Rendered, lang: str) -> Rendered:
        pre, suf = self.rng.choice(WRAPPERS_KO if lang == "ko" else WRAPPERS_EN)
        return join([Rendered(pre, ()), r, Rendered(suf, ())], ["", ""])

    def row(
        self,
        r: Rendered,
        kind: str,
        family: str,
        lang: str,
        labels: set[str],
        role: str = "user",
        context: str = "",
        obfuscated: bool = False,
    ) -> dict[str, object]:
        if self.rng.random() < self.noise:  # real users' typing; an answer gets spacing and line breaks only
            r = typing_noise(r, self.rng, lang, casual=role == "user")
        return {
            "text": r.text,
            "role": role,
            "context": context,
            "lang": lang,
            "labels": sorted(labels, key=CATEGORY_CODES.index),
            "spans": [list(s) for s in r.spans],
            "kind": kind,
            "family": family,
            "split": self.split,
            "obfuscated": obfuscated,
        }

    # --- unsafe ---------------------------------------------------------------------------------------
    def unsafe(self, obfuscated: bool = False) -> dict[str, object]:
        lang, code = self.lang(), self.rng.choice(CATEGORY_CODES)
        if obfuscated:
            lang, code = "ko" if self.rng.random() < 0.85 else "en", self.rng.choice(("P1", "P2", "P3"))
        table = self.catalog.request if self.rng.random() < 0.3 and not obfuscated else self.catalog.disclose
        fam = self.pick(table, lang, code)
        lang = fam.lang
        r = render(fam.template, self.filler(), obfuscate=obfuscated)
        # a template whose identifiers cannot be obfuscated (an e-mail) stays a plain disclosure
        kind = "obfuscated" if r.obfuscated else ("request" if table is self.catalog.request else "disclose")
        return self.row(self.wrap(r, lang), kind, fam.id, lang, set(fam.labels), obfuscated=r.obfuscated)

    def leaking_answer(self) -> dict[str, object]:
        lang, code = self.lang(), self.rng.choice(CATEGORY_CODES)
        ask = self.pick(self.catalog.request, lang, code)
        fam = self.pick(self.catalog.disclose, lang, code)
        lang = fam.lang
        filler = self.filler()  # shared: the answer talks about the person the prompt named
        context = render(ask.template, filler).text
        leads = ko_unsafe.ANSWER_LEADS if lang == "ko" else en.ANSWER_LEADS
        r = join([Rendered(self.rng.choice(leads), ()), render(fam.template, filler)], [""])
        return self.row(r, "answer_leak", fam.id, lang, set(fam.labels), "assistant", context)

    def mixed(self) -> dict[str, object]:
        lang = self.lang()
        codes = self.rng.sample(CATEGORY_CODES, self.rng.choice((2, 2, 3)))
        fams = [self.pick(self.catalog.disclose, lang, c) for c in codes]
        lang = fams[0].lang
        filler = self.filler()  # one person across clauses, like a real message
        parts = [render(f.template, filler) for f in fams]
        if self.rng.random() < 0.4:  # a safe clause in the middle: labels must not depend on position
            parts.insert(1, render(self.pick(self.catalog.safe, lang).template, filler))
        seps = [
            self.rng.choice(
                [" ", ". ", "\n", " 그리고 ", " 참고로 ", ", "]
                if lang == "ko"
                else [" ", ". ", "\n", " Also, ", "; "]
            )
            for _ in parts[1:]
        ]
        labels = {c for f in fams for c in f.labels}
        return self.row(
            self.wrap(join(parts, seps), lang), "mixed", "+".join(f.id for f in fams), lang, labels
        )

    def form(self) -> dict[str, object]:
        r, labels, family = unsafe_form(self.rng, self.filler(), self.split)
        return self.row(r, "form", family, "ko", labels)

    # --- safe -----------------------------------------------------------------------------------------
    def safe(self) -> dict[str, object]:
        lang = self.lang()
        fam = self.pick(self.catalog.safe, lang)
        lang = fam.lang
        r = render(fam.template, self.filler())
        if self.rng.random() < 0.25:  # an assistant answer, often to an unsafe prompt
            ask = self.pick(self.catalog.request if self.rng.random() < 0.6 else self.catalog.safe, lang)
            context = render(ask.template, self.filler()).text
            return self.row(r, "safe_answer", fam.id, lang, set(), "assistant", context)
        return self.row(self.wrap(r, lang), "safe_" + fam.id.split(":")[2], fam.id, lang, set())

    def safe_context_pii(self) -> dict[str, object]:
        """A clean answer after a prompt full of personal data: only the answer is judged."""
        lang = self.lang()
        prompt = render(self.pick(self.catalog.disclose, lang).template, self.filler()).text
        fam = self.pick(self.catalog.safe, lang)
        return self.row(
            render(fam.template, self.filler()),
            "safe_answer_ctx",
            fam.id,
            fam.lang,
            set(),
            "assistant",
            prompt,
        )

    def placeholder_form(self) -> dict[str, object]:
        r, family = safe_form(self.rng, self.split)
        return self.row(r, "safe_form", family, "ko", set())

    def benign_text(self) -> dict[str, object]:
        if not self.benign:
            return self.safe()
        lang, text = self.rng.choice(self.benign)
        return self.row(Rendered(text, ()), "benign", "benign", lang, set())

    def rows(self, n: int) -> Iterator[dict[str, object]]:
        mix: list[tuple[float, Callable[[], dict[str, object]]]] = [
            (0.22, self.unsafe),
            (0.07, self.leaking_answer),
            (0.06, self.mixed),
            (0.05, self.form),
            (0.05, lambda: self.unsafe(obfuscated=True)),
            (0.32, self.safe),
            (0.04, self.safe_context_pii),
            (0.05, self.placeholder_form),
            (0.14, self.benign_text),
        ]
        weights = [w for w, _ in mix]
        for _ in range(n):
            yield self.rng.choices(mix, weights)[0][1]()


def normalizer() -> Callable[[dict[str, object]], dict[str, object]]:
    """Row -> row with normalized text and spans mapped, or identity when guard.normalize is absent."""
    try:
        from guard.normalize import normalize
    except ImportError:
        logger.warning("guard.normalize not available: training on raw text")
        return lambda row: row

    def apply(row: dict[str, object]) -> dict[str, object]:
        norm = normalize(str(row["text"]))
        orig_of = [norm.to_original(i, i + 1) for i in range(len(norm.text))]
        spans = []
        for s, e, t in row["spans"]:  # type: ignore[attr-defined]
            inside = [i for i, (a, b) in enumerate(orig_of) if a < e and b > s]
            if inside:
                spans.append([inside[0], inside[-1] + 1, t])
        ctx = normalize(str(row["context"])).text if row["context"] else ""
        out = {**row, "text": norm.text, "context": ctx, "spans": spans}
        if "focus" in row:  # the labelled part of a real-text carrier (training.realtext.train_rows)
            s, e = row["focus"]  # type: ignore[misc]
            inside = [i for i, (a, b) in enumerate(orig_of) if a < e and b > s]
            out["focus"] = [inside[0], inside[-1] + 1] if inside else [0, len(norm.text)]
        return out

    return apply


def generate(
    out: Path, sizes: dict[str, int], seed: int = 13, use_benign: bool = True, noise: float = 0.25,
    real: bool = False, written: bool = False,
) -> dict[str, Path]:
    """Write one jsonl per split; returns their paths."""
    catalog = Catalog.build()
    benign = collect() if use_benign else {}
    norm = normalizer()
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, n in sizes.items():
        gen = Generator(split, seed, catalog, benign, noise)
        counts: Counter[str] = Counter()
        path = out / f"{split}.jsonl"
        rows = [norm(row) for row in gen.rows(n)]
        if split == "train" and written:  # before the real rows: they also become carriers' inner rows
            rows += [norm(row) for row in written_rows()]
        if split == "train" and real:
            # real text joins training only: the dev/test splits stay comparable with earlier models
            rows += [norm(row) for row in real_rows(rows, seed)]
        with path.open("w", encoding="utf-8") as fh:
            for row in rows:
                counts[str(row["kind"]).split(":")[0]] += 1
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        logger.info("%s: %d rows %s", split, len(rows), dict(counts))
        paths[split] = path
    return paths


def fetch_corpora() -> None:
    """Fetch konlpy's wheel (sha256-pinned) so its corpora join the benign text; without a package index
    they are left out with a warning."""
    try:
        fetch_wheel(*KONLPY)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
        logger.warning("konlpy corpora left out: %s", exc)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="generate the guard model's training data")
    parser.add_argument("--train", type=int, default=30000)
    parser.add_argument("--dev", type=int, default=3000)
    parser.add_argument("--test", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=WORK)
    parser.add_argument("--no-benign", action="store_true")
    parser.add_argument("--noise", type=float, default=0.25, help="share of rows given real users' typing")
    parser.add_argument("--real", action="store_true",
                        help="add real-text rows from ../shared/corpora to train (training.realtext.train_rows)")
    parser.add_argument("--written", action="store_true",
                        help="add the team's hand-written rows to train (training.written)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not args.no_benign:
        fetch_corpora()
    generate(
        args.out,
        {"train": args.train, "dev": args.dev, "test": args.test},
        args.seed,
        not args.no_benign,
        args.noise,
        args.real,
        args.written,
    )


if __name__ == "__main__":
    main()
