"""publisher: declarative YAML publish specs, planned and applied to Hive and Redshift."""

__version__ = "0.1.0"

DISTRIBUTION = "warehouse-publisher"
"""The name pip installs this project by (pyproject's [project] name); the command and the
import package are `publisher`, a name PyPI gives to an unrelated package."""
