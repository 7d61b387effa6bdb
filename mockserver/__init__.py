"""Reference mock of Hume's Expression Measurement API (batch REST and stream WebSocket on one port).

``create_app(MockConfig(...))`` builds the ASGI app; ``running_mock(config)`` serves it on a free loopback
port in a background thread; ``mockserver.drifts`` lists the deliberate contract breaks it can inject.
"""

from mockserver.app import INVALID_KEY_BODY, create_app
from mockserver.config import MockConfig
from mockserver.server import MockHandle, running_mock

__all__ = ["INVALID_KEY_BODY", "MockConfig", "MockHandle", "create_app", "running_mock"]
