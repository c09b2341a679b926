"""Make the shared reader contract importable from the test modules of this folder."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# Real object-store servers, started once per session (see object_servers.py).
from object_servers import azurite, fake_gcs, seaweedfs  # noqa: F401
