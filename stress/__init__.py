"""Stress and crash tools for answerdb's store: kill -9 loops, many processes, fuzzing aids."""
