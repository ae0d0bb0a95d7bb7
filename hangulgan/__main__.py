"""``python -m hangulgan`` runs the command line."""

from hangulgan.cli import main

main()
