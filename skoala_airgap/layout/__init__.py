"""OCI image layout as a push destination: a registry-free target that skopeo, oras and podman read."""
