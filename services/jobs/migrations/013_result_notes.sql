-- What a person should know about a result, in plain sentences from the engine (job.completed's `notes`:
-- "not a photo: lines kept", "2 faces enhanced"). Empty for most results; reset by a new attempt.
ALTER TABLE jobs ADD COLUMN notes text[];
