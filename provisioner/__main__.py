"""`python -m provisioner` runs the command-line interface."""

from provisioner.entry import main

main()
