"""Typed faces of the APIs (`stack.inference`, `stack.aio.inference`), generated from the Protocols."""
