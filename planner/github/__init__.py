"""``planner github``: the pull-request check and the main-branch reconcile, as GitHub Actions run them.

``actions`` is the runner's file protocol (event, outputs, summary, annotations), ``rest`` the REST
client, ``sticky`` the one comment per pull request, ``gitlog`` which plan files a pull request
changes and which were merged in which order, ``pr`` and ``reconcile`` the two commands.
"""
