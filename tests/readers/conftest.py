"""Make the shared reader contract importable from the test modules of this folder, and
share one RSA key pair (slow to generate) between the tests that need a GitHub App."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

# Real object-store servers, started once per session (see object_servers.py).
from object_servers import azurite, fake_gcs, seaweedfs  # noqa: F401


@pytest.fixture(scope="session")
def app_key_pair() -> tuple[str, str]:
    """A GitHub App's private key (PKCS#8 PEM) and its public key (PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()
