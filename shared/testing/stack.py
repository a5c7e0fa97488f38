"""Which stack the suites run on: one Redis node and PostgreSQL directly (the default), or
``HIRECJ_TEST_STACK=scaled``: a Redis Cluster and PgBouncer in transaction mode (see plugin)."""

import os

SCALED = os.environ.get("HIRECJ_TEST_STACK", "") == "scaled"
