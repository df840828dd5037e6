"""Facts about the database that several apps rely on."""

# The largest value of a PostgreSQL bigint: every id (BigAutoField) and every chat seq. A
# number above it is no row's, and must be refused before it reaches a query.
BIGINT_MAX = 2**63 - 1
