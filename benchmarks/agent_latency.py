"""The sidecar's cost: added latency against calling the model directly and against nginx, its
memory, and how many calls its capture path takes per second on one core.

One model server (a minimal asyncio HTTP/1.1 server answering a small JSON body) is called five
ways, side by side in one run: directly, through nginx (Debian package, a keep-alive reverse proxy),
through ``modelmon-agent`` capturing every call into a real broker (Tansu), through the same agent
on the standard library's event loop instead of uvloop, and through a bare aiohttp proxy (no
capture) — the last two are the stacks the agent's was chosen against. A paced client in
this process sends a small KServe v1 request at 100 and 500 requests/s, one keep-alive connection
per path, in short slices that rotate between the three paths so they share the machine's
conditions. Reported: p50 and p99 of each, the added p50/p99 of each proxy (its quantile minus the
direct one), the agent's peak RSS, and the capture path's calls/s on one thread (parse, rows,
Arrow batch, Kafka message; the broker replaced by a null producer). Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.null_producer import NullProducer

from deploy.broker import LocalBroker
from deploy.local_agent import LocalAgent
from deploy.processes import free_port, port_open, wait_until

REQUEST_BODY = b'{"instances": [{"x": 1.5, "y": 2.5}]}'
RESPONSE_BODY = b'{"predictions": [{"p": 4.0}]}'
PATH = "/v1/models/m:predict"
CATALOG = """
models:
  - namespace: bench
    name: m
    features: [{name: x, type: float}, {name: y, type: float}]
    outputs: [{name: p, type: float}]
"""


# --- the model: a minimal HTTP/1.1 server, so the paths' differences are not lost in its noise ---
class _Model(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(  # type: ignore[attr-defined]
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                % (len(RESPONSE_BODY), RESPONSE_BODY)
            )


def serve_model(port: int) -> None:
    import uvloop

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Model, "127.0.0.1", port)
        await server.serve_forever()

    uvloop.run(main())


# --- aiohttp: the obvious asyncio stack for a proxy, for the choice of ours ---------------------
def serve_aiohttp_proxy(port: int, upstream: int) -> None:
    """A bare aiohttp reverse proxy (no capture): server and keep-alive client of aiohttp."""
    from aiohttp import ClientSession, TCPConnector, web

    async def main() -> None:
        session = ClientSession(connector=TCPConnector(limit=64), auto_decompress=False)

        async def forward(request: web.Request) -> web.Response:
            body = await request.read()
            async with session.request(
                request.method,
                f"http://127.0.0.1:{upstream}{request.path_qs}",
                data=body,
                headers=request.headers,
            ) as answer:
                return web.Response(status=answer.status, body=await answer.read(), headers=answer.headers)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await asyncio.Event().wait()

    asyncio.run(main())


# --- nginx as the reference reverse proxy -----------------------------------------------------
def start_nginx(work: Path, port: int, upstream: int) -> subprocess.Popen[bytes] | None:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        return None
    (work / "nginx").mkdir(parents=True, exist_ok=True)
    conf = work / "nginx" / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
daemon off;
master_process off;
pid {work}/nginx/nginx.pid;
error_log stderr warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 10000000;  # one client connection for the whole run, like the other paths
    client_body_temp_path {work}/nginx/body;
    proxy_temp_path {work}/nginx/proxy;
    upstream model {{ server 127.0.0.1:{upstream}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://model;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""
    )
    process = subprocess.Popen(
        [binary, "-c", str(conf), "-p", str(work / "nginx")], stderr=subprocess.DEVNULL
    )
    wait_until(lambda: port_open("127.0.0.1", port), 10, what="nginx")
    return process


# --- the paced client -------------------------------------------------------------------------
class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request = (
            b"POST %s HTTP/1.1\r\nHost: model\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (PATH.encode(), len(REQUEST_BODY), REQUEST_BODY)
        )
        self.samples: list[float] = []

    def call(self) -> None:
        started = time.perf_counter()
        self.sock.sendall(self.request)
        data = b""
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
            end = data.find(b"\r\n\r\n")
            if end < 0:
                continue
            head = data[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 :].split(b"\r\n", 1)[0])
            if len(data) >= end + 4 + length:
                break
        self.samples.append(time.perf_counter() - started)

    def close(self) -> None:
        self.sock.close()


def paced(client: Client, rate: float, seconds: float) -> None:
    period = 1.0 / rate
    next_at = time.perf_counter()
    for _ in range(int(rate * seconds)):
        delay = next_at - time.perf_counter()
        if delay > 0.0005:
            time.sleep(delay - 0.0003)
        while time.perf_counter() < next_at:
            pass
        client.call()
        next_at += period


def quantiles(samples: list[float]) -> dict[str, float]:
    values = np.asarray(samples) * 1e6  # µs
    return {
        "p50_us": round(float(np.quantile(values, 0.5)), 1),
        "p99_us": round(float(np.quantile(values, 0.99)), 1),
    }


# --- the capture path alone, on one thread ----------------------------------------------------
def capture_rate(calls: int) -> float:
    from agent.batcher import Batcher
    from agent.calls import Call
    from agent.capture import Capturer
    from agent.catalog.load import parse_catalog
    from agent.publisher import Publisher
    from agent.settings import CaptureSettings, KafkaSettings, PublisherSettings

    spec = parse_catalog(CATALOG).get("bench/m")
    publisher = Publisher(KafkaSettings(), PublisherSettings(), producer_factory=lambda *_: NullProducer())
    batcher = Batcher(publisher, specs={"bench/m": spec}, max_rows=5_000, max_seconds=3600)
    capturer = Capturer(
        CaptureSettings(model="bench/m", version="v1", queue_max_calls=calls + 1), spec, batcher
    )
    template = [
        Call(f"id-{i}", 1.8e9 + i, 0.001, 0.0008, 200, "POST", PATH, REQUEST_BODY, RESPONSE_BODY, 40, 30)
        for i in range(calls)
    ]
    for call in template:
        capturer.offer(call)
    started = time.perf_counter()
    capturer.drain()
    batcher.flush()
    assert publisher.flush(60)
    elapsed = time.perf_counter() - started
    assert publisher.stats().sent == calls
    publisher.close()
    return calls / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a run within a minute")
    parser.add_argument("--model-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--aiohttp-proxy", type=int, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.model_server:
        serve_model(args.model_server)
        return
    if args.aiohttp_proxy:
        serve_aiohttp_proxy(*args.aiohttp_proxy)
        return
    slice_seconds, rounds = (1.0, 2) if args.quick else (2.0, 5)
    work = Path(tempfile.mkdtemp(prefix="modelmon-bench-agent-"))
    model_port, nginx_port, aiohttp_port = free_port(), free_port(), free_port()
    model = subprocess.Popen([sys.executable, __file__, "--model-server", str(model_port)])
    aiohttp = subprocess.Popen(
        [sys.executable, __file__, "--aiohttp-proxy", str(aiohttp_port), str(model_port)]
    )
    nginx = agent = stdlib_agent = None
    results: dict[str, object] = {"benchmark": "agent_latency", "quick": args.quick}
    try:
        wait_until(lambda: port_open("127.0.0.1", model_port), 10, what="the model server")
        with LocalBroker(log_dir=work) as broker:
            catalog = work / "catalog.yaml"
            catalog.write_text(CATALOG)
            agent = LocalAgent(
                model_port,
                broker.bootstrap,
                catalog=catalog,
                work_dir=work / "agent",
                capture={"model": "bench/m", "version": "v1"},
            ).start()
            stdlib_agent = LocalAgent(
                model_port,
                broker.bootstrap,
                catalog=catalog,
                work_dir=work / "agent-asyncio",
                proxy={"event_loop": "asyncio"},
                capture={"model": "bench/m", "version": "v1"},
            ).start()
            nginx = start_nginx(work, nginx_port, model_port)
            wait_until(lambda: port_open("127.0.0.1", aiohttp_port), 20, what="the aiohttp proxy")
            paths = {
                "direct": model_port,
                "agent": agent.port,
                "agent_asyncio_loop": stdlib_agent.port,
                "aiohttp_bare_proxy": aiohttp_port,
            } | ({"nginx": nginx_port} if nginx else {})
            for rate in (100, 500):
                clients = {name: Client(port) for name, port in paths.items()}
                for client in clients.values():  # warm the connections and the proxies' pools
                    paced(client, rate, 0.2)
                    client.samples.clear()
                for _ in range(rounds):
                    for client in clients.values():
                        paced(client, rate, slice_seconds)
                figures = {name: quantiles(c.samples) for name, c in clients.items()}
                for name in ("agent", "agent_asyncio_loop", "aiohttp_bare_proxy", "nginx"):
                    if name in figures:
                        figures[name]["added_p50_us"] = round(
                            figures[name]["p50_us"] - figures["direct"]["p50_us"], 1
                        )
                        figures[name]["added_p99_us"] = round(
                            figures[name]["p99_us"] - figures["direct"]["p99_us"], 1
                        )
                if "nginx" in figures and figures["nginx"]["added_p99_us"] > 0:
                    figures["agent_vs_nginx_added_p99"] = round(
                        figures["agent"]["added_p99_us"] / figures["nginx"]["added_p99_us"], 2
                    )
                results[f"rps_{rate}"] = figures
                for client in clients.values():
                    client.close()
                print(f"{rate} requests/s: {json.dumps(figures)}", flush=True)
            wait_until(
                lambda: "modelmon_agent_spool_bytes" in agent.metrics_text(), 10, what="the agent's metrics"
            )
            results["agent_peak_rss_mb"] = round(agent.peak_rss_bytes() / 1_048_576, 1)
    finally:
        for running in (agent, stdlib_agent):
            if running is not None:
                running.stop()
        aiohttp.terminate()
        aiohttp.wait(10)
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        model.terminate()
        model.wait(10)
    results["capture_calls_per_second_one_thread"] = round(capture_rate(20_000 if args.quick else 100_000))
    results["nginx"] = "measured" if nginx is not None else "not installed (apt-get install nginx-light)"
    print(json.dumps(results))


if __name__ == "__main__":
    main()
