"""A small model server for the agent's tests: KServe v1, OIP v2, generic JSON, errors, streams."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: ModelServer  # type: ignore[assignment]

    def log_message(self, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or ""):
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.send_header("x-model", "test")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.seen_ids.append(self.headers.get("x-request-id"))
        if self.path == "/ready":
            self._send(200 if self.server.ready.is_set() else 503, b"{}")
        else:
            self._send(200, b'{"ok": true}')

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "1234")
        self.end_headers()

    def do_POST(self) -> None:
        body = self._body()
        self.server.seen_ids.append(self.headers.get("x-request-id"))
        self.server.bodies.append(body)
        path = self.path
        if path == "/v1/models/m:predict":
            doc = json.loads(body)
            predictions = [
                {"p": row["x"] + row["y"]} if isinstance(row, dict) else {"p": row[0] + row[1]}
                for row in doc["instances"]
            ]
            self._send(200, json.dumps({"predictions": predictions}).encode())
        elif path == "/v2/models/m/infer":
            doc = json.loads(body)
            data = doc["inputs"][0]["data"]
            rows = doc["inputs"][0]["shape"][0]
            flat = [v for row in data for v in row] if data and isinstance(data[0], list) else data
            out = [flat[2 * i] + flat[2 * i + 1] for i in range(rows)]
            self._send(
                200,
                json.dumps(
                    {
                        "model_name": "m",
                        "outputs": [{"name": "p", "shape": [rows], "datatype": "FP64", "data": out}],
                    }
                ).encode(),
            )
        elif path == "/generic":
            doc = json.loads(body)
            self._send(
                200,
                json.dumps(
                    {"result": {"scores": [{"value": r["a"] + r["b"]} for r in doc["records"]]}}
                ).encode(),
            )
        elif path == "/slow":
            time.sleep(1.0)
            self._send(200, b'{"slow": true}')
        elif path == "/te-and-cl":  # both framings: clients take the chunked one
            self.send_response(200)
            self.send_header("transfer-encoding", "chunked")
            self.send_header("content-length", "999")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n0\r\n\r\n")
        elif path == "/trailers":  # a chunked body with a trailer field
            self.send_response(200)
            self.send_header("transfer-encoding", "chunked")
            self.send_header("trailer", "X-Checksum")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n0\r\nX-Checksum: abc123\r\n\r\n")
        elif path == "/fail":
            self._send(500, b'{"error": "the model failed"}')
        elif path == "/echo":
            self._send(200, body, self.headers.get("content-type") or "application/octet-stream")
        elif path == "/stream":
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for i in range(3):
                data = f"data: token{i}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                if i == 0:  # the test releases the rest once the client has seen the first chunk
                    self.server.first_chunk_sent.set()
                    if not self.server.release_stream.wait(10):
                        break
            self.wfile.write(b"0\r\n\r\n")
        else:
            self._send(404, b'{"error": "no such path"}')


class ModelServer(ThreadingHTTPServer):
    """``ModelServer().start()``; ``port``; ``stop()``."""

    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.seen_ids: list[str | None] = []
        self.bodies: list[bytes] = []
        self.ready = threading.Event()
        self.ready.set()
        self.first_chunk_sent = threading.Event()
        self.release_stream = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> ModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
