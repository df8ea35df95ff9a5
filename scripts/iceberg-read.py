#!/usr/bin/env python3
"""Independent Iceberg reader for tests: prints a table's state as JSON, read with pyiceberg.

usage: .services/venv/bin/python scripts/iceberg-read.py METADATA_LOCATION [--rows] [--column NAME] [--files]

METADATA_LOCATION is a metadata JSON file: a local path, file://... or s3://... (read through
the endpoint in AWS_ENDPOINT_URL, i.e. moto; the script refuses s3:// without it so that a test
can never read from AWS). A table folder also works when it holds metadata/version-hint.text.

Output (one JSON object on stdout): schema, partition spec, sort order, snapshots (oldest
first, with their summaries), row count of the current snapshot; with --rows every row, with
--column NAME the sorted values of one column, with --files the current snapshot's files with
partition values, record counts and which columns carry bounds. Values are JSON-safe: decimals
as strings, dates/times/timestamps ISO 8601, binary base64, floats NaN/Infinity as strings,
integers beyond 2^53 as strings; snapshot ids are always strings (int64).
Errors go to stderr, exit status 1 (2 for bad arguments).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import decimal
import json
import math
import os
import sys
import uuid
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1


def fail(message: str) -> None:
    print(f"iceberg-read: {message}", file=sys.stderr)
    sys.exit(1)


def json_safe(value: Any) -> Any:
    """Maps a Python/Arrow value to something JSON.parse in Node reads back without loss."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        # Arrow maps arrive as lists of (key, value) tuples; keep them as pairs.
        return [json_safe(v) for v in value]
    return str(value)


def sort_key(value: Any) -> tuple[int, Any]:
    # Nulls first; values of one column share a type so the raw values compare.
    return (0, 0) if value is None else (1, value)


def file_io_properties(location: str) -> dict[str, str]:
    if not location.startswith(("s3://", "s3a://", "s3n://")):
        return {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        fail(f"{location} is on S3 but AWS_ENDPOINT_URL is not set; point it at moto (http://127.0.0.1:5055)")
    return {
        "s3.endpoint": endpoint,
        "s3.region": os.environ.get("AWS_REGION", "us-east-1"),
        "s3.access-key-id": os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        "s3.secret-access-key": os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        "s3.force-virtual-addressing": "false",
    }


def normalize_location(location: str) -> str:
    if "://" in location:
        return location
    return os.path.abspath(location)


def describe_field(field: Any) -> dict[str, Any]:
    from pyiceberg.types import ListType, MapType, StructType

    described: dict[str, Any] = {
        "id": field.field_id,
        "name": field.name,
        "type": str(field.field_type),
        "required": field.required,
    }
    if field.doc:
        described["doc"] = field.doc
    field_type = field.field_type
    if isinstance(field_type, StructType):
        described["fields"] = [describe_field(child) for child in field_type.fields]
    elif isinstance(field_type, ListType):
        described["fields"] = [describe_field(field_type.element_field)]
    elif isinstance(field_type, MapType):
        described["fields"] = [describe_field(field_type.key_field), describe_field(field_type.value_field)]
    return described


def describe_snapshot(snapshot: Any) -> dict[str, Any]:
    summary: dict[str, str] = {}
    operation = None
    if snapshot.summary is not None:
        operation = snapshot.summary.operation.value
        summary = {"operation": operation, **{k: str(v) for k, v in snapshot.summary.additional_properties.items()}}
    return {
        "snapshotId": str(snapshot.snapshot_id),
        "parentSnapshotId": None if snapshot.parent_snapshot_id is None else str(snapshot.parent_snapshot_id),
        "sequenceNumber": snapshot.sequence_number,
        "timestampMs": snapshot.timestamp_ms,
        "operation": operation,
        "summary": summary,
        "manifestList": snapshot.manifest_list,
        "schemaId": snapshot.schema_id,
    }


def describe_files(table: Any) -> list[dict[str, Any]]:
    snapshot = table.current_snapshot()
    if snapshot is None:
        return []
    schema = table.schema()
    specs = table.specs()

    def column_names(field_ids: dict[int, Any] | None) -> list[str]:
        return sorted(schema.find_column_name(fid) or f"#{fid}" for fid in (field_ids or {}))

    files = []
    for manifest in snapshot.manifests(table.io):
        for entry in manifest.fetch_manifest_entry(table.io, discard_deleted=True):
            data_file = entry.data_file
            spec = specs[data_file.spec_id]
            partition = {
                field.name: json_safe(data_file.partition[index]) for index, field in enumerate(spec.fields)
            }
            files.append(
                {
                    "path": data_file.file_path,
                    "content": data_file.content.name.lower().replace("_", "-"),
                    "format": str(data_file.file_format.value if hasattr(data_file.file_format, "value") else data_file.file_format),
                    "specId": data_file.spec_id,
                    "partition": partition,
                    "recordCount": data_file.record_count,
                    "fileSizeInBytes": data_file.file_size_in_bytes,
                    "columnsWithLowerBounds": column_names(data_file.lower_bounds),
                    "columnsWithUpperBounds": column_names(data_file.upper_bounds),
                    "columnsWithNullCounts": column_names(data_file.null_value_counts),
                }
            )
    files.sort(key=lambda f: f["path"])
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description="Print an Iceberg table's state as JSON (pyiceberg).")
    parser.add_argument("metadata_location", help="metadata JSON: local path, file:// or s3:// (via AWS_ENDPOINT_URL)")
    parser.add_argument("--rows", action="store_true", help="include every row of the current snapshot")
    parser.add_argument("--column", metavar="NAME", help="include the sorted values of this column")
    parser.add_argument("--files", action="store_true", help="include the current snapshot's data files")
    parser.add_argument("--snapshot-rows", action="store_true", help="scan every snapshot of the metadata and include its row count (a deleted file fails the read)")
    args = parser.parse_args()

    location = normalize_location(args.metadata_location)
    properties = file_io_properties(location)

    from pyiceberg.io import load_file_io
    from pyiceberg.table import StaticTable

    if location.endswith(".metadata.json"):
        try:
            exists = load_file_io(properties=properties, location=location).new_input(location).exists()
        except Exception as error:  # noqa: BLE001 - any transport error means we cannot read it
            fail(f"cannot reach {location}: {type(error).__name__}: {error}")
        if not exists:
            fail(f"metadata file not found: {location}")

    try:
        table = StaticTable.from_metadata(location, properties)
    except FileNotFoundError:
        fail(f"metadata file not found: {location}")
    except Exception as error:  # noqa: BLE001
        fail(f"cannot load table metadata from {location}: {type(error).__name__}: {error}")

    metadata = table.metadata
    schema = table.schema()
    spec = table.spec()
    sort_order = table.sort_order()
    snapshots = sorted(metadata.snapshots, key=lambda s: (s.sequence_number or 0, s.timestamp_ms))
    current = table.current_snapshot()

    result: dict[str, Any] = {
        "metadataLocation": location,
        "formatVersion": metadata.format_version,
        "tableUuid": str(metadata.table_uuid),
        "location": metadata.location,
        "currentSnapshotId": None if current is None else str(current.snapshot_id),
        "lastSequenceNumber": getattr(metadata, "last_sequence_number", 0),
        "properties": dict(metadata.properties),
        "schema": {
            "schemaId": schema.schema_id,
            "identifierFieldIds": list(schema.identifier_field_ids),
            "fields": [describe_field(field) for field in schema.fields],
        },
        "partitionSpec": {
            "specId": spec.spec_id,
            "fields": [
                {"sourceId": f.source_id, "fieldId": f.field_id, "name": f.name, "transform": str(f.transform)}
                for f in spec.fields
            ],
        },
        "sortOrder": {
            "orderId": sort_order.order_id,
            "fields": [
                {
                    "sourceId": f.source_id,
                    "transform": str(f.transform),
                    "direction": f.direction.value,
                    "nullOrder": f.null_order.value,
                }
                for f in sort_order.fields
            ],
        },
        "snapshots": [describe_snapshot(s) for s in snapshots],
    }

    try:
        if current is None:
            result["rowCount"] = 0
            arrow = None
            if args.rows or args.column:
                arrow = schema.as_arrow().empty_table()
        elif args.rows or args.column:
            arrow = table.scan().to_arrow()
            result["rowCount"] = arrow.num_rows
        else:
            arrow = None
            result["rowCount"] = table.scan().count()

        if args.rows and arrow is not None:
            result["rows"] = [json_safe(row) for row in arrow.to_pylist()]
        if args.column and arrow is not None:
            if args.column not in arrow.column_names:
                fail(f"column {args.column!r} is not in the table (columns: {', '.join(arrow.column_names)})")
            values = arrow.column(args.column).to_pylist()
            try:
                values.sort(key=sort_key)
            except TypeError:  # structs/maps do not order; fall back to their JSON text
                values.sort(key=lambda v: json.dumps(json_safe(v), sort_keys=True))
            result["column"] = {"name": args.column, "values": [json_safe(v) for v in values]}
        if args.snapshot_rows:
            result["snapshotRows"] = {str(s.snapshot_id): table.scan(snapshot_id=s.snapshot_id).to_arrow().num_rows for s in snapshots}
        if args.files:
            result["files"] = describe_files(table)
    except SystemExit:
        raise
    except Exception as error:  # noqa: BLE001
        fail(f"cannot read data of {location}: {type(error).__name__}: {error}")

    json.dump(result, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
