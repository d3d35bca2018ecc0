"""Core values: digests, descriptors, media types, manifests and image references (no I/O)."""
