"""Store stage: every rep, set and self-test in SQLite (WAL, synchronous=FULL), written off the frame loop.

db (schema, migrations, reads and writes) <- writer (the thread the frame loop hands results to);
the web pages read through db.Store on their own connections. What survives which fault, and how:
docs/reliability.md.
"""

from station.store.db import (
                              MIGRATIONS,
                              PUBLIC_NAMES,
                              REP_COLUMNS,
                              SCHEMA_VERSION,
                              SERIES_COLUMNS,
                              DamagedError,
                              Store,
                              StoreError,
                              connect,
                              decode_series,
                              encode_series,
                              is_damage,
                              public_rep,
                              rep_row,
)
from station.store.writer import Flush, RepDone, SelfTestDone, SetDone, Stop, StoreWriter

__all__ = ["MIGRATIONS", "PUBLIC_NAMES", "REP_COLUMNS", "SCHEMA_VERSION", "SERIES_COLUMNS", "DamagedError", "Flush",
           "RepDone", "SelfTestDone", "SetDone", "Stop", "Store", "StoreError", "StoreWriter", "connect",
           "decode_series", "encode_series", "is_damage", "public_rep", "rep_row"]
