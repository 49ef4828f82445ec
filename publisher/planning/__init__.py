"""Planning: (spec, results, target snapshot) -> Publication. No driver, no connection."""
