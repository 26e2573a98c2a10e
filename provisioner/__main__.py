"""`python -m provisioner` runs the command-line interface."""

from provisioner.cli import main

main()
