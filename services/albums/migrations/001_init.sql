CREATE TABLE albums (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Target of images' (album_id, user_id) key: an image can only ever sit in its owner's album.
    UNIQUE (id, user_id)
);
CREATE INDEX albums_user ON albums (user_id, created_at DESC, id DESC);

CREATE TABLE images (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL,
    album_id uuid,
    filename text NOT NULL,
    content_type text NOT NULL,
    width int NOT NULL,
    height int NOT NULL,
    size_bytes bigint NOT NULL,
    storage_key text NOT NULL,
    thumbnail_key text NOT NULL,
    -- clock_timestamp, not now(): the images of one upload get distinct, ordered times.
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    FOREIGN KEY (album_id, user_id) REFERENCES albums (id, user_id) ON DELETE SET NULL (album_id)
);
-- Keyset pagination, newest first: all of a user's images, or one album's.
CREATE INDEX images_user_created ON images (user_id, created_at DESC, id DESC);
CREATE INDEX images_album_created ON images (album_id, created_at DESC, id DESC) WHERE album_id IS NOT NULL;

CREATE TABLE outbox (
    id uuid PRIMARY KEY,
    type text NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX outbox_created_at ON outbox (created_at);
