"""One module per schema revision; frozen history, never edited after release."""
