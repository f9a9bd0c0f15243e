"""Planning: from a measure definition to per-code weights the engine joins (code sets, custom
SQL, dm+d SQL over rebuilt dm+d tables, per-item bands) and the disk cache that keeps plans.
Uses ``measures`` and ``ingest``."""
