"""Fixtures and helpers that start real services (PgBouncer, nginx, Gunicorn, S3 API) on free loopback ports."""
