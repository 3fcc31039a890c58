"""The ONNX engine: a model folder loaded into onnxruntime, texts in, scores and spans out.

Split as infinity splits a model (pre / core / post):
    pre   each input -> windows (TextEncoder), all windows of a call sorted by length
    core  length buckets (no window more than `bucket_width_ratio` x the bucket's shortest), padded to
          their longest window, capped by `max_batch_tokens`, one session.run each; with a session pool
          (EngineConfig.sessions > 1) also capped by the pool's fair share of the call's tokens, and run
          in parallel on the pool (guard.engine.pool); a call of one bucket runs on the solo session
    check in a text of several windows (labels.json sentence_check), each window that could pass a
          threshold is scored again sentence by sentence, and its category logits are capped by its best
          sentence's: unrelated sentences side by side do not add up to a disclosure
    post  per input: category score = max over windows; token tags from the window where the token sits
          farthest from a cut; BIO tags -> ModelSpan in character offsets of the input text

Every problem with the model folder surfaces at construction as ModelError naming the file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from guard.config import EngineConfig, available_cores
from guard.engine.base import EngineInput, EngineOutput, ModelInfo, ModelSpan, Pacer
from guard.engine.files import file_sha256, folder_sha256  # noqa: F401  (file_sha256: re-exported)
from guard.engine.labels import LABELS_FILE, Labels, load_labels  # noqa: F401  (load_labels: re-exported)
from guard.engine.pool import SessionPool
from guard.engine.runtime import ort  # onnxruntime with its telemetry off (see runtime.py)
from guard.engine.tags import TaggedToken, decode_spans
from guard.engine.tokenize import TextEncoder, Window, pad_batch
from guard.engine.tuning import SessionTuning
from guard.errors import ConfigError, ModelError
from guard.taxonomy import CATEGORY_CODES, SpanType

logger = logging.getLogger(__name__)

#: The sentence check skips windows whose every category is below this probability before the window
#: penalty: capping cannot lift a score, so only a threshold under it would see the difference. 0.2 is the
#: lowest threshold training chooses (training/export.py choose_thresholds).
CHECK_FLOOR = 0.2
CHECK_FLOOR_LOGIT = float(np.log(CHECK_FLOOR / (1 - CHECK_FLOOR)))

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
_REQUIRED_INPUTS = ("input_ids", "attention_mask")
_OPTIONAL_INPUTS = ("token_type_ids",)
_OUTPUTS = ("category_logits", "tag_logits")
#: The most sessions `sessions = 0` makes (each holds its own copy of the weights: 50-85 MB for the
#: shipped model); beyond it the pool's sessions get several threads each.
MAX_AUTO_SESSIONS = 4


def choose_providers(configured: Sequence[str]) -> list[str]:
    """The configured providers, else CUDA when this onnxruntime has it, else CPU."""
    available = ort.get_available_providers()
    if configured:
        missing = [p for p in configured if p not in available]
        if missing:
            raise ConfigError(f"onnxruntime providers not available: {', '.join(missing)}")
        return list(configured)
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


class OnnxEngine:
    """Runs a model folder with onnxruntime; implements `guard.engine.base.Engine`.

    `predict` is safe to call from several threads at once (the batcher's `max_concurrent_batches`):
    after construction the engine's state is read-only. Each call keeps its windows, feeds and outputs in
    locals; `InferenceSession.run` is thread-safe (onnxruntime's documented guarantee for concurrent
    runs on one session); the `tokenizers.Tokenizer` is only read (`encode`, a shared borrow) and never
    reconfigured after TextEncoder's copy, so no "Already borrowed" clash. With one session
    (`sessions` 1), concurrent runs share its intra-op thread pool: with two at once on two cores use
    intra_op_num_threads=1, so each run computes on its caller's thread (AsyncGuard does that split when
    the setting is 0). With a pool, the pool bounds the runs at once by its sessions whatever the callers.
    """

    def __init__(self, config: EngineConfig) -> None:
        if config.max_batch_tokens < 1 or config.bucket_width_ratio < 1.0 or config.sessions < 0:
            raise ConfigError("engine: max_batch_tokens must be >= 1, bucket_width_ratio >= 1.0 "
                              "and sessions >= 0")
        self.config = config
        folder = Path(config.model_dir)
        if not folder.is_dir():
            raise ModelError(f"model folder not found: {folder}")
        for name in (MODEL_FILE, TOKENIZER_FILE, LABELS_FILE):
            if not (folder / name).is_file():
                raise ModelError(f"{name} missing in model folder {folder}")
        self.labels = load_labels(folder / LABELS_FILE)
        self._is_span_tag = np.array([t is not None for t in self.labels.tags])  # per tag id: not "O"
        self.encoder = _load_encoder(folder / TOKENIZER_FILE, self.labels)
        self._pool = _load_pool(folder / MODEL_FILE, config)
        self._feeds_token_type_ids = _check_signature(self._pool.sessions[0], self.labels)
        files = folder_sha256(folder)
        self.info = ModelInfo(
            name=self.labels.name, version=self.labels.version, sha256=files[MODEL_FILE],
            quant=self.labels.quant, provider=self._pool.sessions[0].get_providers()[0],
            max_length=self.labels.max_length, categories=CATEGORY_CODES,
            thresholds=dict(self.labels.thresholds), files=files,
        )
        self._probe()
        logger.info("loaded model %s %s (%s, %s, %d session(s)%s)", self.info.name, self.info.version,
                    self.info.quant, self.info.provider, self._pool.size, " + solo" if self._pool.solo else "")

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` without special tokens: the batcher's sort key."""
        return len(self.encoder.tokenizer.encode(text, add_special_tokens=False).ids)

    @property
    def sessions(self) -> int:
        """Runs this engine computes at once at most (its pool's sessions)."""
        return self._pool.size

    def release_memory(self) -> None:
        """Give the sessions' arena memory that no run is using back (after a burst of long texts: the
        arena keeps its peak otherwise). One tiny run on each with onnxruntime's arena shrinkage on."""
        options = ort.RunOptions()
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        ids = np.array([[self.encoder.cls_id, self.encoder.sep_id]], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if self._feeds_token_type_ids:
            feed["token_type_ids"] = np.zeros_like(ids)
        for session in self._pool.all():
            session.run(list(_OUTPUTS), feed, options)

    def warmup(self) -> None:
        """One small run so the first real request does not pay for onnxruntime's lazy setup."""
        self.predict([EngineInput("warmup")])

    def _probe(self) -> None:
        # A graph can load and still fail or disagree with labels.json when run (symbolic label
        # dimensions, wrong internal types): one tiny run at load turns that into a ModelError now.
        try:
            self.warmup()
        except ModelError:
            raise
        except Exception as exc:  # onnxruntime's pybind errors share no base class
            raise ModelError(f"{MODEL_FILE}: a test run failed ({type(exc).__name__})") from exc

    def predict(self, inputs: Sequence[EngineInput], *, pacer: Pacer | None = None) -> list[EngineOutput]:
        """Scores and spans for each input, in order; see the module docstring for the steps. A `pacer`
        caps the padded tokens per session.run and is called before each one (it may wait or stop)."""
        with self._pool.calling():
            return self._predict(inputs, pacer)

    def _predict(self, inputs: Sequence[EngineInput], pacer: Pacer | None) -> list[EngineOutput]:
        plans = [self.encoder.windows(item) for item in inputs]
        flat = [w for windows in plans for w in windows]
        cat_rows, tag_rows = self._run_sorted(flat, pacer)
        if self.labels.sentence_check:
            cat_rows = self._check_sentences(inputs, plans, cat_rows, pacer)
        outputs: list[EngineOutput] = []
        k = 0
        for item, windows in zip(inputs, plans, strict=True):
            n = len(windows)
            outputs.append(self._merge(item.text, windows, cat_rows[k:k + n], tag_rows[k:k + n]))
            k += n
        if len(outputs) != len(inputs):  # a broken invariant here would misattribute verdicts
            raise ModelError(f"engine produced {len(outputs)} outputs for {len(inputs)} inputs")
        return outputs

    # core

    def _run_sorted(self, windows: list[Window], pacer: Pacer | None = None,
                    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Category logits [n_cat] and tag logits [len(window), n_tags] per window, in input order."""
        order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
        cats: list[np.ndarray] = [np.empty(0)] * len(windows)
        tags: list[np.ndarray] = [np.empty(0)] * len(windows)
        cap = self.config.max_batch_tokens
        if pacer is not None:
            cap = min(cap, pacer.max_batch_tokens)
        elif self._pool.size > 1:  # at most a fair share of the call per session: every session gets work
            cap = min(cap, -(-sum(len(w.input_ids) for w in windows) // self._pool.size))
        chunks = list(self._chunks(order, windows, cap))
        for chunk, (cat, tag) in zip(chunks, self._compute(chunks, windows, pacer), strict=True):
            for row, i in enumerate(chunk):
                cats[i] = cat[row]
                tags[i] = tag[row, : len(windows[i].input_ids)]
        return cats, tags

    def _compute(self, chunks: list[list[int]], windows: list[Window], pacer: Pacer | None,
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
        """One session.run per chunk, results in chunk order. A window's logits do not depend on the
        chunk or the session it lands in (batch invariance), so how they are spread is free."""

        def run(session: ort.InferenceSession, chunk: list[int]) -> tuple[np.ndarray, np.ndarray]:
            return self._run(session, [windows[i] for i in chunk])

        if pacer is not None:  # slices in turn on this thread, one pool session (core) each
            results = []
            for chunk in chunks:
                pacer.before_run()  # between slices: wait for this text's turn, or stop if its caller left
                with self._pool.one() as session:
                    results.append(run(session, chunk))
            return results
        if len(chunks) == 1:  # a lone message: on all cores when they are idle
            with self._pool.fastest() as session:
                return [run(session, chunks[0])]
        # The biggest first (padded tokens), so the sessions finish at about the same time.
        biggest = sorted(range(len(chunks)), key=lambda k: -len(chunks[k]) * len(windows[chunks[k][-1]].input_ids))
        done = dict(zip(biggest, self._pool.map(run, [chunks[k] for k in biggest]), strict=True))
        return [done[k] for k in range(len(chunks))]

    def _chunks(self, order: list[int], windows: list[Window], max_tokens: int) -> Iterator[list[int]]:
        """Consecutive runs of the length-sorted order of similar widths whose padded size fits
        `max_tokens` (on CPU a padded token costs as much as a real one, a call very little)."""
        chunk: list[int] = []
        shortest = 0
        for i in order:
            width = len(windows[i].input_ids)  # sorted ascending: the newest is the widest
            if chunk and ((len(chunk) + 1) * width > max_tokens
                          or width > shortest * self.config.bucket_width_ratio):
                yield chunk
                chunk = []
            if not chunk:
                shortest = width
            chunk.append(i)
        if chunk:
            yield chunk

    def _run(self, session: ort.InferenceSession, batch: list[Window]) -> tuple[np.ndarray, np.ndarray]:
        ids, mask = pad_batch(batch, self.encoder.pad_id)
        feed = {"input_ids": ids, "attention_mask": mask}
        if self._feeds_token_type_ids:
            feed["token_type_ids"] = np.zeros_like(ids)
        cat, tag = session.run(list(_OUTPUTS), feed)
        if cat.shape != (len(batch), len(self.labels.categories)) or tag.shape != (
                *ids.shape, len(self.labels.tags)):
            raise ModelError(f"{MODEL_FILE}: output shapes {cat.shape} and {tag.shape} do not match "
                             f"{LABELS_FILE} for a batch of shape {ids.shape}")
        return cat, tag

    # check

    def _check_sentences(self, inputs: Sequence[EngineInput], plans: list[list[Window]],
                         cat_rows: list[np.ndarray], pacer: Pacer | None) -> list[np.ndarray]:
        """Category logits per window, each capped by the best of its sentence units scored alone."""
        units: list[Window] = []
        owner: list[int] = []
        k = 0
        for item, windows in zip(inputs, plans, strict=True):
            if len(windows) > 1:
                for j, window in enumerate(windows):
                    # under the floor a cap cannot change a flag (CHECK_FLOOR): skip the work
                    if cat_rows[k + j].max() >= CHECK_FLOOR_LOGIT:
                        found = self.encoder.sentence_units(item.text, window, self.labels.sentence_check)
                        units += found
                        owner += [k + j] * len(found)
            k += len(windows)
        if not units:
            return cat_rows
        unit_rows, _ = self._run_sorted(units, pacer)
        best: dict[int, np.ndarray] = {}
        for i, row in zip(owner, unit_rows, strict=True):
            best[i] = np.maximum(best[i], row) if i in best else row
        return [np.minimum(row, best[i]) if i in best else row for i, row in enumerate(cat_rows)]

    # post

    def _merge(self, text: str, windows: list[Window], cats: list[np.ndarray], tags: list[np.ndarray],
               ) -> EngineOutput:
        logits = np.max(np.stack(cats), axis=0) - self.labels.window_penalty * np.log(len(windows))
        probs = 0.5 * (1.0 + np.tanh(0.5 * logits.astype(np.float64)))  # sigmoid without overflow
        scores = {code: float(probs[i]) for i, code in enumerate(self.labels.categories)}
        scores = {code: scores[code] for code in CATEGORY_CODES}  # canonical order for callers
        return EngineOutput(scores=scores, spans=self._spans(text, windows, tags))

    def _spans(self, text: str, windows: list[Window], tags: list[np.ndarray]) -> list[ModelSpan]:
        n_tokens = max(w.token_start + len(w.offsets) for w in windows)
        best = np.full(n_tokens, -1.0)
        tag_id = np.zeros(n_tokens, dtype=np.int64)
        tag_p = np.zeros(n_tokens)
        offsets = np.zeros((n_tokens, 2), dtype=np.int64)
        for w, rows in zip(windows, tags, strict=True):
            n = len(w.offsets)
            if n == 0:
                continue
            text_rows = rows[w.first:w.first + n].astype(np.float64)
            probs = np.exp(text_rows - text_rows.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            at = slice(w.token_start, w.token_start + n)
            dist = _edge_distance(w, n_tokens)
            better = dist > best[at]  # ties keep the earlier window
            best[at] = np.where(better, dist, best[at])
            tag_id[at] = np.where(better, probs.argmax(axis=1), tag_id[at])
            tag_p[at] = np.where(better, probs.max(axis=1), tag_p[at])
            offsets[at] = np.where(better[:, None], np.asarray(w.offsets, dtype=np.int64), offsets[at])
        return _decode_bio(text, self.labels.tags, self._is_span_tag, tag_id, tag_p, offsets)


def _edge_distance(w: Window, n_tokens: int) -> np.ndarray:
    """Per token of the window, tokens to the nearest cut (the text's own ends are not cuts)."""
    n = len(w.offsets)
    left = np.arange(n, dtype=np.float64) if w.token_start > 0 else np.full(n, np.inf)
    right = (np.arange(n, dtype=np.float64)[::-1] if w.token_start + n < n_tokens
             else np.full(n, np.inf))
    distance: np.ndarray = np.minimum(left, right)
    return distance


def _decode_bio(text: str, tags: Sequence[tuple[bool, SpanType] | None], is_span_tag: np.ndarray,
                tag_id: np.ndarray, tag_p: np.ndarray, offsets: np.ndarray) -> list[ModelSpan]:
    tagged = np.flatnonzero(is_span_tag[tag_id])
    if tagged.size == 0:  # most texts: nothing to decode
        return []
    # "O" tokens before the first tag and after the last cannot change a span: decode only between.
    at = slice(int(tagged[0]), int(tagged[-1]) + 1)
    tokens = [TaggedToken(tags[int(i)], int(a), int(b), float(p))
              for i, (a, b), p in zip(tag_id[at], offsets[at], tag_p[at], strict=True)]
    return [ModelSpan(start, end, kind, score) for start, end, kind, score in decode_spans(text, tokens)]


def _load_encoder(path: Path, labels: Labels) -> TextEncoder:
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception on a bad file
        raise ModelError(f"{path.name}: cannot load tokenizer ({type(exc).__name__})") from exc
    try:
        return TextEncoder(tokenizer, max_length=labels.max_length, stride=labels.stride,
                           context_tokens=labels.context_tokens, sentence_window=labels.sentence_window)
    except ModelError as exc:
        raise ModelError(f"{path.name}: {exc}") from None


def _load_pool(path: Path, config: EngineConfig) -> SessionPool:
    """One session on `intra_op_num_threads`, or a pool of `sessions` (0: one per core, at most
    MAX_AUTO_SESSIONS) sharing the cores, plus a solo session on `intra_op_num_threads` (0: all cores)
    when that is more threads than a pool session has."""
    cores = available_cores()
    size = config.sessions or min(cores, MAX_AUTO_SESSIONS)
    if size == 1:
        return SessionPool([_load_session(path, config)])
    threads = max(1, cores // size)
    pool = [_load_session(path, replace(config, intra_op_num_threads=threads)) for _ in range(size)]
    solo_threads = config.intra_op_num_threads or cores
    return SessionPool(pool, _load_session(path, config) if solo_threads > threads else None)


def _load_session(path: Path, config: EngineConfig) -> ort.InferenceSession:
    tuning = SessionTuning.of(config)
    providers = choose_providers(config.providers)
    ort.disable_telemetry_events()  # no usage events from this session (SECURITY.md: what remains)
    try:
        return ort.InferenceSession(str(path), providers=providers, **tuning.session_kwargs())
    except Exception as exc:  # onnxruntime's pybind errors (InvalidProtobuf, Fail, ...) share no base
        reason = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise ModelError(f"{path.name}: onnxruntime cannot load it ({type(exc).__name__}: {reason})") from exc


def _check_signature(session: ort.InferenceSession, labels: Labels) -> bool:
    """Check inputs/outputs against labels.json; return whether token_type_ids must be fed."""
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name: o for o in session.get_outputs()}
    for name in _REQUIRED_INPUTS:
        if name not in inputs:
            raise ModelError(f"{MODEL_FILE}: input {name!r} missing")
    extra = sorted(set(inputs) - set(_REQUIRED_INPUTS) - set(_OPTIONAL_INPUTS))
    if extra:
        raise ModelError(f"{MODEL_FILE}: unexpected inputs {extra}")
    for name in (*_REQUIRED_INPUTS, *_OPTIONAL_INPUTS):
        if name in inputs and inputs[name].type != "tensor(int64)":
            raise ModelError(f"{MODEL_FILE}: input {name!r} is {inputs[name].type}, expected int64")
    expect = {"category_logits": (2, len(labels.categories)), "tag_logits": (3, len(labels.tags))}
    for name, (rank, last) in expect.items():
        if name not in outputs:
            raise ModelError(f"{MODEL_FILE}: output {name!r} missing")
        shape = outputs[name].shape
        # Exports keep batch/seq symbolic; the label dimension is fixed and must match labels.json.
        if len(shape) != rank or (isinstance(shape[-1], int) and shape[-1] != last):
            raise ModelError(f"{MODEL_FILE}: output {name!r} has shape {shape}, {LABELS_FILE} "
                             f"needs rank {rank} ending in {last}")
    return "token_type_ids" in inputs
