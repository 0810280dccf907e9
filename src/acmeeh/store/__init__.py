"""Store: the only room with SQL or psycopg; explicit queries, rows as frozen dataclasses.

Every function takes the connection first; the caller owns the transaction
(`with pool.connection() as conn, conn.transaction(): ...`).
"""
