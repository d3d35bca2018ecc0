"""Sources: offline packages, bundles, every images.tar flavour and OCI layouts, read in place."""
