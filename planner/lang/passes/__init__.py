"""The resolver's passes, one module per concern; ``planner.lang.resolve.PASSES`` runs them in order."""
