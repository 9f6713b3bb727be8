"""Local servers that speak the APIs of providers that have no local server of their own."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Where every local server listens: the services must be allowed to reach it
# (Settings.private_hosts_allowed), as a deployment allows an on-premises server.
LOCAL_SERVERS = frozenset({"127.0.0.1"})


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler answering JSON, quietly (the test output is ours)."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs

    def log_message(self, *args) -> None:
        pass

    def reply(self, status: int, body: dict | None = None, headers: dict[str, str] | None = None) -> None:
        self.raw_body()  # an unread request body would be taken for the next request on this connection
        payload = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def parse_request(self) -> bool:
        self.__dict__.pop("_raw_body", None)  # one handler serves every request of a connection
        return super().parse_request()

    def raw_body(self) -> bytes:
        if not hasattr(self, "_raw_body"):
            self._raw_body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        return self._raw_body

    def body(self) -> dict | None:
        raw = self.raw_body()
        return json.loads(raw) if raw else None


class LocalServer:
    """Serves `handler` on a free port of 127.0.0.1 in a thread; the handler sees `self.state`.

    With `tls` (a server SSLContext) it speaks HTTPS, for clients that refuse plain HTTP. Another
    loopback `host` (127.0.0.2) stands for a machine of the network the services run in.
    """

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        state: Any,
        tls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ):
        self.state = state
        bound = type(f"Bound{handler.__name__}", (handler,), {"state": state})
        self.server = ThreadingHTTPServer((host, 0), bound)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls is not None else "http"
        # A short poll: shutdown() waits for the loop's next look, half a second by default.
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class ForwardingHandler(JsonHandler):
    """Forwards each request to `state["upstream"]` (host:port, a local Radicale) and its answer
    back, unzipped, noting each (method, status) in `state["answers"]`. A subclass may answer a
    request itself (`intercept`) or edit an answer's body (`adjust`)."""

    def intercept(self, body: bytes) -> bool:
        return False

    def adjust(self, content: bytes) -> bytes:
        return content

    def forward(self) -> None:
        body = self.raw_body()
        if self.intercept(body):
            return
        upstream = http.client.HTTPConnection(self.state["upstream"], timeout=10)
        headers = {
            name: value
            for name, value in self.headers.items()
            if name.lower() not in ("host", "accept-encoding")
        }
        upstream.request(self.command, self.path, body=body, headers=headers)
        answer = upstream.getresponse()
        content = self.adjust(answer.read())
        upstream.close()
        self.state.setdefault("answers", []).append((self.command, answer.status))
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(name, value)  # WWW-Authenticate among them
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = do_OPTIONS = forward


class RedirectHandler(JsonHandler):
    """Answers any request with a 307 to `state["target"]` (a redirect that keeps the method)."""

    def redirect(self) -> None:
        self.reply(307, headers={"Location": self.state["target"]})

    do_GET = do_POST = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = redirect


class RecordingHandler(JsonHandler):
    """Answers any request with 200 and an empty JSON object, and keeps its path in `state`."""

    def record(self) -> None:
        self.state.append(self.path)
        self.reply(200, {})

    do_GET = do_POST = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = record


class BrokenPageHandler(JsonHandler):
    """Answers any request with 500 and an HTML page of 100 KB holding NUL bytes: a server that
    a user chose (their own CalDAV server, say) may answer anything."""

    def broken_page(self) -> None:
        self.raw_body()
        page = b"<html><body>\x00\x00 Internal error " + b"x" * 100_000 + b"</body></html>"
        self.send_response(500)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    do_GET = do_POST = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = do_OPTIONS = broken_page


def redirect_into_the_network() -> tuple[LocalServer, LocalServer]:
    """A server on 127.0.0.1 (allowed, as the tests allow it) that redirects every request to a
    machine inside the network (127.0.0.2, not allowed), which records what reaches it."""
    inside = LocalServer(RecordingHandler, [], host="127.0.0.2")
    return LocalServer(RedirectHandler, {"target": f"{inside.base_url}/latest/meta-data/"}), inside


PUBLIC_ADDRESS = "17.253.144.10"  # what the name answers when first looked up


def rebinding_name(monkeypatch, address_after: str, public_answers: int = 1) -> str:
    """A host name whose DNS answer changes once it has been checked (DNS rebinding): its first
    `public_answers` lookups answer a public address, every later one `address_after`. Returns
    the name."""
    name = "rebinding.example"
    lookup = socket.getaddrinfo
    answered = []

    def getaddrinfo(host, *args, **kwargs):
        if host != name:
            return lookup(host, *args, **kwargs)
        answered.append(host)
        return lookup(PUBLIC_ADDRESS if len(answered) <= public_answers else address_after, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return name


class StalledServer:
    """Takes connections on a free port of 127.0.0.1 and never answers: a provider that hangs
    (after the TCP handshake, before its greeting or its HTTP answer). Closing it ends them all."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connected = threading.Event()  # some client is waiting for an answer
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._hold, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def connections(self) -> int:
        """How many connections clients have made."""
        return len(self._held)

    def _hold(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            self._held.append(connection)
            self.connected.set()

    def __enter__(self) -> StalledServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() that close() alone would not
        self.listener.close()
        for connection in self._held:
            connection.close()
