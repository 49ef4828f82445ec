"""The vocabulary shared by every layer: errors, relations, names, publication identity, plans and typed steps."""
