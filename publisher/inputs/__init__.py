"""The input edge: YAML with positions, JSON Schema validation, the project config, specs."""
