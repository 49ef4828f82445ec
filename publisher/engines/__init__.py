"""One module per engine: embedded Hive, HiveServer2, Redshift, and opening them (with S3): run, inspect."""
