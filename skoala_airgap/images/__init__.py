"""Image sources: every images.tar flavour and OCI layouts mapped onto one image model."""
