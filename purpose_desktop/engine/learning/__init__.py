"""Learning: what turns runs into evidence — credit for the memories a run used, candidate lessons, replay A/B tests.

Modules: distil (candidate lessons from a run's steps), credit (utility, demotion, chat feedback),
replay (A/B evidence, ``retest``, ``replay_pending``), after_run (``learn_from_run``: the one
after-run pass that Team and every orchestrator call). Sits above ``memory`` and below ``agents``.
"""
