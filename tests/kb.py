"""Knowledge bases built once per test session from the bundled demo articles."""

from __future__ import annotations

from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"
CAREERS = "computer-vision/careers-in-computer-vision"
CAREERS_QUESTION = "What are the career options related to computer vision?"
