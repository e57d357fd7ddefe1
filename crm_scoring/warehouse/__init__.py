"""Talking to PostgreSQL: the embedded server, connection URLs, schema DDL and atomic writes."""
