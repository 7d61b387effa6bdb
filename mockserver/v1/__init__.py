"""The v1 mock (uploads, realtime sessions, runs), mounted beside v0 on the same port by ``mockserver.app``."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route, WebSocketRoute

ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]  # each handler answers 405 itself, with a v1 body


def routes() -> list[BaseRoute]:
    from mockserver.v1 import realtime, runs_api, uploads

    return [
        Route("/v1/expression/audio/file", uploads.audio_file, methods=ALL_METHODS),
        Route("/v1/expression/video/file", uploads.video_file, methods=ALL_METHODS),
        Route("/v1/expression/run", runs_api.list_runs, methods=ALL_METHODS),
        Route("/v1/expression/run/{run_id}", runs_api.get_run, methods=ALL_METHODS),
        Route("/v1/expression/run/{run_id}/events", runs_api.run_events, methods=ALL_METHODS),
        WebSocketRoute("/v1/expression/audio/realtime", realtime.audio_realtime),
        WebSocketRoute("/v1/expression/video/realtime", realtime.video_realtime),
        Route("/v1/{path:path}", runs_api.no_such_path, methods=ALL_METHODS),  # last: a v1 body for any other path
    ]
