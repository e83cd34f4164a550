"""The `answerdb` command: its options (main), one handler per command (commands), text and
JSON output (output)."""
