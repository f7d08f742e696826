"""The notifier's one route, a WebSocket; described so that clients find it (the messages are in DESIGN.md)."""

from shared.openapi import answer, document, errors, operation

SPEC = document(
    "Renovo notifier",
    {
        "/api/notifications/ws": {"get": operation(
            "WebSocket of job events. Authenticate with an Authorization header or a first message "
            '{"type": "auth", "token": "<access token>"} within 5 s; the server answers {"type": "ready"} and '
            "then pushes job.started/progress/completed/failed/cancelled messages.",
            {"101": answer("switching protocols"), **errors(400)}, auth=False)},
    },
    {},
)
