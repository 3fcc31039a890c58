"""`kguard scan --masking pseudonymize --vault FILE` and `kguard scan --reid-report FILE`.

Pseudonymizing a dataset: every flagged span becomes its pseudonym (typed placeholder or fake, per the
policy's `[pseudonymize]`), consistently across the whole file, and the vault that maps them back is
written encrypted to FILE (guard.vault: AES-256-GCM under a key stretched with scrypt). The key is
required (`--vault-key-file` or KGUARD_VAULT_KEY) and never stored; an existing vault file is opened
with it and extended, so later files get the same pseudonyms. Whoever holds the key can re-identify the
data (guard.restore with `load_vault_file`); without it the file reads as noise. Sensitive statements
(S1-S9) are not identifiers and stay: that is what pseudonymized data (가명정보) is; use the default
masking or --drop for data that must not carry them.

The re-identification report reads the input (before or after pseudonymizing), finds each record's
quasi-identifiers (guard.reid) and reports k-anonymity, l-diversity and a generalization that reaches
k, naming records by number only.

Both run in this process, one record batch at a time (no pool, no --resume): the vault is one table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from guard.errors import GuardError, InputError
from guard.policy import Overrides
from guard.pseudonymize import consistency_key, pseudonymize_spans
from guard.reid import QI_TYPES, ReidAnalysis, quasi_identifiers
from guard.scan.readers import Record, ResumeAt, detect_format, open_reader
from guard.scan.runner import ScanOptions, overwrites, write_json
from guard.scan.writers import open_writer
from guard.sdk import Guard
from guard.taxonomy import CATEGORY_CODES
from guard.vault import Vault, VaultLimits, load_vault_file, save_vault_file
from guard.verdict import Verdict

__all__ = ["pseudonymize_file", "reid_file"]

logger = logging.getLogger(__name__)
_BATCH = 64
#: A dataset's vault holds every distinct value of the file: bounded far above a chat session's.
_DATASET_LIMITS = VaultLimits(max_entries=50_000_000, max_bytes=8 * 1024**3, ttl_s=float("inf"))


def _texts(data: dict[str, Any], fields: tuple[str, ...], role: str) -> Iterator[tuple[str, int | None, str, str]]:
    """(field, index in a list or None, role, text) for each text of the record's fields."""
    for name in fields:
        value = data.get(name)
        if isinstance(value, str):
            yield name, None, role, value
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, str):
                    yield name, i, role, item
                elif isinstance(item, dict) and isinstance(item.get("content"), str):
                    yield name, i, "assistant" if item.get("role") == "assistant" else "user", item["content"]


def _put(data: dict[str, Any], name: str, index: int | None, text: str) -> None:
    if index is None:
        data[name] = text
    elif isinstance(data[name][index], dict):
        data[name][index]["content"] = text
    else:
        data[name][index] = text


def _batches(records: Iterator[Record]) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _check(guard: Guard, items: list[tuple[str, int | None, str, str]], overrides: Overrides | None,
           ) -> list[Verdict | GuardError]:
    out: list[Verdict | GuardError] = [InputError("empty")] * len(items)
    for role in ("user", "assistant"):
        idx = [i for i, item in enumerate(items) if item[2] == role and item[3].strip()]
        if idx:
            results = guard.check_batch([items[i][3] for i in idx], role=role, overrides=overrides,
                                        return_exceptions=True)
            for i, r in zip(idx, results, strict=True):
                out[i] = r
    return out


def pseudonymize_file(options: ScanOptions, vault_path: Path, key: bytes) -> dict[str, Any]:
    """Pseudonymize the fields of every record into `options.output`; write the encrypted vault."""
    for path in (options.output, options.report_path):
        if overwrites(vault_path, path) or overwrites(vault_path, options.input):
            raise InputError("the vault file would overwrite the input, the output or the report")
    vault = (load_vault_file(vault_path, key, limits=_DATASET_LIMITS, key_of=consistency_key)
             if vault_path.exists() else Vault(limits=_DATASET_LIMITS))
    before = len(vault)
    started = time.monotonic()
    guard = options.engine.build()
    styles = guard.policy.pseudonyms
    fmt = detect_format(options.input, options.format)
    reader = open_reader(options.input, fmt, encoding=options.encoding)
    stats = {"records": 0, "written": 0, "flagged": 0, "replaced": 0, "errors": 0}
    error_records: list[int] = []
    writer = open_writer(options.output, fmt, state=None, columns=reader.columns,
                         schema=getattr(reader, "schema", None), annotate=None)
    try:
        for batch in _batches(reader.records(ResumeAt())):
            rows = []
            for record in batch:
                stats["records"] += 1
                if record.data is None or record.error:
                    stats["errors"] += 1
                    error_records.append(record.number)
                    continue
                items = list(_texts(record.data, options.settings.fields, options.settings.role))
                verdicts = _check(guard, items, None)
                data, flagged, failed = record.data, False, False
                for (name, index, _, text), verdict in zip(items, verdicts, strict=True):
                    if not text.strip():
                        continue
                    if not isinstance(verdict, Verdict):
                        failed = True
                        break
                    if verdict.spans:
                        out = pseudonymize_spans(text, verdict.spans, vault, styles)
                        _put(data, name, index, out.text)
                        stats["replaced"] += out.replaced
                    flagged = flagged or not verdict.safe
                if failed:
                    stats["errors"] += 1
                    error_records.append(record.number)
                    continue
                stats["flagged"] += flagged
                rows.append(data)
            writer.write(rows)
            writer.commit()
            stats["written"] += len(rows)
    finally:
        writer.close()
        reader.close()
    save_vault_file(vault_path, vault, key)
    report = {"report_version": 1, "input": str(options.input), "complete": True, "mode": "pseudonymize",
              **stats, "error_records": error_records[:1000], "vault": {"file": str(vault_path),
                                                                       "values": len(vault),
                                                                       "new_values": len(vault) - before},
              "elapsed_s": round(time.monotonic() - started, 3)}
    vault.clear()
    write_json(options.report_path, report)
    logger.info("pseudonymized %d records, %d spans replaced", stats["records"], stats["replaced"])
    return report


def reid_file(options: ScanOptions, report_path: Path, *, fields: tuple[str, ...] = (), k: int = 5,
              l_min: int = 2, sensitive: str | None = None) -> dict[str, Any]:
    """The re-identification report of the input's records (see guard.reid), written to `report_path`."""
    guard = options.engine.build()
    personal = [c for c in CATEGORY_CODES if c.startswith("P")]
    # every span the detectors and the model find, whatever the policy's thresholds: quasi-identifiers
    # count even where no category would be flagged
    overrides = Overrides(thresholds=dict.fromkeys(personal, 0.0), actions=dict.fromkeys(personal, "flag"),
                          return_masked=False)
    analysis = ReidAnalysis(fields=fields)
    fmt = detect_format(options.input, options.format)
    reader = open_reader(options.input, fmt, encoding=options.encoding)
    unreadable: list[int] = []
    try:
        for batch in _batches(reader.records(ResumeAt())):
            for record in batch:
                if record.data is None or record.error:
                    unreadable.append(record.number)
                    continue
                items = list(_texts(record.data, options.settings.fields, options.settings.role))
                quasi: dict[str, list[str]] = {}
                flags: set[str] = set()
                for (_, _, _, text), verdict in zip(items, _check(guard, items, overrides), strict=True):
                    if isinstance(verdict, Verdict):
                        for kind, values in quasi_identifiers(text, verdict.spans).items():
                            quasi.setdefault(kind, []).extend(values)
                        flags.update(c for c in verdict.categories if c.startswith("S"))
                for name in fields:
                    if name not in QI_TYPES and record.data.get(name) is not None:
                        quasi[name] = [str(record.data[name])]
                values = [str(record.data[sensitive])] if sensitive and record.data.get(sensitive) is not None \
                    else sorted(flags)
                analysis.add(record.number, quasi, values)
    finally:
        reader.close()
    report = {"report_version": 1, "input": str(options.input), "unreadable_records": unreadable[:1000],
              "sensitive": sensitive or "flagged PIPA sensitive categories (S1-S9)", **analysis.report(k, l_min)}
    write_json(report_path, report)
    return report
