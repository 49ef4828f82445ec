"""publisher: declarative YAML publish specs, planned and applied to Hive and Redshift."""

__version__ = "0.1.0"
