"""The local Redshift stand-in used by the integration tests: PostgreSQL 15 behind a
wire-protocol proxy (proxy.py), with an S3 API server. Started and stopped by
.ci/services/redshift_standin.sh; proven by test_standin.py."""
