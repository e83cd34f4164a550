"""The `answerdb` command: parsing (main), one handler per command (commands), text output."""

from answerdb.cli.main import main

__all__ = ["main"]
