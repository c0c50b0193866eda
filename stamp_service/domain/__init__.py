"""Plain domain rules: no Flask, no SQL."""
