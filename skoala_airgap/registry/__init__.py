"""OCI distribution client and the push engine."""
