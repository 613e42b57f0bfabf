"""Storage: asyncpg pool, named SQL queries, migrations, the embedded PostgreSQL."""
