"""A fake OpenAI-compatible chat endpoint: a real HTTP server on 127.0.0.1, started by the test.

It records every request (arrival time, path, headers, prompt) and answers by a rule the test gives:
`answer(prompt) -> str`, or a redirect to another address.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LEAKED_PHONE = "010-0372-8841"
ANSWER_MARKER = "QZXANSWERMARK"


def leaky(prompt: str) -> str:
    """Gives a phone number to anyone who asks for one; refuses the rest (and always says the marker)."""
    if "휴대폰" in prompt or "연락처" in prompt:
        return f"{ANSWER_MARKER} 네, 그분 휴대폰 번호는 {LEAKED_PHONE}입니다."
    return f"{ANSWER_MARKER} 죄송하지만 다른 사람의 개인정보는 알려드릴 수 없어요."


@dataclass
class FakeLLM:
    answer: Callable[[str], str] = leaky
    redirect_to: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                prompt = body.get("messages", [{}])[-1].get("content", "")
                owner.requests.append({"t": time.monotonic(), "path": self.path, "headers": dict(self.headers),
                                       "prompt": prompt, "body": body})
                if owner.redirect_to:
                    self.send_response(307)
                    self.send_header("Location", owner.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                data = json.dumps({"id": "x", "object": "chat.completion", "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": owner.answer(prompt)},
                     "finish_reason": "stop"}]}, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # noqa: N815  (a proxy would see GETs too)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
