"""Where the demo's Alertmanager delivers: a webhook receiver on 127.0.0.1 that keeps every notification
(Alertmanager's webhook JSON) in arrival order, and says in a few words what arrived.

The tests' Alertmanager runs deliver to the same receiver (tests/support/alertmanager_server.py).
Invariants: it answers every POST with 200 once the body is kept (a body that is not JSON is kept as
`{"unreadable": ...}`, so nothing delivered goes unseen); it never follows or calls anything.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .summary import named

MAX_BODY = 1 << 20  # Alertmanager's notifications are a few KiB; a larger body is cut here


class Inbox:
    def __init__(self) -> None:
        self._notifications: list[dict] = []
        self._lock = threading.Lock()
        received, lock = self._notifications, self._lock

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(min(int(self.headers.get("Content-Length") or 0), MAX_BODY))
                try:
                    note = json.loads(body)
                except ValueError:
                    note = {"unreadable": body[:200].decode(errors="replace")}
                with lock:
                    received.append(note)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def received(self) -> list[dict]:
        with self._lock:
            return list(self._notifications)

    def __enter__(self) -> Inbox:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def describe(note: dict) -> str:
    """`firing LitellmHighErrorRate{provider="mistral"} to litellm-ticket`: one notification in a line."""
    if "unreadable" in note:
        return "unreadable notification"
    name = named(note.get("groupLabels") or {}, ("provider", "model", "deployment", "instance"), "?")
    return f"{note.get('status', '?')} {name} to {note.get('receiver', '?')}"


def summary(notes: list[dict]) -> str:
    """`none`, or how many arrived and the last of them."""
    if not notes:
        return "none"
    return f"{len(notes)} (last: {describe(notes[-1])})"
