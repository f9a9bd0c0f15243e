from ipmo.cli import app

app()
