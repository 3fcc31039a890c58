"""Scenario (c): the same texts through the naive baseline and the strongest offline peer, in one run.

    model path   ours: the shipped int8 ONNX model (OnnxEngine, and the whole Guard.check_batch)
                 naive: the 12-layer encoder with the same heads in torch fp32 eager, batch 32, as a user
                        would first run it (unsorted, and sorted by length as a kinder variant); plus the
                        6-layer shipped architecture in torch fp32 for reference
    identifiers  ours: normalize + DetectorRegistry (and Guard.detectors_only, with policy and masking)
                 Presidio: presidio-analyzer with its Korean recognizers (RRN, FRN, passport, driver's
                        licence, BRN), phone with region KR, e-mail and card, on a blank spaCy pipeline
                        whose tokens' lemmas are set to their text so its context words can fire
Also the recall of both identifier paths on the workload's planted identifiers, by type.

    python -m bench.baselines [--model DIR] [--ckpt DIR ...] [--texts N] [--long] [--tiny] [--skip-torch]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import BASE_MODEL, ROOT, Row, load_workload, model_dir, report, table, throughput  # noqa: E402
from guard.config import EngineConfig, GuardConfig  # noqa: E402
from guard.detectors.registry import DetectorRegistry  # noqa: E402
from guard.engine.base import EngineInput  # noqa: E402
from guard.engine.onnx import OnnxEngine  # noqa: E402
from guard.engine.tokenize import TextEncoder, Window  # noqa: E402
from guard.normalize import normalize  # noqa: E402
from guard.sdk import Guard  # noqa: E402

CKPT = ROOT / "training" / "work" / "ckpt"
PRESIDIO_TYPES = {
    "KR_RRN": "RRN",
    "KR_FRN": "FRN",
    "KR_PASSPORT": "PASSPORT",
    "KR_DRIVER_LICENSE": "DRIVER_LICENSE",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "CREDIT_CARD": "CARD",
}


# naive baseline -------------------------------------------------------------------------------


def torch_model(layers: int, ckpts: list[Path]) -> tuple[Any, str]:
    """GuardModel on `layers` layers in fp32 eval mode, and where its weights came from.

    A fine-tuned checkpoint of this depth is used whole when one is given. Otherwise the encoder comes from the
    base model and the heads from the checkpoint (random heads if there is none): speed does not depend
    on the weights, only on the architecture.
    """
    import json

    import torch

    from training.train import build_model

    encoder = TextEncoder.from_file(BASE_MODEL / "tokenizer.json")
    model = build_model(BASE_MODEL, layers, encoder.sep_id)
    source = f"base encoder {layers} layers, random heads"
    found = [c for c in ckpts if (c / "model.pt").is_file() and (c / "train_config.json").is_file()]
    same = [c for c in found if json.loads((c / "train_config.json").read_text()).get("layers") == layers]
    if found:
        state = torch.load((same or found)[0] / "model.pt", map_location="cpu")
        if same:
            model.load_state_dict(state)
            source = f"fine-tuned checkpoint, {layers} layers"
        else:
            heads = {k: v for k, v in state.items() if k.startswith(("category.", "tags."))}
            model.load_state_dict(heads, strict=False)
            source = f"base encoder {layers} layers + fine-tuned heads"
    return model.eval(), source


def torch_rate(
    model: Any, windows: list[Window], pad_id: int, batch: int, sort: bool, repeats: int
) -> dict[str, float]:
    """texts/s of torch eager over the windows in batches of `batch` (one window per chat turn)."""
    import torch

    from guard.engine.tokenize import pad_batch

    order = sorted(windows, key=lambda w: len(w.input_ids)) if sort else windows
    batches = [pad_batch(order[i : i + batch], pad_id) for i in range(0, len(order), batch)]
    tensors = [(torch.from_numpy(ids), torch.from_numpy(mask)) for ids, mask in batches]

    def one_pass() -> int:
        with torch.inference_mode():
            for ids, mask in tensors:
                model(ids, mask)
        return len(windows)

    one_pass()  # warm-up: the first eager call allocates
    return throughput(one_pass, repeats=repeats)


# Presidio -------------------------------------------------------------------------------------


def offline_email_domains() -> None:
    """Presidio's e-mail recognizer validates the domain with tldextract, which fetches the public suffix
    list from the internet by default; this machine is offline: use the snapshot the package ships."""
    import tldextract

    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def presidio_recognizers() -> list[Any]:
    """The Presidio recognizers both scenarios use: the Korean ones (RRN, FRN, passport, driver's licence,
    BRN), phone with region KR, e-mail and card; all but the phone one are regex PatternRecognizers."""
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        KrBrnRecognizer,
        KrDriverLicenseRecognizer,
        KrFrnRecognizer,
        KrPassportRecognizer,
        KrRrnRecognizer,
        PhoneRecognizer,
    )

    offline_email_domains()
    return [
        KrRrnRecognizer(),
        KrFrnRecognizer(),
        KrPassportRecognizer(),
        KrDriverLicenseRecognizer(),
        KrBrnRecognizer(),
        PhoneRecognizer(supported_language="ko", supported_regions=("KR",)),
        EmailRecognizer(supported_language="ko"),
        CreditCardRecognizer(supported_language="ko"),
    ]


def presidio_analyzer() -> Any:
    """AnalyzerEngine with the Korean recognizers on a blank spaCy pipeline; nothing is downloaded."""
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from spacy.language import Language

    if "kguard_text_as_lemma" not in Language.factories:

        @Language.component("kguard_text_as_lemma")
        def _text_as_lemma(doc: Any) -> Any:
            # A blank pipeline has no lemmatizer; Presidio matches context words against lemmas.
            for token in doc:
                token.lemma_ = token.text
            return doc

    class BlankKoreanEngine(SpacyNlpEngine):  # type: ignore[misc]
        def load(self) -> None:
            # spaCy's own Korean tokenizer needs mecab-ko; its rule-based tokenizer needs nothing.
            nlp = spacy.blank("ko", config={"nlp": {"tokenizer": {"@tokenizers": "spacy.Tokenizer.v1"}}})
            nlp.add_pipe("kguard_text_as_lemma")
            self.nlp = {"ko": nlp}

    engine = BlankKoreanEngine(models=[{"lang_code": "ko", "model_name": "blank"}])
    engine.load()
    registry = RecognizerRegistry(supported_languages=["ko"])
    for recognizer in presidio_recognizers():
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(nlp_engine=engine, registry=registry, supported_languages=["ko"])


def recall(rows: Sequence[Row], find: Callable[[str], list[tuple[int, int, str]]]) -> dict[str, Any]:
    """Planted identifiers found (a result of the same type overlapping it), by type; and how many texts
    without any planted identifier got a result (hard negatives such as 1588 lines, formats)."""
    planted, found, clean_flagged, clean = Counter(), Counter(), 0, 0
    for row in rows:
        results = find(row.text)
        if not row.pii:
            clean += 1
            clean_flagged += bool(results)
        for start, end, kind in row.pii:
            planted[kind] += 1
            found[kind] += any(k == kind and s < end and e > start for s, e, k in results)
    return {
        "by_type": {k: {"planted": planted[k], "found": found[k]} for k in sorted(planted)},
        "clean_texts": clean,
        "clean_texts_flagged": clean_flagged,
    }


def ours_find(registry: DetectorRegistry) -> Callable[[str], list[tuple[int, int, str]]]:
    def find(text: str) -> list[tuple[int, int, str]]:
        norm = normalize(text)
        return [(*norm.to_original(m.start, m.end), m.type.value) for m in registry.analyze(norm.text)]

    return find


def presidio_find(analyzer: Any, threshold: float) -> Callable[[str], list[tuple[int, int, str]]]:
    def find(text: str) -> list[tuple[int, int, str]]:
        return [
            (r.start, r.end, PRESIDIO_TYPES.get(r.entity_type, r.entity_type))
            for r in analyzer.analyze(text, language="ko", score_threshold=threshold)
        ]

    return find


# run ------------------------------------------------------------------------------------------


def model_path(args: argparse.Namespace, chat: list[Row], repeats: int) -> dict[str, Any]:
    folder = model_dir(args.model, tiny=args.tiny)
    engine = OnnxEngine(EngineConfig(model_dir=folder))
    guard = Guard(folder, config=GuardConfig(engine=EngineConfig(model_dir=folder)))
    inputs = [EngineInput(r.text) for r in chat]
    batches = [inputs[i : i + 32] for i in range(0, len(inputs), 32)]
    texts = [r.text for r in chat]
    out: dict[str, Any] = {"model": str(folder), "texts": len(chat), "rates": {}}
    out["rates"]["ours: OnnxEngine int8, batch 32"] = throughput(
        lambda: sum(len(engine.predict(b)) for b in batches), repeats=repeats
    )
    out["rates"]["ours: Guard.check_batch of 32 (whole pipeline)"] = throughput(
        lambda: sum(len(guard.check_batch(texts[i : i + 32])) for i in range(0, len(texts), 32)),
        repeats=repeats,
    )
    if args.skip_torch or args.tiny:
        return out
    import torch

    torch.set_num_threads(os.cpu_count() or 2)
    encoder = TextEncoder.from_file(BASE_MODEL / "tokenizer.json")
    windows = [encoder.windows(i)[0] for i in inputs]
    out["mean_window_tokens"] = sum(len(w.input_ids) for w in windows) / len(windows)
    for layers in (12, 6):
        model, source = torch_model(layers, [Path(c) for c in args.ckpt or [CKPT]])
        out[f"torch_{layers}_source"] = source
        for sort in (False, True):
            label = f"naive: torch fp32 eager {layers} layers, batch 32{', sorted by length' if sort else ''}"
            out["rates"][label] = torch_rate(model, windows, encoder.pad_id, 32, sort, max(1, repeats - 1))
        del model
    return out


def identifier_path(chat: list[Row], answers: list[Row], repeats: int, tiny: bool) -> dict[str, Any]:
    registry = DetectorRegistry.default()
    guard = Guard.detectors_only()
    texts = [r.text for r in chat]
    find_ours = ours_find(registry)
    rows = [*chat, *answers]
    rates = {
        "ours: normalize + detectors": throughput(
            lambda: sum(1 for t in texts if find_ours(t) or True), repeats=repeats
        ),
        "ours: Guard.detectors_only().check_batch": throughput(
            lambda: sum(len(guard.check_batch(texts[i : i + 32])) for i in range(0, len(texts), 32)),
            repeats=repeats,
        ),
    }
    found = {"ours": recall(rows, find_ours)}
    try:
        analyzer = presidio_analyzer()
    except ImportError:
        if not tiny:
            raise SystemExit("presidio-analyzer is missing: pip install -e '.[bench]'") from None
        print("note: presidio-analyzer not installed; smoke run without the Presidio rows")
        return {"texts": len(texts), "rates": rates, "recall": found}
    rates["Presidio: AnalyzerEngine, Korean recognizers"] = throughput(
        lambda: sum(1 for t in texts if analyzer.analyze(t, language="ko") or True), repeats=repeats
    )
    found["Presidio (any score)"] = recall(rows, presidio_find(analyzer, 0.0))
    found["Presidio (score >= 0.5)"] = recall(rows, presidio_find(analyzer, 0.5))
    return {"texts": len(texts), "rates": rates, "recall": found}


def markdown(model: dict[str, Any], ids: dict[str, Any]) -> str:
    def rate_rows(rates: dict[str, dict[str, float]], ref: str) -> list[list[Any]]:
        return [
            [
                name,
                r["median"],
                f"{r['min']:.0f}-{r['max']:.0f}",
                f"{rates[ref]['median'] / r['median']:.2f}x",
            ]
            for name, r in rates.items()
        ]

    ref_model = "ours: OnnxEngine int8, batch 32"
    md = [
        f"**Model path**, {model['texts']} chat turns (mean window {model.get('mean_window_tokens', 0):.1f} "
        f"tokens), all cores. Naive 12 layers: {model.get('torch_12_source', 'not run')}. "
        "Last column: ours (engine) over the row.",
        "",
        table(["runtime", "texts/s", "spread", "ours / this"], rate_rows(model["rates"], ref_model)),
        "",
        f"**Identifier path**, {ids['texts']} chat turns, one thread. "
        "Last column: ours (normalize + detectors) "
        "over the row.",
        "",
        table(
            ["path", "texts/s", "spread", "ours / this"],
            rate_rows(ids["rates"], "ours: normalize + detectors"),
        ),
        "",
        "**Planted identifiers found** (chat turns and answers; a result of the same type overlapping it)",
        "",
    ]
    kinds = sorted(ids["recall"]["ours"]["by_type"])
    names = list(ids["recall"])
    md.append(
        table(
            ["type", "planted", *names],
            [
                [
                    k,
                    ids["recall"]["ours"]["by_type"][k]["planted"],
                    *[ids["recall"][n]["by_type"][k]["found"] for n in names],
                ]
                for k in kinds
            ]
            + [
                [
                    "texts without identifiers flagged",
                    ids["recall"]["ours"]["clean_texts"],
                    *[ids["recall"][n]["clean_texts_flagged"] for n in names],
                ]
            ],
        )
    )
    return "\n".join(md)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    parser.add_argument("--ckpt", action="append", help="fine-tuned checkpoint folder (training.train); "
                        "repeat for several depths (default training/work/ckpt)")
    parser.add_argument("--texts", type=int, default=None, help="chat turns to use (default 1000)")
    parser.add_argument("--skip-torch", action="store_true", help="leave out the torch baseline")
    parser.add_argument("--long", action="store_true", help="all 2,000 chat turns, more repeats")
    parser.add_argument(
        "--tiny", action="store_true", help="a few texts, no torch: keeps the command working"
    )
    args = parser.parse_args(argv)
    n = args.texts or (24 if args.tiny else 2000 if args.long else 1000)
    repeats = 1 if args.tiny else 5 if args.long else 3
    chat = load_workload("chat", n)
    answers = load_workload("answers", 8 if args.tiny else 300)
    started = time.perf_counter()
    model = model_path(args, chat, repeats)
    ids = identifier_path(chat, answers, repeats, args.tiny)
    text = markdown(model, ids)
    print(text)
    print(f"\n({time.perf_counter() - started:.0f} s)")
    report("baselines", {"model_path": model, "identifier_path": ids}, text, smoke=args.tiny)


if __name__ == "__main__":
    main()
