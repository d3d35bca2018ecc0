"""Allow `python -m skoala_airgap`."""

from skoala_airgap.cli.main import main

main()
