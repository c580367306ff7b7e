#!/usr/bin/env python3
"""A tiny stand-in for the model APIs that Claude Code and Codex CLI talk to, on 127.0.0.1.

It speaks just enough of

* the Anthropic Messages API (``POST /v1/messages``, streamed as server-sent events:
  ``message_start``, ``content_block_start`` / ``content_block_delta`` / ``content_block_stop``,
  ``message_delta``, ``message_stop``; or one JSON message when ``stream`` is false), and
* the OpenAI Responses API (``POST /v1/responses``, SSE: ``response.created``,
  ``response.output_item.added`` / ``response.output_item.done``, ``response.completed``),
* the OpenAI Chat Completions API (``POST /v1/chat/completions``, streamed as ``data:``
  chunks and ``data: [DONE]``; aider through litellm), where the "tool call" is a reply with
  a ```bash block that aider offers to run,

to script one agent turn: the first answer to a conversation asks to run ``command`` with the
agent's shell tool (Claude Code's ``Bash``; Codex's ``shell`` / ``shell_command`` /
``exec_command``, whichever the CLI offers), and once the request carries that tool's result,
the answer is the text ``reply`` ("Done."). Side requests without tools (titles, summaries,
quota checks) get a short text answer. Anything else gets an empty but valid answer
(``GET /v1/models`` lists one model; other paths return ``{}``).

Every request is recorded (method, path, headers, JSON body) in ``server.requests`` and, with
``log_path``, appended to a JSON-lines file, so a run against a real CLI shows exactly what it
asked for. Stdlib only.

    with MockModelServer(command="rm -rf build/") as server:
        env["ANTHROPIC_BASE_URL"] = server.url          # http://127.0.0.1:PORT
        ...                                              # Codex: base_url = server.url + "/v1"

Run it standalone: ``python tests/programs/mock_model_server.py --command 'ls' --log req.jsonl``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MODEL = "mock-model"
SECRET_HEADERS = {"authorization", "x-api-key", "cookie"}


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class MockModelServer:
    """Scripted model server; ``command`` and ``reply`` may be changed between runs.

    ``command=None``: no tool call, the first answer is ``reply`` (e.g. a fenced code block).
    """

    def __init__(
        self,
        command: str = "rm -rf build/",
        reply: str = "Done.",
        reason: str = "Remove the build directory",
        escalate: bool = True,
        port: int = 0,
        log_path: str | Path | None = None,
    ):
        self.command = command
        self.reply = reply
        self.reason = reason
        self.escalate = escalate
        self.log_path = Path(log_path) if log_path else None
        self.requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._chat_answers = 0
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MockModelServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> MockModelServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- what was asked ------------------------------------------------------------------------
    def requests_to(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"].split("?")[0].endswith(path)]

    def tool_results(self) -> list[str]:
        """Text of every tool result the CLIs sent back (Anthropic and Responses shapes)."""
        out = []
        for request in self.requests:
            body = request.get("body") or {}
            for message in body.get("messages") or []:
                content = message.get("content")
                if isinstance(content, list):
                    for block in content:
                        if isinstance(block, dict) and block.get("type") == "tool_result":
                            out.append(_text_of(block.get("content")))
            for item in body.get("input") or []:
                if isinstance(item, dict) and item.get("type") == "function_call_output":
                    out.append(_text_of(item.get("output")))
        return out

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)
            if self.log_path:
                with self.log_path.open("a") as f:
                    f.write(json.dumps(entry) + "\n")

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}"

    # -- HTTP ----------------------------------------------------------------------------------
    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _body(self) -> Any:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if not raw:
                    return None
                try:
                    return json.loads(raw)
                except ValueError:
                    return {"_raw": raw[:2000].decode("utf-8", "replace")}

            def _log(self, body: Any) -> None:
                headers = {
                    k: ("<redacted>" if k.lower() in SECRET_HEADERS else v)
                    for k, v in self.headers.items()
                }
                server._record(
                    {
                        "time": time.time(),
                        "method": self.command,
                        "path": self.path,
                        "headers": headers,
                        "body": body,
                    }
                )

            def _json(self, status: int, data: Any) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, chunks: list[bytes]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in chunks:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                self.close_connection = True

            def do_GET(self):
                self._log(None)
                path = self.path.split("?")[0]
                if path.endswith("/models"):
                    self._json(
                        200,
                        {
                            "object": "list",
                            "data": [
                                {
                                    "id": MODEL,
                                    "object": "model",
                                    "type": "model",
                                    "display_name": "Mock",
                                    "created": 0,
                                    "created_at": "2025-01-01T00:00:00Z",
                                    "owned_by": "streamtap",
                                }
                            ],
                            "models": [],
                            "has_more": False,
                        },
                    )
                else:
                    self._json(200, {})

            def do_HEAD(self):
                self._log(None)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self):
                body = self._body()
                self._log(body)
                path = self.path.split("?")[0]
                body = body if isinstance(body, dict) else {}
                if path.endswith("/messages/count_tokens"):
                    self._json(200, {"input_tokens": 42})
                elif path.endswith("/messages"):
                    self._anthropic(body)
                elif path.endswith("/responses"):
                    self._responses(body)
                elif path.endswith("/chat/completions"):
                    self._chat_completions(body)
                else:
                    self._json(200, {})

            # Anthropic Messages API ---------------------------------------------------------
            def _anthropic(self, body: dict) -> None:
                tools = [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
                messages = body.get("messages") or []
                if "Bash" in tools and server.command and not _anthropic_has_tool_result(messages):
                    block = {
                        "type": "tool_use",
                        "id": server._next_id("toolu"),
                        "name": "Bash",
                        "input": {"command": server.command}
                        | ({"description": server.reason} if server.reason else {}),
                    }
                    stop = "tool_use"
                else:
                    text = server.reply if tools else "Mock"
                    block = {"type": "text", "text": text}
                    stop = "end_turn"
                usage = {
                    "input_tokens": 12,
                    "output_tokens": 7,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                }
                message = {
                    "id": server._next_id("msg"),
                    "type": "message",
                    "role": "assistant",
                    "model": body.get("model") or MODEL,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {**usage, "output_tokens": 1},
                }
                if not body.get("stream"):
                    self._json(
                        200, {**message, "content": [block], "stop_reason": stop, "usage": usage}
                    )
                    return
                if block["type"] == "tool_use":
                    start = {**block, "input": {}}
                    delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
                else:
                    start = {"type": "text", "text": ""}
                    delta = {"type": "text_delta", "text": block["text"]}
                self._stream(
                    [
                        sse("message_start", {"type": "message_start", "message": message}),
                        sse(
                            "content_block_start",
                            {"type": "content_block_start", "index": 0, "content_block": start},
                        ),
                        sse("ping", {"type": "ping"}),
                        sse(
                            "content_block_delta",
                            {"type": "content_block_delta", "index": 0, "delta": delta},
                        ),
                        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
                        sse(
                            "message_delta",
                            {
                                "type": "message_delta",
                                "delta": {"stop_reason": stop, "stop_sequence": None},
                                "usage": {"output_tokens": usage["output_tokens"]},
                            },
                        ),
                        sse("message_stop", {"type": "message_stop"}),
                    ]
                )

            # OpenAI Responses API -----------------------------------------------------------
            def _responses(self, body: dict) -> None:
                items = body.get("input") or []
                tools = {
                    (t.get("name") or (t.get("function") or {}).get("name")): t
                    for t in body.get("tools") or []
                    if isinstance(t, dict)
                }
                response_id = server._next_id("resp")
                has_output = any(
                    isinstance(i, dict) and i.get("type") == "function_call_output" for i in items
                )
                call = (
                    None if has_output or not server.command else _codex_shell_call(tools, server)
                )
                if call:
                    name, arguments = call
                    item = {
                        "type": "function_call",
                        "id": server._next_id("fc"),
                        "call_id": server._next_id("call"),
                        "name": name,
                        "arguments": json.dumps(arguments),
                        "status": "completed",
                    }
                else:
                    item = {
                        "type": "message",
                        "id": server._next_id("msg"),
                        "role": "assistant",
                        "status": "completed",
                        "content": [
                            {"type": "output_text", "text": server.reply, "annotations": []}
                        ],
                    }
                usage = {
                    "input_tokens": 120,
                    "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens": 9,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": 129,
                }
                created = {"id": response_id, "object": "response", "status": "in_progress"}
                events = [
                    sse("response.created", {"type": "response.created", "response": created}),
                    sse(
                        "response.output_item.added",
                        {"type": "response.output_item.added", "output_index": 0, "item": item},
                    ),
                ]
                if item["type"] == "message":
                    events.append(
                        sse(
                            "response.output_text.delta",
                            {
                                "type": "response.output_text.delta",
                                "item_id": item["id"],
                                "output_index": 0,
                                "content_index": 0,
                                "delta": server.reply,
                            },
                        )
                    )
                events += [
                    sse(
                        "response.output_item.done",
                        {"type": "response.output_item.done", "output_index": 0, "item": item},
                    ),
                    sse(
                        "response.completed",
                        {
                            "type": "response.completed",
                            "response": {
                                **created,
                                "status": "completed",
                                "output": [item],
                                "usage": usage,
                            },
                        },
                    ),
                ]
                self._stream(events)

            # OpenAI Chat Completions (aider, through litellm) ---------------------------------
            def _chat_completions(self, body: dict) -> None:
                # aider has no tools: it offers to run the shell commands of a reply's
                # ```bash block. Its prompts carry few-shot assistant turns, so the server's
                # first answer (not the conversation's) suggests the command.
                with server._lock:
                    first = not server._chat_answers
                    server._chat_answers += 1
                if server.command and first:
                    text = f"Run this:\n\n```bash\n{server.command}\n```\n"
                else:
                    text = server.reply
                chunk = {
                    "id": server._next_id("chatcmpl"),
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body.get("model") or MODEL,
                }
                usage = {"prompt_tokens": 120, "completion_tokens": 9, "total_tokens": 129}
                if not body.get("stream"):
                    message = {"role": "assistant", "content": text}
                    choice = {"index": 0, "message": message, "finish_reason": "stop"}
                    self._json(
                        200,
                        {**chunk, "object": "chat.completion", "choices": [choice], "usage": usage},
                    )
                    return
                delta = {"role": "assistant", "content": text}
                last = {"index": 0, "delta": {}, "finish_reason": "stop"}
                self._stream(
                    [
                        _data(
                            {
                                **chunk,
                                "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                            }
                        ),
                        _data({**chunk, "choices": [last], "usage": usage}),
                        b"data: [DONE]\n\n",
                    ]
                )

        return Handler


def _data(obj: dict) -> bytes:
    return f"data: {json.dumps(obj, separators=(',', ':'))}\n\n".encode()


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_text_of(c.get("text", "")) for c in content if isinstance(c, dict))
    return json.dumps(content)


def _anthropic_has_tool_result(messages: list) -> bool:
    last = messages[-1] if messages else {}
    content = last.get("content") if isinstance(last, dict) else None
    return isinstance(content, list) and any(
        isinstance(b, dict) and b.get("type") == "tool_result" for b in content
    )


def _codex_shell_call(tools: dict[str, dict], server: MockModelServer) -> tuple[str, dict] | None:
    """The function call running the command with whichever shell tool Codex offered.

    With ``escalate`` (the default) the call asks to run outside the sandbox with a
    justification, which is what makes Codex ask the user under ``approval_policy =
    "on-request"``; the justification is shown as the prompt's "Reason:" line.
    """
    command, reason = server.command, server.reason
    escalate = {"sandbox_permissions": "require_escalated"} if server.escalate else {}
    if server.escalate and reason:
        escalate["justification"] = reason
    if "exec_command" in tools:  # Codex 0.171: unified exec
        return "exec_command", {"cmd": command, **escalate}
    if "shell_command" in tools:
        return "shell_command", {"command": command, **escalate}
    if "shell" in tools or tools:
        return "shell", {"command": ["bash", "-lc", command], **escalate}
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--command", default="rm -rf build/")
    parser.add_argument("--reply", default="Done.")
    parser.add_argument("--reason", default="Remove the build directory")
    parser.add_argument("--no-escalate", action="store_true", help="Codex: stay in the sandbox")
    parser.add_argument("--log", help="append every request as a JSON line here")
    args = parser.parse_args()
    server = MockModelServer(
        command=args.command,
        reply=args.reply,
        reason=args.reason,
        escalate=not args.no_escalate,
        port=args.port,
        log_path=args.log,
    ).start()
    print(f"listening on {server.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
