"""Container runtimes: docker/podman through the Engine API, containerd through ctr."""
