-- When the photo was taken, from its EXIF (DateTimeOriginal, else DateTimeDigitized, else DateTime): the
-- camera's wall-clock time, which EXIF records without a zone. NULL when the file says nothing usable.
ALTER TABLE albums.images ADD COLUMN IF NOT EXISTS taken_at timestamp without time zone;
