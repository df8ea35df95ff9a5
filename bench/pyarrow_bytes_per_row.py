#!/usr/bin/env python3
"""Bytes per row of pyarrow's Parquet writer on the rows given as JSON lines (bench/orders-rows.ts).

Writes them with pyarrow's defaults (dictionary encoding on every column, falling back to plain
when a dictionary page grows past 1 MiB) and ZSTD, as a data file of the same Iceberg schema would
be typed, and prints one JSON line: rows, bytes, bytes per row, pyarrow version, row groups.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = pa.schema(
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("rows", help="JSON lines file")
    args = parser.parse_args()
    columns: dict[str, list] = {f.name: [] for f in SCHEMA}
    with open(args.rows, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            columns["order_id"].append(row["order_id"])
            columns["customer_id"].append(row["customer_id"])
            columns["amount"].append(Decimal(str(row["amount"])).quantize(Decimal("0.01")))
            columns["currency"].append(row["currency"])
            columns["status"].append(row["status"])
            columns["created_at"].append(dt.datetime.fromisoformat(row["created_at"].replace("Z", "+00:00")))
            columns["item_count"].append(row["item_count"])
    table = pa.table(columns, schema=SCHEMA)
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    size = out.getbuffer().nbytes
    meta = pq.ParquetFile(io.BytesIO(out.getvalue())).metadata
    json.dump(
        {"rows": table.num_rows, "bytes": size, "bytesPerRow": size / table.num_rows, "pyarrow": pa.__version__, "rowGroups": meta.num_row_groups},
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
