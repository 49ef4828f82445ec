"""The executor: the single place where steps run (dry-run shows them, apply executes them)."""
