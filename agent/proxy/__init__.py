"""The sidecar's reverse proxy: forwards the model's traffic untouched and reports each call."""

from agent.proxy.server import NullObserver, ProxyObserver, ProxyServer

__all__ = ["NullObserver", "ProxyObserver", "ProxyServer"]
