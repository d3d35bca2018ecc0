"""The one connection layer: TLS, credentials, auth challenges, timeouts and retries for every HTTP call."""
