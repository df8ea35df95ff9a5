#!/usr/bin/env python3
"""Bytes per row of pyarrow's Parquet writer on the rows given as JSON lines (bench/orders-rows.ts).

Types them as a data file of the same Iceberg schema, writes them with ZSTD three ways — pyarrow's
defaults (dictionary encoding on every column, falling back to plain when a dictionary page grows
past 1 MiB), dictionaries only on the columns given with --dictionary (streamline's choice), and
no dictionaries — and prints one JSON line: rows, bytes per row of each, pyarrow version.
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
    parser.add_argument("--dictionary", default="", help="comma-separated columns for the second variant")
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

    def bytes_per_row(use_dictionary) -> float:
        out = io.BytesIO()
        pq.write_table(table, out, compression="zstd", use_dictionary=use_dictionary)
        return out.getbuffer().nbytes / table.num_rows

    chosen = [c for c in args.dictionary.split(",") if c]
    json.dump(
        {
            "rows": table.num_rows,
            "defaults": bytes_per_row(True),
            "chosenDictionary": bytes_per_row(chosen if chosen else False),
            "noDictionary": bytes_per_row(False),
            "pyarrow": pa.__version__,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")

if __name__ == "__main__":
    main()
