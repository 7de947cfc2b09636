"""``python -m recsys`` runs the CLI."""

from recsys.app.cli import app

if __name__ == "__main__":  # a spawned child process (multiprocessing) imports this module without running the CLI
    app()
