"""The plan stage: a compiled plan against the remote and the KV stores -> the dry run.

``run`` is the pipeline of ``planner plan`` (compile, diff, policies, render), ``diff`` computes
every tag and KV change, ``changes`` holds what it computes (``ComputedPlan``, the artifact's model).
"""
