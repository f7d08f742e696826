"""The albums service's HTTP API, described for clients and for the schemathesis run in the tests."""

from shared.openapi import TIMESTAMP, UUID, answer, document, errors, json_body, operation, path_id, query, ref

NULLABLE_UUID = {"type": "string", "format": "uuid", "nullable": True}
ALBUM = {
    "type": "object", "required": ["id", "name", "image_count", "created_at"],
    "properties": {"id": UUID, "name": {"type": "string"}, "image_count": {"type": "integer"},
                   "created_at": TIMESTAMP},
}
IMAGE = {
    "type": "object",
    "required": ["id", "album_id", "filename", "width", "height", "content_type", "size_bytes", "created_at"],
    "properties": {"id": UUID, "album_id": NULLABLE_UUID, "filename": {"type": "string"},
                   "width": {"type": "integer"}, "height": {"type": "integer"},
                   "content_type": {"type": "string"}, "size_bytes": {"type": "integer"}, "created_at": TIMESTAMP,
                   "taken_at": {"type": "string", "nullable": True, "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$",
                                "description": "when the photo was taken, from EXIF: the camera's wall-clock time "
                                               "(no zone); null when the file does not say"}},
}


def _page(item: str) -> dict[str, object]:
    return {"type": "object", "required": ["items", "next_cursor"],
            "properties": {"items": {"type": "array", "items": ref(item)},
                           "next_cursor": {"type": "string", "nullable": True}}}


NAME = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
UPLOAD = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                       "album_id": UUID},
    }}},
}
UPLOADED = {
    "type": "object", "required": ["images", "rejected"],
    "properties": {"images": {"type": "array", "items": ref("Image")},
                   "rejected": {"type": "array", "items": {"type": "object"}}},
}
IMAGE_PATCH = {"type": "object", "properties": {"album_id": NULLABLE_UUID, "filename": {"type": "string"}}}

SPEC = document(
    "Renovo albums",
    {
        "/api/albums": {
            "get": operation("The caller's albums, newest first", {"200": answer("albums", _page("Album")),
                                                                   **errors(422)},
                             params=[query("cursor", {"type": "string"}),
                                     query("limit", {"type": "integer", "minimum": 1, "maximum": 200})]),
            "post": operation("Create an album", {"201": answer("the album", ref("Album")), **errors(400, 413, 422)},
                              body=json_body(NAME)),
        },
        "/api/albums/{id}": {
            "get": operation("One album", {"200": answer("the album", ref("Album")), **errors(404)},
                             params=[path_id("id")]),
            "patch": operation("Rename an album", {"200": answer("the album", ref("Album")),
                                                   **errors(400, 404, 413, 422)},
                               body=json_body(NAME), params=[path_id("id")]),
            "delete": operation("Delete an album (its images too with with_images=true)",
                                {"204": answer("deleted"), **errors(404, 422)},
                                params=[path_id("id"), query("with_images", {"type": "boolean"})]),
        },
        "/api/images": {
            "get": operation("The caller's images, or one album's, newest first",
                             {"200": answer("images", _page("Image")), **errors(404, 422)},
                             params=[query("album_id", UUID), query("cursor", {"type": "string"}),
                                     query("limit", {"type": "integer", "minimum": 1, "maximum": 200})]),
            "post": operation("Upload one or many images",
                              {"201": answer("uploaded and refused files", UPLOADED),
                               **errors(400, 404, 413, 415, 422)}, body=UPLOAD),
        },
        "/api/images/{id}": {
            "get": operation("One image", {"200": answer("the image", ref("Image")), **errors(404)},
                             params=[path_id("id")]),
            "patch": operation("Move or rename an image", {"200": answer("the image", ref("Image")),
                                                           **errors(400, 404, 413, 422)},
                               body=json_body(IMAGE_PATCH), params=[path_id("id")]),
            "delete": operation("Delete an image", {"204": answer("deleted"), **errors(404)},
                                params=[path_id("id")]),
        },
        "/api/images/{id}/original": {"get": operation(
            "The uploaded file (byte ranges, ETag)",
            {"200": answer("the file", {"type": "string", "format": "binary"}, "image/*"),
             **errors(404, 416, 503)}, params=[path_id("id")])},
        "/api/images/{id}/thumbnail": {"get": operation(
            "The WebP thumbnail", {"200": answer("WebP", {"type": "string", "format": "binary"}, "image/webp"),
                                   **errors(404, 416, 503)}, params=[path_id("id")])},
    },
    {"Album": ALBUM, "Image": IMAGE},
)
