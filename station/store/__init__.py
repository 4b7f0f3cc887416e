"""Store stage: every rep, set and self-test in SQLite (WAL, synchronous=FULL), written off the frame loop.

db (schema, migrations, reads and writes) <- writer (the thread the frame loop hands results to);
the web pages read through db.Store on their own connections.
"""

from station.store.db import (MIGRATIONS, REP_COLUMNS, SCHEMA_VERSION, Store, StoreError, connect, decode_series,
                              encode_series)
from station.store.writer import StoreWriter

__all__ = ["MIGRATIONS", "REP_COLUMNS", "SCHEMA_VERSION", "Store", "StoreError", "StoreWriter", "connect",
           "decode_series", "encode_series"]
