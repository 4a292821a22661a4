"""Backups: the database (SQLite's online backup API, or pg_dump) and the stored files, and their restore."""
