"""Interceptors: watch the gateway's HTTP exchanges off the request path (print them, log
them, record them for `inferstack replay`). Configured by `interceptors:` in the settings."""

from api_server.interceptors.chain import Interceptor, InterceptorChain, build_interceptor
from api_server.interceptors.config import (
    EventRecorderSpec,
    InterceptorSpec,
    MessageLoggerSpec,
    PrinterSpec,
)
from api_server.interceptors.exchange import BodyChunk, Exchange
from api_server.interceptors.middleware import InterceptorMiddleware

__all__ = [
    "BodyChunk",
    "EventRecorderSpec",
    "Exchange",
    "Interceptor",
    "InterceptorChain",
    "InterceptorMiddleware",
    "InterceptorSpec",
    "MessageLoggerSpec",
    "PrinterSpec",
    "build_interceptor",
]
