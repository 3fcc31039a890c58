"""The gRPC sidecar (`kguard serve`): guard.v1.Guard, health and reflection over grpc.aio."""

from guard.server.app import GuardServer, add_serve_arguments, config_from_args, run_serve, serve

__all__ = ["GuardServer", "add_serve_arguments", "config_from_args", "run_serve", "serve"]
