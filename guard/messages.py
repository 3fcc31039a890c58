"""The texts inside OpenAI-style chat messages, and a memory of the messages already checked.

A chat request carries text in more places than `content`: content may be a list of parts (text,
images, audio), an assistant turn may carry tool-call arguments, and every role (system, developer,
user, assistant, tool) reaches the model. `message_texts` finds every text with its path inside the
message, `with_texts` writes the safe versions back into a copy. Parts that are not text (images,
audio, files) are not read: this is a text guard.

`CheckedMessages` remembers which messages were checked, so that a conversation's history is checked
once and not on every call. It keeps a keyed digest of each message (an HMAC under a random key that
lives only in this process: a plain hash of a short message, an RRN alone, could be reversed by trying
every number) and, for a message that was masked, its masked texts: what was sent to the LLM, never the
original. A message that was blocked, or passed unchecked because the guard failed open, is not
remembered.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guard.errors import InputError

__all__ = ["CheckedMessages", "MessageText", "as_message", "judged_role", "message_texts", "with_texts"]

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class MessageText:
    """One text of a message and where it sits: ("content",), ("content", 2, "text"),
    ("tool_calls", 0, "function", "arguments")."""

    path: Path
    text: str


def as_message(message: object, index: int) -> dict[str, Any]:
    """A message as a plain dict (a deep copy): a mapping, or an SDK object such as openai's
    ChatCompletionMessage (a pydantic model) that apps append to their history as it came back."""
    if isinstance(message, Mapping):
        return copy.deepcopy(dict(message))
    dump = getattr(message, "model_dump", None)
    if callable(dump):
        dumped = dump(exclude_none=True)
        if isinstance(dumped, dict):
            return dumped
    raise InputError(f"message {index} is not a mapping of role and content")


def judged_role(role: object) -> str:
    """The guard's role for a chat role: an assistant turn is an answer, every other turn (system,
    developer, user, tool, function) is input to the model."""
    return "assistant" if role == "assistant" else "user"


def message_texts(message: Mapping[str, Any], index: int) -> list[MessageText]:
    """Every text the model will read in `message`.

    Raises:
        InputError: content of a shape that cannot be read (it could not be checked, so it must not
            be sent).
    """
    found: list[MessageText] = []
    content = message.get("content")
    if isinstance(content, str):
        found.append(MessageText(("content",), content))
    elif isinstance(content, list):
        for i, part in enumerate(content):
            if isinstance(part, str):
                found.append(MessageText(("content", i), part))
            elif isinstance(part, Mapping) and isinstance(part.get("text"), str):
                found.append(MessageText(("content", i, "text"), part["text"]))
    elif content is not None:
        raise InputError(f"message {index}: content must be a string or a list of parts")
    for i, call in enumerate(message.get("tool_calls") or ()):
        arguments = _get(call, ("function", "arguments"))
        if isinstance(arguments, str):
            found.append(MessageText(("tool_calls", i, "function", "arguments"), arguments))
    arguments = _get(message, ("function_call", "arguments"))
    if isinstance(arguments, str):
        found.append(MessageText(("function_call", "arguments"), arguments))
    return found


def with_texts(message: dict[str, Any], edits: Mapping[Path, str]) -> dict[str, Any]:
    """`message` (already a copy) with the text at each path replaced."""
    for path, text in edits.items():
        target: Any = message
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = text
    return message


def _get(value: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


class CheckedMessages:
    """Messages already checked (by keyed digest) and what to send for each: the masked texts, or
    nothing when it passes as it is. Least recently used entries go first past `max_entries`.

    Args:
        max_entries: how many messages are remembered.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self._key = secrets.token_bytes(32)
        self._max = max_entries
        self._entries: OrderedDict[bytes, dict[Path, str]] = OrderedDict()
        self._lock = threading.Lock()  # a sync client may be shared by threads

    def digest(self, role: str, texts: Sequence[MessageText], context: str) -> bytes:
        """The key of a message: its role, its texts and their places, and the prompt it answers."""
        canonical = json.dumps([role, context, [[list(t.path), t.text] for t in texts]], ensure_ascii=False)
        return hmac.new(self._key, canonical.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def get(self, key: bytes) -> dict[Path, str] | None:
        """What to send instead of the message's texts ({} for nothing), or None if never checked."""
        with self._lock:
            edits = self._entries.get(key)
            if edits is not None:
                self._entries.move_to_end(key)
            return edits

    def put(self, key: bytes, edits: dict[Path, str]) -> None:
        with self._lock:
            self._entries[key] = edits
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
