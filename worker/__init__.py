"""The Celery worker's entry point: the only place outside tests that builds the app at import."""
