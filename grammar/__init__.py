"""The plan grammar, installed as the package ``planner.grammar`` (see pyproject.toml)."""
