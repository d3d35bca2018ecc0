"""skoala-airgap: move vendor offline packages into air-gapped registries, chart repositories and runtimes."""

__version__ = "0.1.0"
