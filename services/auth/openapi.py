"""The auth service's HTTP API, described for clients and for the schemathesis run in the tests."""

from shared.openapi import TIMESTAMP, UUID, answer, document, errors, json_body, operation, ref

USER = {
    "type": "object",
    "required": ["id", "email", "display_name", "created_at"],
    "properties": {"id": UUID, "email": {"type": "string"}, "display_name": {"type": "string"},
                   "preferences": {"type": "object"}, "created_at": TIMESTAMP,
                   "capabilities": {"type": "object", "description": "GET/PATCH /me: what this installation offers",
                                    "properties": {"notify_email": {"type": "boolean"}}}},
}
TOKENS = {
    "type": "object",
    "required": ["access_token", "refresh_token", "token_type", "expires_in"],
    "properties": {"access_token": {"type": "string"}, "refresh_token": {"type": "string"},
                   "token_type": {"type": "string", "enum": ["bearer"]}, "expires_in": {"type": "integer"}},
}
CREDENTIALS = {
    "type": "object",
    "required": ["email", "password"],
    "properties": {"email": {"type": "string"}, "password": {"type": "string"},
                   "display_name": {"type": "string"}},
}
REFRESH = {"type": "object", "required": ["refresh_token"], "properties": {"refresh_token": {"type": "string"}}}
PATCH_ME = {
    "type": "object",
    "properties": {"display_name": {"type": "string"}, "password": {"type": "string"},
                   "current_password": {"type": "string"},
                   "preferences": {"type": "object", "properties": {"notifications": {"type": "boolean"},
                                                                    "notify_email": {"type": "boolean"}}}},
}

SPEC = document(
    "Renovo auth",
    {
        "/api/auth/register": {"post": operation(
            "Create an account", {"201": answer("the new user", ref("User")), **errors(400, 409, 413, 422)},
            body=json_body(CREDENTIALS), auth=False)},
        "/api/auth/login": {"post": operation(
            "Log in", {"200": answer("tokens", ref("Tokens")), **errors(400, 401, 413, 422, 429)},
            body=json_body(CREDENTIALS), auth=False)},
        "/api/auth/refresh": {"post": operation(
            "Rotate a refresh token", {"200": answer("new tokens", ref("Tokens")), **errors(400, 401, 413, 422)},
            body=json_body(REFRESH), auth=False)},
        "/api/auth/logout": {"post": operation(
            "Revoke a refresh token", {"204": answer("revoked"), **errors(400, 413, 422)},
            body=json_body(REFRESH), auth=False)},
        "/api/auth/me": {
            "get": operation("The caller", {"200": answer("the user", ref("User"))}),
            "patch": operation("Change name, password or preferences",
                               {"200": answer("the user", ref("User")), **errors(400, 403, 413, 422, 429)},
                               body=json_body(PATCH_ME)),
        },
    },
    {"User": USER, "Tokens": TOKENS},
)
