"""The specification's scoring rules as pure, vectorised functions: no Dagster, no SQL, no I/O."""
