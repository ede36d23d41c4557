"""``python -m watchfloor`` runs the command line."""

from watchfloor.cli import app

app(prog_name="watchfloor")
