"""Fine-tuning: the encoder with two heads, trained on the generated rows.

Heads (one graph, exported as-is by training.export):
  * category_logits [batch, 14]: a linear layer over the judged text's token states, pooled per category
    with attention (segment A: from <s> up to the first </s>; the role/context segment is attended to
    but not pooled, so a prompt full of personal data does not make a clean answer unsafe). Each
    category weighs the tokens by its own score for them, so a short disclosure among unrelated
    sentences keeps its evidence instead of being averaged away; with the attention weights at zero
    (a checkpoint or graph from before it) the pooling is the plain mean. Loss: BCE (multi-label).
  * tag_logits [batch, seq, n_tags]: BIO tags per token. Loss: cross-entropy on segment-A tokens.
Inputs are built by guard.engine.tokenize.TextEncoder, the runtime's own encoder.

Distillation (`--teacher DIR`, a deeper checkpoint trained on the same data and tokenizer): the student
starts from the teacher's embeddings, heads and evenly spaced layers (the last one included), and
learns from both the labels and the teacher's softened outputs, computed once before training:
    loss = (1 - distill_weight) * label loss + distill_weight * T^2 * (BCE to the teacher's category
           probabilities + KL to its tag distributions), both at temperature T.

    python -m training.train [--layers 6] [--steps 4000] [--batch 16] [--base training/work/base/me5s-koen]
    python -m training.train --teacher training/work/ckpt12 --out training/work/ckpt_kd --steps 3000
    python -m training.train --teacher training/work/ckpt12 --init training/work/ckpt --steps 2000 \
        --out training/work/ckpt_kdc    # continue a trained model with the teacher (README, run 9)
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from guard.engine.base import EngineInput  # noqa: E402
from guard.engine.tokenize import TextEncoder, Window  # noqa: E402
from guard.taxonomy import CATEGORY_CODES, TAGS, Role  # noqa: E402
from training.paths import WORK  # noqa: E402

logger = logging.getLogger(__name__)

IGNORE = -100
_TAG_ID = {t: i for i, t in enumerate(TAGS)}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run (saved beside the checkpoint)."""

    base: str = str(WORK / "base" / "me5s-koen")
    data: str = str(WORK / "data")
    out: str = str(WORK / "ckpt")
    tokenizer: str = ""  # default: <base>/tokenizer.json
    layers: int = 6
    steps: int = 4000
    batch: int = 16
    lr: float = 8e-5
    head_lr: float = 2e-3
    warmup: int = 100
    tag_weight: float = 1.0
    freeze_embeddings: bool = True
    max_length: int = 128
    stride: int = 32
    context_tokens: int = 48
    seed: int = 13
    threads: int = 2
    log_every: int = 50
    max_minutes: float = 0.0  # > 0: stop (and save) when training has run this long
    teacher: str = ""  # a checkpoint folder: distil it into this (shallower) model
    init: str = ""  # a checkpoint folder of the same depth to continue from (after the teacher's init)
    only: str = ""  # comma-separated parameter name prefixes: train these alone (e.g. "attend")
    distill_weight: float = 0.7
    temperature: float = 2.0


@dataclass(frozen=True)
class Example:
    """One encoded window: ids, per-token tag ids (IGNORE outside the text), category targets."""

    input_ids: list[int]
    tags: list[int]
    cats: list[float]


def load_rows(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def window_tags(offsets: list[tuple[int, int]], spans: list[list[object]]) -> list[int]:
    """BIO tag ids for a window's text tokens from character spans (a token inside a span is tagged)."""
    tags = [0] * len(offsets)
    for start, end, kind in spans:
        first = True
        for i, (a, b) in enumerate(offsets):
            if a < int(end) and b > int(start) and b > a:  # type: ignore[call-overload]
                tags[i] = _TAG_ID[("B-" if first else "I-") + str(kind)]
                first = False
    return tags


def encode_row(encoder: TextEncoder, row: dict[str, object], all_windows: bool = False) -> list[Example]:
    """Examples of one row. Unsafe rows keep only their first window (the label may not hold for later
    windows of a long text); safe rows can use every window."""
    item = EngineInput(str(row["text"]), Role(str(row["role"])), str(row.get("context") or ""))
    cats = [1.0 if c in row["labels"] else 0.0 for c in CATEGORY_CODES]  # type: ignore[operator]
    windows = encoder.windows(item)
    if any(cats) and row.get("focus"):  # a disclosure set in real text: the window that holds it
        windows = [_focus_window(windows, row["focus"])]  # type: ignore[arg-type]
    elif not all_windows or any(cats):
        windows = windows[:1]
    out = []
    for w in windows:
        tags = [IGNORE] * len(w.input_ids)
        tags[w.first : w.first + len(w.offsets)] = window_tags(w.offsets, row["spans"])  # type: ignore[arg-type]
        out.append(Example(w.input_ids, tags, cats))
    return out


def _focus_window(windows: list[Window], focus: list[int]) -> Window:
    """The window that covers most of the character range `focus` (the first, on a tie)."""
    def overlap(w: Window) -> int:
        if not w.offsets:
            return 0
        return min(focus[1], w.offsets[-1][1]) - max(focus[0], w.offsets[0][0])
    return max(windows, key=overlap)


def batches(examples: list[Example], batch: int, rng: random.Random) -> Iterator[list[int]]:
    """Endless shuffled batches of example indices; similar lengths go together so little is padding."""
    while True:
        order = list(range(len(examples)))
        rng.shuffle(order)
        chunk = batch * 50
        groups = []
        for s in range(0, len(order), chunk):
            part = sorted(order[s : s + chunk], key=lambda i: len(examples[i].input_ids))
            groups += [part[i : i + batch] for i in range(0, len(part), batch)]
        rng.shuffle(groups)
        yield from groups


def collate(
    group: list[Example], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    width = max(len(e.input_ids) for e in group)
    ids = torch.full((len(group), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(group), width), dtype=torch.long)
    tags = torch.full((len(group), width), IGNORE, dtype=torch.long)
    for r, e in enumerate(group):
        n = len(e.input_ids)
        ids[r, :n], mask[r, :n], tags[r, :n] = torch.tensor(e.input_ids), 1, torch.tensor(e.tags)
    return ids, mask, tags, torch.tensor([e.cats for e in group])


class GuardModel(nn.Module):
    """Encoder + category head (attention-pooled segment A) + tag head. forward(input_ids, attention_mask)."""

    def __init__(self, encoder: nn.Module, hidden: int, sep_id: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.sep_id = sep_id
        self.dropout = nn.Dropout(dropout)
        self.category = nn.Linear(hidden, len(CATEGORY_CODES))
        # per token and category, how much the token counts; zero = the mean (a bias would cancel out)
        self.attend = nn.Linear(hidden, len(CATEGORY_CODES), bias=False)
        nn.init.zeros_(self.attend.weight)
        self.tags = nn.Linear(hidden, len(TAGS))

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        states = self.dropout(states)
        # segment A = positions before the first </s>; computed in-graph so the runtime feeds only ids/mask
        seen_sep = torch.cumsum((input_ids == self.sep_id).to(torch.int64), dim=1)
        pooled = ((seen_sep == 0).to(torch.int64) * attention_mask).unsqueeze(-1) > 0  # [batch, seq, 1]
        weights = torch.softmax(self.attend(states).masked_fill(~pooled, -1e4), dim=1)  # [batch, seq, cat]
        # the weights sum to one per category, so this is the category layer applied to the pooled states
        return (weights * self.category(states)).sum(1), self.tags(states)


#: Parameter name prefixes of the heads (trained at head_lr, copied from a teacher).
HEADS = ("category", "attend", "tags")
#: Weights that checkpoints and graphs from before attention pooling lack: left at zero, they pool by the
#: mean those were trained with.
ADDED_LATER = frozenset({"attend.weight"})


def build_model(base: str | Path, layers: int, sep_id: int) -> GuardModel:
    """GuardModel on the first `layers` layers of a BertModel folder (or a tiny random one: base='tiny:V')."""
    from transformers import BertConfig, BertModel

    if str(base).startswith("tiny:"):  # random init, for tests: "tiny:<vocab size>"
        cfg = BertConfig(
            vocab_size=int(str(base)[5:]),
            hidden_size=32,
            num_hidden_layers=layers,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=514,
            type_vocab_size=1,
            pad_token_id=1,
        )
        encoder = BertModel(cfg, add_pooling_layer=False)
    else:
        cfg = BertConfig.from_pretrained(base)
        cfg.num_hidden_layers = min(layers, cfg.num_hidden_layers)
        encoder = BertModel.from_pretrained(base, config=cfg, add_pooling_layer=False)
    return GuardModel(encoder, encoder.config.hidden_size, sep_id)


def teacher_layers(student: int, teacher: int) -> list[int]:
    """Evenly spaced teacher layers for a student's initialisation, ending with the teacher's last."""
    return [round((i + 1) * teacher / student) - 1 for i in range(student)]


def init_from_teacher(student: GuardModel, teacher: GuardModel) -> None:
    """Copy the teacher's embeddings, heads and evenly spaced layers into the student."""
    picked = teacher_layers(len(student.encoder.encoder.layer), len(teacher.encoder.encoder.layer))
    student.encoder.embeddings.load_state_dict(teacher.encoder.embeddings.state_dict())
    for mine, theirs in zip(student.encoder.encoder.layer, picked, strict=True):
        mine.load_state_dict(teacher.encoder.encoder.layer[theirs].state_dict())
    for head in HEADS:
        getattr(student, head).load_state_dict(getattr(teacher, head).state_dict())


@dataclass(frozen=True)
class SoftTargets:
    """The teacher's outputs for one example: category logits [n_cat], tag logits [len, n_tags] (fp16)."""

    cats: torch.Tensor
    tags: torch.Tensor


@torch.no_grad()
def teacher_targets(teacher: GuardModel, examples: list[Example], pad_id: int,
                    batch: int = 64) -> list[SoftTargets]:
    """The teacher's outputs for every example, computed once (length-sorted batches)."""
    teacher.eval()
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].input_ids))
    out: dict[int, SoftTargets] = {}
    for s in range(0, len(order), batch):
        group = order[s : s + batch]
        ids, mask, _, _ = collate([examples[i] for i in group], pad_id)
        cat, tag = teacher(ids, mask)
        for row, i in enumerate(group):
            out[i] = SoftTargets(cat[row].clone(), tag[row, : len(examples[i].input_ids)].half())
    return [out[i] for i in range(len(examples))]  # example order: soft[i] belongs to examples[i]


def distill_loss(cat: torch.Tensor, tag: torch.Tensor, soft: list[SoftTargets], tags: torch.Tensor,
                 temperature: float) -> torch.Tensor:
    """T^2-scaled BCE to the teacher's category probabilities plus KL to its tag distributions,
    over the tokens the label loss uses."""
    t = temperature
    t_cat = torch.stack([x.cats for x in soft])
    t_tag = torch.zeros_like(tag)
    for row, x in enumerate(soft):
        t_tag[row, : x.tags.shape[0]] = x.tags.float()
    cat_loss = nn.functional.binary_cross_entropy_with_logits(cat / t, torch.sigmoid(t_cat / t))
    keep = tags.reshape(-1) != IGNORE
    s_log = nn.functional.log_softmax(tag.reshape(-1, tag.shape[-1])[keep] / t, dim=-1)
    t_log = nn.functional.log_softmax(t_tag.reshape(-1, tag.shape[-1])[keep] / t, dim=-1)
    tag_loss = nn.functional.kl_div(s_log, t_log, log_target=True, reduction="batchmean")
    return t * t * (cat_loss + tag_loss)


def tokenizer_path(cfg: TrainConfig) -> Path:
    return Path(cfg.tokenizer) if cfg.tokenizer else Path(cfg.base) / "tokenizer.json"


def encode_split(encoder: TextEncoder, path: Path, all_windows: bool) -> list[Example]:
    return [ex for row in load_rows(path) for ex in encode_row(encoder, row, all_windows)]


def _schedule(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return max(0.05, 0.5 * (1 + math.cos(math.pi * progress)))


def train(cfg: TrainConfig, encoder: TextEncoder | None = None) -> Path:
    """Train and write `out/model.pt` + `out/train_config.json`; returns the checkpoint path."""
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    encoder = encoder or TextEncoder.from_file(
        tokenizer_path(cfg), max_length=cfg.max_length, stride=cfg.stride, context_tokens=cfg.context_tokens
    )
    examples = encode_split(encoder, Path(cfg.data) / "train.jsonl", all_windows=True)
    logger.info("train examples: %d", len(examples))
    model = build_model(cfg.base, cfg.layers, encoder.sep_id)
    soft: list[SoftTargets] = []
    if cfg.teacher:
        teacher, _, _ = load_checkpoint(Path(cfg.teacher))
        init_from_teacher(model, teacher)
        started = time.perf_counter()
        soft = teacher_targets(teacher, examples, encoder.pad_id)
        logger.info("teacher outputs for %d examples in %.0f s", len(soft), time.perf_counter() - started)
        del teacher
    if cfg.init:
        load_weights(model, Path(cfg.init))
    if cfg.freeze_embeddings:
        for p in model.encoder.embeddings.parameters():
            p.requires_grad_(False)
    if cfg.only:
        for n, p in model.named_parameters():
            p.requires_grad_(p.requires_grad and n.startswith(tuple(cfg.only.split(","))))
    heads = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith(HEADS)]
    body = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith(HEADS)]
    opt = torch.optim.AdamW(
        [{"params": body, "lr": cfg.lr}, {"params": heads, "lr": cfg.head_lr}], weight_decay=0.01
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _schedule(s, cfg))
    bce, ce = nn.BCEWithLogitsLoss(), nn.CrossEntropyLoss(ignore_index=IGNORE)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    model.train()
    it = batches(examples, cfg.batch, random.Random(cfg.seed))
    started, run_loss = time.perf_counter(), 0.0
    for step in range(cfg.steps):
        group = next(it)
        ids, mask, tags, cats = collate([examples[i] for i in group], encoder.pad_id)
        cat_logits, tag_logits = model(ids, mask)
        loss = bce(cat_logits, cats) + cfg.tag_weight * ce(
            tag_logits.reshape(-1, len(TAGS)), tags.reshape(-1)
        )
        if soft:
            kd = distill_loss(cat_logits, tag_logits, [soft[i] for i in group], tags, cfg.temperature)
            loss = (1 - cfg.distill_weight) * loss + cfg.distill_weight * kd
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        run_loss += loss.item()
        if (step + 1) % cfg.log_every == 0 or step + 1 == cfg.steps:
            elapsed = time.perf_counter() - started
            logger.info(
                "step %d/%d loss %.4f  %.2f s/step  eta %.0f s",
                step + 1,
                cfg.steps,
                run_loss / cfg.log_every,
                elapsed / (step + 1),
                elapsed / (step + 1) * (cfg.steps - step - 1),
            )
            run_loss = 0.0
        if (step + 1) % 200 == 0:
            save(model, cfg, out)
        if cfg.max_minutes and time.perf_counter() - started > cfg.max_minutes * 60:
            logger.info("time budget of %.0f min reached at step %d", cfg.max_minutes, step + 1)
            break
    return save(model, cfg, out)


def save(model: GuardModel, cfg: TrainConfig, out: Path) -> Path:
    """Write the checkpoint atomically (a crash mid-write never leaves a half file under the final name)."""
    path = out / "model.pt"
    torch.save(model.state_dict(), out / "model.pt.tmp")
    (out / "model.pt.tmp").replace(path)
    (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2))
    return path


def load_weights(model: GuardModel, ckpt_dir: Path) -> None:
    """A checkpoint's weights into `model` (one without ADDED_LATER keeps those at zero)."""
    missing, unexpected = model.load_state_dict(torch.load(ckpt_dir / "model.pt", map_location="cpu"),
                                                strict=False)
    if unexpected or set(missing) - ADDED_LATER:
        raise ValueError(f"{ckpt_dir}: weights do not fit the model (missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]})")


def load_checkpoint(ckpt_dir: Path) -> tuple[GuardModel, TrainConfig, TextEncoder]:
    """The trained model (eval mode), its config and its TextEncoder."""
    cfg = TrainConfig(**json.loads((ckpt_dir / "train_config.json").read_text()))
    encoder = TextEncoder.from_file(
        tokenizer_path(cfg), max_length=cfg.max_length, stride=cfg.stride, context_tokens=cfg.context_tokens
    )
    model = build_model(cfg.base, cfg.layers, encoder.sep_id)
    load_weights(model, ckpt_dir)
    model.eval()
    return model, cfg, encoder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="fine-tune the guard model")
    defaults = TrainConfig()
    for name, value in asdict(defaults).items():
        kind = type(value)
        if kind is bool:
            parser.add_argument(
                f"--{name.replace('_', '-')}", type=lambda s: s.lower() in ("1", "true", "yes"), default=value
            )
        else:
            parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=value)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    print(train(TrainConfig(**vars(args))))


if __name__ == "__main__":
    main()
