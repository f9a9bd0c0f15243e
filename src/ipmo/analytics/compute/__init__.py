"""Compute: the Ibis measure engine (DuckDB, PostgreSQL, Spark), organisation levels, and
``service`` — the one call that plans and runs measures over the store. Uses the layers below."""
