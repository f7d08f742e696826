"""The jobs service's HTTP API, described for clients and for the schemathesis run in the tests."""

from shared.enhancements import TYPES
from shared.openapi import TIMESTAMP, UUID, answer, document, errors, json_body, operation, path_id, query, ref

NULLABLE_STRING = {"type": "string", "nullable": True}
JOB = {
    "type": "object",
    "required": ["id", "image_id", "type", "options", "status", "progress", "engine", "error", "created_at",
                 "updated_at"],
    "properties": {
        "id": UUID, "image_id": UUID, "type": {"type": "string", "enum": list(TYPES)},
        "options": {"type": "object"},
        "status": {"type": "string", "enum": ["queued", "running", "completed", "failed", "cancelled"]},
        "progress": {"type": "number", "minimum": 0, "maximum": 1},
        "engine": NULLABLE_STRING, "error": NULLABLE_STRING, "attempt": {"type": "integer"},
        "created_at": TIMESTAMP, "updated_at": TIMESTAMP,
        "output": {"type": "object", "description": "the output asked for; `result_format` once completed"},
        "eta_seconds": {"type": "number", "nullable": True,
                        "description": "about how long is left (running: the worker's estimate; queued: from the "
                                       "place in the owner's line); null when unknown"},
        "batch_id": {"type": "string", "format": "uuid", "nullable": True},
        "notes": {"type": "array", "items": {"type": "string"},
                  "description": "what to know about the result, in plain sentences (completed jobs)"},
    },
}
OUTPUT = {
    "type": "object", "additionalProperties": False,
    "properties": {"format": {"type": "string", "enum": ["auto", "png", "webp", "jpeg", "jpg"]},
                   "quality": {"type": "integer", "minimum": 1, "maximum": 100}, "flatten": {"type": "boolean"}},
}
BATCH = {
    "type": "object", "required": ["id"], "additionalProperties": False,
    "description": "jobs asked for together (one e-mail when all `size` of them have ended)",
    "properties": {"id": UUID, "size": {"type": "integer", "minimum": 1, "maximum": 10000}},
}
JOB_LIST = {
    "type": "object", "required": ["items", "next_cursor"],
    "properties": {"items": {"type": "array", "items": ref("Job")}, "next_cursor": NULLABLE_STRING},
}
MODEL = {
    "type": "object",
    "required": ["type", "family", "label", "options", "available", "engine"],
    "properties": {"type": {"type": "string"}, "family": {"type": "string"}, "label": {"type": "string"},
                   "description": {"type": "string"}, "options": {"type": "array", "items": {"type": "object"}},
                   "available": {"type": "boolean"}, "engine": {"type": "string"}, "reason": NULLABLE_STRING},
}
NEW_JOB = {
    "type": "object", "required": ["image_id", "type"],
    "properties": {"image_id": UUID, "type": {"type": "string", "enum": list(TYPES)},
                   "options": {"type": "object"}, "output": OUTPUT, "batch": BATCH},
}
IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
               "schema": {"type": "string", "minLength": 1, "maxLength": 200}}

SPEC = document(
    "Renovo jobs",
    {
        "/api/models": {"get": operation(
            "Enhancement types, their options and whether they are installed",
            {"200": answer("types", {"type": "object", "required": ["items"],
                                     "properties": {"items": {"type": "array", "items": ref("Model")}}})})},
        "/api/jobs": {
            "post": operation("Request an enhancement of one image",
                              {"202": answer("the job", ref("Job")), **errors(400, 404, 409, 413, 422)},
                              body=json_body(NEW_JOB), params=[IDEMPOTENCY]),
            "get": operation(
                "The caller's jobs", {"200": answer("jobs", JOB_LIST), **errors(422)},
                params=[query("image_id", UUID), query("status", {"type": "string"}),
                        query("updated_since", TIMESTAMP), query("cursor", {"type": "string"}),
                        query("limit", {"type": "integer", "minimum": 1, "maximum": 200})]),
        },
        "/api/jobs/{job_id}": {"get": operation(
            "One job", {"200": answer("the job", ref("Job")), **errors(404)}, params=[path_id("job_id")])},
        "/api/jobs/{job_id}/cancel": {"post": operation(
            "Cancel a queued or running job", {"200": answer("the job", ref("Job")), **errors(404, 409)},
            params=[path_id("job_id")])},
        "/api/jobs/{job_id}/retry": {"post": operation(
            "Retry a failed or cancelled job", {"202": answer("the job", ref("Job")), **errors(404, 409)},
            params=[path_id("job_id")])},
        "/api/jobs/{job_id}/result": {"get": operation(
            "The restored image (PNG, WebP or JPEG), named <original stem>_<type>.<ext>",
            {"200": {"description": "the image", "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in ("image/png", "image/webp", "image/jpeg")}}, **errors(404, 409, 410)},
            params=[path_id("job_id")])},
    },
    {"Job": JOB, "Model": MODEL},
)
