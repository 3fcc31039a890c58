"""grpc.health.v1 states through a server's life, and reflection listing our services."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from guard.batcher import BatchObserver
from guard.client import AsyncGuardClient
from guard.errors import ServiceError
from guard.sdk import AsyncGuard
from guard.server.app import GuardServer, probe
from tests.service.conftest import StartServer, make_config

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def _health(target: str, service: str = "") -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        response = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=5)
        return response.status


async def test_not_serving_until_loaded_then_serving_then_draining(tiny_model_dir: Path) -> None:
    cfg = make_config(model_dir=tiny_model_dir)
    loading = threading.Event()

    def slow_factory(observer: BatchObserver) -> AsyncGuard:
        loading.wait(timeout=30)  # the model "loads" until the test has looked at health
        return AsyncGuard(config=cfg, observer=observer)

    server = GuardServer(cfg, guard_factory=slow_factory)
    starting = asyncio.create_task(server.start())
    await server.bound.wait()
    try:
        assert await _health(server.target) == NOT_SERVING
        assert await _health(server.target, "guard.v1.Guard") == NOT_SERVING
        async with AsyncGuardClient(server.target, timeout_s=1.0) as client:
            try:
                await client.model_info()
            except ServiceError as exc:
                assert exc.code == "UNAVAILABLE"  # retried, then given up within the deadline
            else:
                raise AssertionError("served before the model was loaded")
        loading.set()
        await starting
        assert await _health(server.target) == SERVING
        assert await _health(server.target, "guard.v1.Guard") == SERVING
        assert await asyncio.to_thread(probe, server.target) == 0
    finally:
        loading.set()
        await server.stop(grace=0)
    assert await asyncio.to_thread(probe, server.target, timeout_s=0.5) == 1


async def test_reflection_lists_services(start_server: StartServer) -> None:
    server = await start_server()
    async with grpc.aio.insecure_channel(server.target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        names = set()
        async for response in stub.ServerReflectionInfo(iter([request])):
            names |= {s.name for s in response.list_services_response.service}
        assert names == {"guard.v1.Guard", "grpc.health.v1.Health",
                         "grpc.reflection.v1alpha.ServerReflection"}
        # a grpcurl-style client resolves the service's file by symbol
        by_symbol = reflection_pb2.ServerReflectionRequest(file_containing_symbol="guard.v1.Guard")
        async for response in stub.ServerReflectionInfo(iter([by_symbol])):
            assert response.file_descriptor_response.file_descriptor_proto
