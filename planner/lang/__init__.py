"""The plan language: lark grammar -> syntax tree -> AST dataclasses -> resolved, ordered steps."""
