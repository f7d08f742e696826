-- Queued jobs' estimates read the recent completed jobs of a type (services/jobs/eta.py).
CREATE INDEX jobs_type_finished ON jobs (type, finished_at DESC) WHERE status = 'completed';
