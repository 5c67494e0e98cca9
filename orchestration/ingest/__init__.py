"""Ingestion: the only room that sees identifiable data. It pseudonymises before it writes."""
