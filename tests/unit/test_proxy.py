"""The reverse proxy against a real model server: bytes untouched, one call per exchange, fail-open."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest

from agent.proxy import ProxyServer
from agent.sampling import Sampler
from agent.settings import ProxySettings
from tests.agent.model_server import ModelServer
from tests.agent.running import LoopThread, RecordingCalls
from tests.helpers import wait_until


class Counting:
    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.errors: dict[str, int] = {}
        self.tunnels: dict[str, int] = {}

    def call_done(self, status_class: str, latency_seconds: float) -> None:
        self.calls[status_class] = self.calls.get(status_class, 0) + 1

    def upstream_error(self, reason: str) -> None:
        self.errors[reason] = self.errors.get(reason, 0) + 1

    def tunnelled(self, reason: str) -> None:
        self.tunnels[reason] = self.tunnels.get(reason, 0) + 1


def start_proxy(
    loop: LoopThread, upstream_port: int, **settings
) -> tuple[ProxyServer, RecordingCalls, Counting]:
    sink, observer = RecordingCalls(), Counting()
    sampler = Sampler(settings.pop("sample_fraction", 1.0))
    proxy = ProxyServer(
        ProxySettings(listen_host="127.0.0.1", listen_port=0, upstream_port=upstream_port, **settings),
        sink,
        sampler=sampler,
        observer=observer,
    )
    loop.call(proxy.start)
    return proxy, sink, observer


@pytest.fixture
def proxied(loop, model):
    proxy, sink, observer = start_proxy(loop, model.port, max_capture_bytes=4096)
    yield proxy, sink, observer
    loop.call(proxy.close)


_OPEN: list[http.client.HTTPConnection] = []


@pytest.fixture(autouse=True)
def _close_connections():
    yield
    while _OPEN:
        _OPEN.pop().close()


def connect(port: int) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    _OPEN.append(conn)
    return conn


def post(port: int, path: str, body: bytes, headers: dict[str, str] | None = None, conn=None):
    conn = conn or connect(port)
    conn.request("POST", path, body=body, headers={"content-type": "application/json", **(headers or {})})
    response = conn.getresponse()
    return response.status, response.read(), response, conn


def comparable(response: http.client.HTTPResponse) -> list[tuple[str, str]]:
    """Headers but Date (it moves) and X-Request-Id (added by the agent)."""
    return [(k.lower(), v) for k, v in response.getheaders() if k.lower() not in ("date", "x-request-id")]


def test_bodies_and_headers_pass_untouched_and_each_call_is_reported(proxied, model):
    proxy, sink, _ = proxied
    body = json.dumps({"instances": [{"x": 1.0, "y": 2.0}, {"x": 3.0, "y": 4.0}]}).encode()
    direct = post(model.port, "/v1/models/m:predict", body)
    via = post(proxy.port, "/v1/models/m:predict", body)
    assert via[0] == direct[0] == 200
    assert via[1] == direct[1]
    assert comparable(via[2]) == comparable(direct[2])
    assert model.bodies[-1] == model.bodies[-2] == body
    wait_until(lambda: len(sink.calls) == 1, 5, what="the call")
    call = sink.calls[0]
    assert call.request_body == body and call.response_body == via[1]
    assert call.status == 200 and call.method == "POST" and call.path == "/v1/models/m:predict"
    assert call.request_bytes == len(body) and call.response_bytes == len(via[1])
    assert 0 < call.ttfb_seconds <= call.latency_seconds
    assert not call.streamed and not call.too_large


def test_a_request_id_is_added_when_absent_and_kept_when_given(proxied, model):
    proxy, sink, _ = proxied
    _, _, response, conn = post(proxy.port, "/echo", b"{}")
    given = response.getheader("x-request-id")
    assert given and model.seen_ids[-1] == given  # the model and the client see the same id
    post(proxy.port, "/echo", b"{}", {"X-Request-Id": "abc-123"}, conn)
    assert model.seen_ids[-1] == "abc-123"
    wait_until(lambda: len(sink.calls) == 2, 5, what="the calls")
    assert [c.request_id for c in sink.calls] == [given, "abc-123"]


def test_connections_to_the_model_are_kept_alive_and_reused(proxied, model):
    proxy, _sink, _ = proxied
    conn = None
    for _ in range(20):
        *_, conn = post(proxy.port, "/echo", b"{}", conn=conn)
    other = None
    for _ in range(5):
        *_, other = post(proxy.port, "/echo", b"{}", conn=other)
    assert proxy.pool.opened == 1


def test_non_2xx_answers_are_forwarded_and_reported(proxied, model):
    proxy, sink, observer = proxied
    status, body, *_ = post(proxy.port, "/fail", b'{"instances": [[1, 2]]}')
    assert (status, body) == (500, b'{"error": "the model failed"}')
    wait_until(lambda: len(sink.calls) == 1, 5, what="the call")
    assert sink.calls[0].status == 500 and observer.calls == {"5xx": 1}


def test_binary_non_utf8_and_malformed_bodies_pass_untouched(proxied, model):
    proxy, sink, _ = proxied
    for body in (bytes(range(256)) * 4, "é".encode("latin-1") * 10, b'{"instances": [1, 2'):
        status, echoed, *_ = post(proxy.port, "/echo", body, {"content-type": "application/octet-stream"})
        assert status == 200 and echoed == body
    wait_until(lambda: len(sink.calls) == 3, 5, what="the calls")


def test_bodies_over_the_capture_bound_are_forwarded_whole_and_flagged(proxied, model):
    proxy, sink, _ = proxied
    body = b"x" * 100_000  # the fixture's bound is 4096
    status, echoed, *_ = post(proxy.port, "/echo", body)
    assert status == 200 and echoed == body
    wait_until(lambda: len(sink.calls) == 1, 5, what="the call")
    call = sink.calls[0]
    assert call.too_large and call.request_body is None and call.response_body is None
    assert call.request_bytes == call.response_bytes == len(body)


def test_a_chunked_request_body_reaches_the_model_whole(proxied, model):
    proxy, sink, _ = proxied
    conn = connect(proxy.port)
    conn.request("POST", "/echo", body=iter([b'{"a": ', b"1}"]), encode_chunked=True)
    response = conn.getresponse()
    assert response.read() == b'{"a": 1}'
    wait_until(lambda: len(sink.calls) == 1, 5, what="the call")
    assert sink.calls[0].request_body == b'{"a": 1}'


def test_a_streamed_response_reaches_the_client_chunk_by_chunk(proxied, model):
    proxy, sink, _ = proxied
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as client:
        client.sendall(b"POST /stream HTTP/1.1\r\nHost: m\r\nContent-Length: 2\r\n\r\n{}")
        received = b""
        while b"token0" not in received:
            received += client.recv(65536)
        # The first token is here while the model still holds the others back.
        assert not model.release_stream.is_set()
        assert b"token1" not in received
        model.release_stream.set()
        while not received.endswith(b"0\r\n\r\n"):
            received += client.recv(65536)
    assert received.index(b"token0") < received.index(b"token1") < received.index(b"token2")
    assert b"transfer-encoding: chunked" in received.lower()
    wait_until(lambda: len(sink.calls) == 1, 5, what="the call")
    call = sink.calls[0]
    assert call.streamed
    assert call.response_body == b"".join(f"data: token{i}\n\n".encode() for i in range(3))
    assert call.ttfb_seconds < call.latency_seconds


def test_head_requests_end_at_the_head(proxied, model):
    proxy, _sink, _ = proxied
    conn = connect(proxy.port)
    conn.request("HEAD", "/anything")
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("content-length") == "1234"
    assert response.read() == b""
    *_, conn = post(proxy.port, "/echo", b"after", conn=conn)  # the connection still works


def test_bytes_that_are_not_http_get_the_models_own_answer(proxied, model):
    proxy, _, observer = proxied

    def exchange(port: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
            return data

    direct, via = exchange(model.port), exchange(proxy.port)
    strip = lambda raw: b"\n".join(line for line in raw.split(b"\n") if not line.lower().startswith(b"date:"))  # noqa: E731
    assert direct and strip(via) == strip(direct)
    assert observer.tunnels == {"not_http": 1}


def test_sampling_captures_the_chosen_share_but_counts_every_call(loop, model):
    proxy, sink, observer = start_proxy(loop, model.port, sample_fraction=0.5)
    try:
        conn = None
        ids = [f"id-{i}" for i in range(200)]
        for request_id in ids:
            *_, conn = post(proxy.port, "/echo", b"{}", {"x-request-id": request_id}, conn=conn)
        chosen = [i for i in ids if Sampler(0.5)(i)]
        wait_until(lambda: len(sink.calls) == len(chosen), 5, what="the sampled calls")
        assert [c.request_id for c in sink.calls] == chosen
        assert observer.calls == {"2xx": 200}
    finally:
        loop.call(proxy.close)


def _outcome(port: int) -> str:
    try:
        post(port, "/echo", b"{}")
    except (ConnectionError, http.client.HTTPException) as exc:
        return f"connection error ({type(exc).__name__})"
    return "answer"


def test_a_model_that_is_down_looks_the_same_through_the_agent(loop):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    proxy, sink, observer = start_proxy(loop, dead)
    try:
        direct, via = _outcome(dead), _outcome(proxy.port)
        assert direct.startswith("connection error") and via.startswith("connection error")
        assert observer.errors == {"connect": 1} and observer.calls == {"error": 1}
        assert sink.calls == []
    finally:
        loop.call(proxy.close)


def test_a_model_that_is_down_can_answer_502_instead(loop):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    proxy, _, _ = start_proxy(loop, dead, upstream_unreachable="502")
    try:
        status, body, *_ = post(proxy.port, "/echo", b"{}")
        assert status == 502 and b"not reachable" in body
    finally:
        loop.call(proxy.close)


def test_a_kept_alive_connection_the_model_closed_is_retried_transparently(loop):
    model = ModelServer().start()
    port = model.port
    proxy, sink, observer = start_proxy(loop, port)
    try:
        assert post(proxy.port, "/echo", b"one")[1] == b"one"
        model.stop()  # closes the kept-alive connection
        model = ModelServer(port).start()
        deadline = time.monotonic() + 5
        assert post(proxy.port, "/echo", b"two")[1] == b"two"
        assert time.monotonic() < deadline
        assert observer.errors == {}
        wait_until(lambda: len(sink.calls) == 2, 5, what="the calls")
    finally:
        loop.call(proxy.close)
        model.stop()


def test_closing_lets_a_call_in_flight_finish(loop, model):
    proxy, _, _ = start_proxy(loop, model.port)
    port = proxy.port
    answers: list = []
    caller = threading.Thread(target=lambda: answers.append(post(port, "/slow", b"{}")[:2]))
    caller.start()
    wait_until(lambda: proxy._busy, 5, what="the call in flight")
    loop.call(proxy.close)  # while the model is still thinking
    caller.join(10)
    assert answers == [(200, b'{"slow": true}')]
    with pytest.raises(ConnectionError):
        post(port, "/echo", b"{}")  # and no new calls are taken


def test_a_response_with_both_framings_is_read_as_chunked_like_clients_do(proxied, model):
    proxy, _, _ = proxied
    assert post(proxy.port, "/te-and-cl", b"{}")[:2] == (200, b"hello")


def test_trailers_of_a_chunked_response_pass_through(proxied, model):
    proxy, _, _ = proxied
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as client:
        client.sendall(b"POST /trailers HTTP/1.1\r\nHost: m\r\nContent-Length: 0\r\n\r\n")
        received = b""
        while not received.endswith(b"\r\n\r\n") or b"X-Checksum: abc123" not in received:
            received += client.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"X-Checksum: abc123" not in head  # a trailer, not a header
    assert body == b"5\r\nhello\r\n0\r\nX-Checksum: abc123\r\n\r\n"
