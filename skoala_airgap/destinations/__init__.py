"""Where content goes: registries, OCI layouts, container runtimes and chart repositories."""
