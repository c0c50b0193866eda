"""Thin Flask glue: parse, call one service, render."""
