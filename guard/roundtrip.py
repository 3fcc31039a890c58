"""The pseudonymize round trip for LLM calls: placeholders or fakes go to the LLM, real values come back.

`PseudonymSession(checker)` wraps one conversation's vault:
- `pseudonymize(text)`: the text is checked (a policy block raises BlockedError), and every span of the
  verdict (the categories the policy flags or masks) is replaced by its session pseudonym, in the style
  the policy chooses per category (guard.pseudonymize);
- `answer(text, context)`: the LLM's answer is brought to canonical placeholders (a fake is never
  mistaken for personal data), checked as an answer (new personal data the LLM wrote is masked or
  blocked as usual), then restored with the real values (guard.restore);
- `answer_moderator(moderator)`: the same for a streamed answer, stage by stage, holding back a
  pseudonym split across chunks.

The LLM filters use it with `pseudonymize=True` (guard.filters: guard_llm, aguard_llm,
GuardedChatClient); `apply(verdict, text)` is the step they share. What the LLM receives never
holds a value the checker found; the vault stays in this process, bounded, and is dropped with the
session (`close()`), or after its TTL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guard.errors import BlockedError
from guard.pseudonymize import PseudonymStyle, pseudonymize_spans
from guard.restore import Restored, StreamRestorer, restore
from guard.stream import StreamUpdate
from guard.vault import Vault, VaultLimits
from guard.verdict import Action, Verdict

__all__ = ["PseudonymSession"]


def styles_of(checker: Any) -> Mapping[str, PseudonymStyle]:
    """The pseudonym styles of the checker's policy (Guard, AsyncGuard); none for a client (the sidecar's
    own policy is applied by its Pseudonymize RPC, not here): placeholders."""
    policy = getattr(checker, "policy", None)
    return dict(getattr(policy, "pseudonyms", {}) or {})


class PseudonymSession:
    """One conversation's pseudonyms, over a checker (Guard, AsyncGuard, GuardClient, AsyncGuardClient).

    Args:
        checker: what checks the texts (its policy's `[pseudonymize]` styles are used when it has one).
        styles: category code -> style, instead of the checker's policy.
        vault: the vault to use (default: a new one with `limits` and `key`).
        limits: the session's bounds and TTL.
        key: seal the values in memory (guard.vault.load_vault_key).
    """

    def __init__(self, checker: Any = None, *, styles: Mapping[str, PseudonymStyle | str] | None = None,
                 vault: Vault | None = None, limits: VaultLimits | None = None, key: bytes | None = None) -> None:
        self.checker = checker
        self.styles = {c: PseudonymStyle(s) for c, s in (styles if styles is not None else styles_of(checker)).items()}
        self.vault = vault if vault is not None else Vault(limits=limits, key=key)
        self.restored = 0
        self.unknown = 0

    def __repr__(self) -> str:
        return f"PseudonymSession({self.vault!r})"

    def apply(self, verdict: Verdict | None, text: str, stage: str = "prompt", *, block: bool = True) -> str:
        """`text` pseudonymized by `verdict`'s spans; BlockedError when the policy blocks it (unless not
        `block`: an answer already shown, going back as history); unchanged when the verdict is None
        (the guard failed open)."""
        if verdict is None:
            return text
        if block and verdict.action == Action.BLOCK.value:
            raise BlockedError(verdict, stage)
        return pseudonymize_spans(text, verdict.spans, self.vault, self.styles).text

    def pseudonymize(self, text: str, *, role: str = "user", context: str | None = None) -> str:
        """Check `text` with the checker and pseudonymize it (BlockedError on a block)."""
        return self.apply(self.checker.check(text, role=role, context=context), text)

    async def apseudonymize(self, text: str, *, role: str = "user", context: str | None = None) -> str:
        return self.apply(await self.checker.check(text, role=role, context=context), text)

    def canonical(self, answer: str) -> str:
        """The answer with every pseudonym (fakes, reformatted placeholders) as its canonical placeholder."""
        return restore(answer, self.vault, to="placeholder").text

    def restore(self, text: str) -> Restored:
        """The real values put back (unknown placeholders left, counted)."""
        out = restore(text, self.vault)
        self.restored += out.restored
        self.unknown += out.unknown
        return out

    def answer(self, verdict: Verdict | None, canonical: str) -> str:
        """The answer to show: `canonical` (see `canonical`) masked or blocked by `verdict`, then restored."""
        if verdict is not None and verdict.action == Action.BLOCK.value:
            raise BlockedError(verdict, "answer")
        if verdict is not None and verdict.action == Action.MASK.value and verdict.masked is not None:
            canonical = verdict.masked
        return self.restore(canonical).text

    def check_answer(self, answer: str, *, context: str | None = None) -> str:
        """Canonicalize, check as an answer, restore (the synchronous checker's way)."""
        canonical = self.canonical(answer)
        return self.answer(self.checker.check(canonical, role="assistant", context=context), canonical)

    def answer_moderator(self, moderator: Any) -> _RestoringModerator:
        """A stream moderator that canonicalizes each chunk, feeds `moderator` (sync), restores what it
        releases."""
        return _RestoringModerator(moderator, self)

    def aanswer_moderator(self, moderator: Any) -> _AsyncRestoringModerator:
        return _AsyncRestoringModerator(moderator, self)

    def close(self) -> None:
        """Forget every value now."""
        self.vault.clear()


class _RestoringModerator:
    """canonicalize -> moderate -> restore, each stage holding back what it must."""

    def __init__(self, moderator: Any, session: PseudonymSession) -> None:
        self.inner = moderator
        self.session = session
        self.canon = StreamRestorer(session.vault, to="placeholder")
        self.back = StreamRestorer(session.vault)
        self.start = 0

    def _out(self, update: StreamUpdate, final: bool) -> StreamUpdate:
        if update.blocked:
            return update
        text = self.back.feed(update.text) + (self.back.finish() if final else "")
        if final:
            self.session.restored += self.back.restored
            self.session.unknown += self.back.unknown
        out = StreamUpdate(text, self.start, [], self.canon.held + update.held + self.back.held, False,
                           update.verdict)
        self.start += len(text)
        return out

    def feed(self, chunk: str) -> StreamUpdate:
        return self._out(self.inner.feed(self.canon.feed(chunk)), False)

    def finish(self) -> StreamUpdate:
        rest = self.canon.finish()
        head = self.inner.feed(rest) if rest else None
        if head is not None and head.blocked:
            return self.inner.finish()  # type: ignore[no-any-return]
        last = self.inner.finish()
        if head is not None and not last.blocked:
            last = StreamUpdate(head.text + last.text, head.start, last.spans, last.held, False, last.verdict)
        return self._out(last, True)

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()


class _AsyncRestoringModerator(_RestoringModerator):
    async def feed(self, chunk: str) -> StreamUpdate:  # type: ignore[override]
        return self._out(await self.inner.feed(self.canon.feed(chunk)), False)

    async def finish(self) -> StreamUpdate:  # type: ignore[override]
        rest = self.canon.finish()
        head = await self.inner.feed(rest) if rest else None
        if head is not None and head.blocked:
            return await self.inner.finish()  # type: ignore[no-any-return]
        last = await self.inner.finish()
        if head is not None and not last.blocked:
            last = StreamUpdate(head.text + last.text, head.start, last.spans, last.held, False, last.verdict)
        return self._out(last, True)
