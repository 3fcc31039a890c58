"""The integration tests start the same real servers as the service tests."""

from tests.service.conftest import start_server

__all__ = ["start_server"]
