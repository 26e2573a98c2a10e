"""Presentation: renderers that read a Plan (text, JSON, Markdown) and the apply progress.

Views never decide anything and never touch the store. `text`, `json` and `markdown` are pure
(they return strings); `progress` writes to a terminal and is imported on its own.
"""
