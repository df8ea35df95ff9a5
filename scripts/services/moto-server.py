"""Runs moto's server app (what `moto_server` runs) on 127.0.0.1, one request at a time by default.

Why not plain `moto_server`: it serves requests on several threads and checks-then-applies
conditional writes (DynamoDB ConditionExpression, S3 If-None-Match, S3 Tables version tokens)
without a lock, so two racing writers can both win; AWS applies them atomically. Serving one
request at a time restores that atomicity for every test that races writers. Set
STREAMLINE_MOTO_THREADED=1 to get moto_server's threaded behaviour back.

usage: python moto-server.py PORT
"""

import os
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

port = int(sys.argv[1])
threaded = os.environ.get("STREAMLINE_MOTO_THREADED") == "1"
print(f"moto on http://127.0.0.1:{port} ({'threaded' if threaded else 'one request at a time'})", flush=True)
run_simple("127.0.0.1", port, DomainDispatcherApplication(create_backend_app), threaded=threaded, use_reloader=False)
