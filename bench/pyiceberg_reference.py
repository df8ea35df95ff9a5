#!/usr/bin/env python3
"""The users' current write path, timed: PyIceberg `table.append()` of 100-row pyarrow batches
(one commit and one data file per batch) into a local catalog in a temp folder.

Prints one JSON line: rows written, seconds, rows/s, data files and commits, which catalog ran.
Bounded by --time-budget: it stops after the batch that crosses it (the rate stays meaningful).

Catalog: pyiceberg's SqlCatalog on sqlite when SQLAlchemy is installed (pyiceberg[sql-sqlite]);
otherwise a minimal catalog keeping the metadata pointer in a file, swapped by rename. Either
way a commit is pyiceberg's own work (manifest, manifest list, metadata JSON); the pointer swap
is a tiny part of it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from decimal import Decimal


def orders(n: int) -> list[dict]:
    """Orders-like rows, the same shape as bench/iceberg-sink.bench.ts generates."""
    rnd = random.Random(42)
    currencies = ["EUR", "USD", "GBP", "JPY"]
    statuses = ["created", "paid", "shipped", "delivered", "cancelled"]
    start = dt.datetime(2024, 1, 5, tzinfo=dt.timezone.utc)
    return [
        {
            "order_id": f"ord-{i}-{rnd.randrange(1_000_000)}",
            "customer_id": f"cust-{rnd.randrange(50_000)}",
            "amount": Decimal(rnd.randrange(10_000_000)).scaleb(-2),
            "currency": currencies[i & 3],
            "status": statuses[rnd.randrange(5)],
            "created_at": start + dt.timedelta(milliseconds=250 * i),
            "item_count": 1 + rnd.randrange(9),
        }
        for i in range(n)
    ]


def pointer_file_catalog_class():
    """A MetastoreCatalog whose table pointer is a file (only what append() needs)."""
    from pyiceberg.catalog import Catalog, MetastoreCatalog
    from pyiceberg.exceptions import NoSuchTableError
    from pyiceberg.io import load_file_io
    from pyiceberg.serializers import FromInputFile
    from pyiceberg.table import CommitTableResponse, Table
    from pyiceberg.table.metadata import new_table_metadata

    class PointerFileCatalog(MetastoreCatalog):
        def _pointer(self, identifier) -> str:
            return os.path.join(self.properties["root"], ".".join(Catalog.identifier_to_tuple(identifier)) + ".pointer")

        def create_namespace(self, namespace, properties=None) -> None:
            pass

        def load_namespace_properties(self, namespace):
            return {}

        def create_table(self, identifier, schema, location=None, partition_spec=None, sort_order=None, properties=None):
            from pyiceberg.partitioning import UNPARTITIONED_PARTITION_SPEC
            from pyiceberg.table.sorting import UNSORTED_SORT_ORDER

            schema = self._convert_schema_if_needed(schema)
            namespace = Catalog.namespace_to_string(Catalog.namespace_from(identifier))
            name = Catalog.table_name_from(identifier)
            location = self._resolve_table_location(location, namespace, name)
            metadata = new_table_metadata(
                location=location,
                schema=schema,
                partition_spec=partition_spec or UNPARTITIONED_PARTITION_SPEC,
                sort_order=sort_order or UNSORTED_SORT_ORDER,
                properties=properties or {},
            )
            metadata_location = f"{location}/metadata/00000-{os.urandom(8).hex()}.metadata.json"
            self._write_metadata(metadata, load_file_io(self.properties, metadata_location), metadata_location)
            self._swap(identifier, metadata_location)
            return self.load_table(identifier)

        def load_table(self, identifier):
            try:
                with open(self._pointer(identifier)) as f:
                    metadata_location = f.read()
            except FileNotFoundError as e:
                raise NoSuchTableError(str(identifier)) from e
            io = load_file_io(self.properties, metadata_location)
            metadata = FromInputFile.table_metadata(io.new_input(metadata_location))
            return Table(Catalog.identifier_to_tuple(identifier), metadata, metadata_location, self._load_file_io(metadata.properties, metadata_location), self)

        def commit_table(self, table, requirements, updates):
            current = self.load_table(table.name())
            staged = self._update_and_stage_table(current, table.name(), requirements, updates)
            self._write_metadata(staged.metadata, staged.io, staged.metadata_location)
            self._swap(table.name(), staged.metadata_location)
            return CommitTableResponse(metadata=staged.metadata, metadata_location=staged.metadata_location)

        def _swap(self, identifier, metadata_location: str) -> None:
            tmp = self._pointer(identifier) + ".tmp"
            with open(tmp, "w") as f:
                f.write(metadata_location)
            os.replace(tmp, self._pointer(identifier))

    # The rest of the Catalog interface (views, renames, listings) is not used here.
    PointerFileCatalog.__abstractmethods__ = frozenset()
    return PointerFileCatalog


def open_catalog(root: str):
    warehouse = f"file://{root}/warehouse"
    os.makedirs(f"{root}/warehouse", exist_ok=True)
    try:
        import sqlalchemy  # noqa: F401
        from pyiceberg.catalog.sql import SqlCatalog

        return SqlCatalog("bench", uri=f"sqlite:///{root}/catalog.db", warehouse=warehouse), "SqlCatalog (sqlite)"
    except ImportError:
        return pointer_file_catalog_class()("bench", root=root, warehouse=warehouse), "pointer-file catalog (SQLAlchemy not installed)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--time-budget", type=float, default=30.0, help="seconds")
    args = parser.parse_args()

    import pyarrow as pa
    import pyiceberg

    arrow_schema = pa.schema(
        [
            pa.field("order_id", pa.string(), nullable=False),
            pa.field("customer_id", pa.string(), nullable=False),
            pa.field("amount", pa.decimal128(12, 2), nullable=False),
            pa.field("currency", pa.string(), nullable=False),
            pa.field("status", pa.string(), nullable=False),
            pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("item_count", pa.int32(), nullable=False),
        ]
    )
    rows = orders(args.rows)
    with tempfile.TemporaryDirectory(prefix="pyiceberg-ref-") as root:
        catalog, catalog_kind = open_catalog(root)
        catalog.create_namespace("sink")
        table = catalog.create_table("sink.orders", schema=arrow_schema, properties={"write.parquet.compression-codec": "zstd"})
        written = commits = 0
        t0 = time.perf_counter()
        for start in range(0, len(rows), args.batch):
            # As the users' PyFlink job does: a pyarrow table per 100 parsed records, then append.
            table.append(pa.Table.from_pylist(rows[start : start + args.batch], schema=arrow_schema))
            written += min(args.batch, len(rows) - start)
            commits += 1
            if time.perf_counter() - t0 > args.time_budget:
                break
        seconds = time.perf_counter() - t0
        table = catalog.load_table("sink.orders")
        summary = table.current_snapshot().summary
        result = {
            "rows": written,
            "seconds": round(seconds, 3),
            "rowsPerSec": round(written / seconds),
            "dataFiles": int(summary["total-data-files"]),
            "commits": commits,
            "snapshots": len(table.metadata.snapshots),
            "totalRecords": int(summary["total-records"]),
            "catalog": catalog_kind,
            "pyiceberg": pyiceberg.__version__,
            "pyarrow": pa.__version__,
            "truncated": written < len(rows),
        }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
