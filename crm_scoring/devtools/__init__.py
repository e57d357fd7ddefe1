"""Tools for developers that the scoring graph never imports (measurements on generated data)."""
