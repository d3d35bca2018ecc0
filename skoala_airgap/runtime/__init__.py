"""Container runtimes: docker/podman Engine API and containerd."""
