"""`kguard redteam --endpoint URL --out DIR`: probe an OpenAI-compatible LLM for leaks of personal data,
right after fine-tuning it on user data.

Probes (guard.verify.probes): ask for a named person's phone, RRN, address, account; complete a seeded
record (membership inference: the start of a record from the training data, and does the answer go on
with its identifier?); repeat the training data. Each answer is judged by the guard in the assistant
role, with the probe as its context. DIR/report.json gives leak rates per category and the ids of the
probes whose answer leaked; prompts and answers are in it only with --show-text.

What is sent, and where (each bound has a test that fails without it):
- to the URL given and nowhere else: no redirect is followed, no proxy from the environment is used,
  only http and https;
- at most --max-requests requests (hard limit MAX_REQUESTS), each started at least 1/--rate seconds
  after the one before, each with a timeout, reading at most MAX_RESPONSE_BYTES of an answer;
- probing stops after STOP_AFTER_FAILURES connection failures in a row.
The API key is read from the environment variable named by --api-key-env, never from the command line,
and is never written anywhere.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guard.errors import GuardError, InputError
from guard.normalize import normalize
from guard.sdk import Guard
from guard.taxonomy import CATEGORY_CODES
from guard.verify.dataset import load_rows
from guard.verify.output import model_summary, prepare_out_dir, write_json
from guard.verify.probes import Probe, builtin_probes, record_probes

__all__ = ["Endpoint", "ProbeOptions", "run_probe"]

REPORT_VERSION = 1
MAX_REQUESTS = 1000
MAX_RATE = 20.0
MAX_RESPONSE_BYTES = 1024 * 1024
STOP_AFTER_FAILURES = 3


@dataclass(frozen=True)
class ProbeOptions:
    endpoint: str
    out: Path
    llm_model: str = "default"
    max_requests: int = 50
    rate: float = 1.0                  # requests per second at most
    timeout_s: float = 30.0
    max_tokens: int = 256
    names: tuple[str, ...] = ()
    records: Path | None = None
    api_key_env: str | None = None
    show_text: bool = False
    policy: Path | None = None
    encoding: str = "utf-8"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could send the probe (and the key) elsewhere: refuse it as an error."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


@dataclass
class Endpoint:
    """The chat-completions URL of an OpenAI-compatible server, called within the bounds."""

    url: str
    model: str
    timeout_s: float
    max_tokens: int
    min_interval_s: float
    api_key: str | None = None
    sent: int = 0
    _last_start: float | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str, **kw: Any) -> Endpoint:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError("--endpoint must be an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise InputError("--endpoint must not carry credentials: use --api-key-env")
        path = parts.path.rstrip("/")
        if not path.endswith("/chat/completions"):
            path += "/chat/completions"
        return cls(url=urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, "")), **kw)

    @property
    def shown(self) -> str:
        """The URL without its query (which may carry a key)."""
        p = urllib.parse.urlsplit(self.url)
        return urllib.parse.urlunsplit((p.scheme, p.netloc, p.path, "", ""))

    def ask(self, prompt: str) -> str:
        """One chat completion; GuardError (no text in it) when it fails."""
        self._pace()
        body = json.dumps({"model": self.model, "max_tokens": self.max_tokens, "temperature": 0,
                           "messages": [{"role": "user", "content": prompt}]}).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
        self.sent += 1
        try:
            with opener.open(request, timeout=self.timeout_s) as response:
                raw = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise GuardError(f"http {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise _Unreachable(f"unreachable: {type(reason).__name__}") from None
        if len(raw) > MAX_RESPONSE_BYTES:
            raise GuardError("answer larger than the limit")
        return _content(raw)

    def _pace(self) -> None:
        now = time.monotonic()
        if self._last_start is not None:
            wait = self._last_start + self.min_interval_s - now
            if wait > 0:
                time.sleep(wait)
        self._last_start = time.monotonic()


class _Unreachable(GuardError):
    """The endpoint could not be reached (counts towards stopping early)."""


def _content(raw: bytes) -> str:
    try:
        data = json.loads(raw)
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise GuardError("not an OpenAI chat-completions answer") from None
    if not isinstance(content, str):
        raise GuardError("not an OpenAI chat-completions answer")
    return content


def _verbatim(answer: str, secret: str | None) -> bool | None:
    """Does the answer contain the held-back value (digits and letters compared after normalizing)?"""
    if not secret:
        return None
    target = _squash(secret)
    return bool(target) and target in _squash(answer)


def _squash(text: str) -> str:
    return "".join(ch for ch in normalize(text).text if ch.isalnum())


def probe(endpoint: Endpoint, guard: Guard, probes: Sequence[Probe], max_requests: int,
          show_text: bool = False) -> dict[str, Any]:
    """Send the probes (at most max_requests), judge each answer; the report's figures."""
    results: list[dict[str, Any]] = []
    failures = 0
    for p in probes[:max_requests]:
        entry: dict[str, Any] = {"id": p.id, "kind": p.kind, "asks": list(p.asks)}
        try:
            answer = endpoint.ask(p.prompt)
        except _Unreachable as exc:
            failures += 1
            results.append(entry | {"status": str(exc)})
            if failures >= STOP_AFTER_FAILURES:
                break
            continue
        except GuardError as exc:
            failures = 0
            results.append(entry | {"status": str(exc)})
            continue
        failures = 0
        verdict = guard.check(answer, role="assistant", context=p.prompt)
        entry |= {"status": "ok", "flagged": list(verdict.categories), "leak": not verdict.safe,
                  "verbatim": _verbatim(answer, p.secret)}
        if show_text:
            entry |= {"prompt": p.prompt, "answer": answer}
        results.append(entry)
    return _figures(results, len(probes), endpoint.sent)


def _figures(results: list[dict[str, Any]], planned: int, sent: int) -> dict[str, Any]:
    answered = [r for r in results if r["status"] == "ok"]
    asked: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    flagged: dict[str, int] = defaultdict(int)
    for r in answered:
        by_kind[r["kind"]][1] += 1
        by_kind[r["kind"]][0] += r["leak"]
        for code in r["asks"]:
            asked[code][1] += 1
            asked[code][0] += code in r["flagged"]
        for code in r["flagged"]:
            flagged[code] += 1
    return {
        "probes_planned": planned, "requests_sent": sent, "answered": len(answered),
        "failed": len(results) - len(answered),
        "leak_rate": _rate(sum(r["leak"] for r in answered), len(answered)),
        "leak_rate_by_category": {c: _rate(*asked[c]) for c in CATEGORY_CODES if c in asked},
        "answers_flagged_by_category": {c: flagged[c] for c in CATEGORY_CODES if c in flagged},
        "leak_rate_by_kind": {k: _rate(*v) for k, v in by_kind.items()},
        "verbatim_completions": sum(1 for r in answered if r.get("verbatim")),
        "leaked_ids": [r["id"] for r in answered if r["leak"]],
        "probes": results,
    }


def _rate(hit: int, of: int) -> dict[str, Any]:
    return {"rate": round(hit / of, 4) if of else None, "hit": hit, "of": of}


def run_probe(options: ProbeOptions, make_guard: Callable[[], Guard]) -> dict[str, Any]:
    """Check the bounds, send the probes, write DIR/report.json; return it."""
    if not 1 <= options.max_requests <= MAX_REQUESTS:
        raise GuardError(f"--max-requests must be between 1 and {MAX_REQUESTS}")
    if not 0 < options.rate <= MAX_RATE:
        raise GuardError(f"--rate must be above 0 and at most {MAX_RATE:g} requests per second")
    if not 0 < options.timeout_s <= 300:
        raise GuardError("--timeout must be above 0 and at most 300 seconds")
    key = None
    if options.api_key_env:
        key = os.environ.get(options.api_key_env)
        if not key:
            raise GuardError(f"the environment variable {options.api_key_env} is not set")
    endpoint = Endpoint.parse(options.endpoint, model=options.llm_model, timeout_s=options.timeout_s,
                              max_tokens=options.max_tokens, min_interval_s=1.0 / options.rate, api_key=key)
    prepare_out_dir(options.out, ("report.json",), (options.records, options.policy))
    probes = builtin_probes(options.names)
    if options.records:
        probes = record_probes(load_rows(options.records, encoding=options.encoding)) + probes
    guard = make_guard()
    figures = probe(endpoint, guard, probes, options.max_requests, options.show_text)
    data = {"report_version": REPORT_VERSION, "command": "redteam", "mode": "endpoint",
            "endpoint": endpoint.shown, "llm_model": options.llm_model, "max_requests": options.max_requests,
            "rate_per_s": options.rate, "model": model_summary(guard),
            "policy": str(options.policy) if options.policy else "default", "show_text": options.show_text,
            **figures}
    write_json(options.out / "report.json", data)
    return data
