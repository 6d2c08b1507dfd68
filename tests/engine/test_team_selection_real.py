"""The code phase with the real bundled GGUF: the team keeps what one plain answer gets (hidden tests decide)."""

from __future__ import annotations

import pytest

from purpose_desktop.engine.agents.team import purpose
from purpose_desktop.engine.critic import PurposeFunction, extract_code
from purpose_desktop.engine.grounding import GROUNDS
from purpose_desktop.engine.models import LocalModel
from purpose_desktop.engine.runmode import RunMode
from purpose_desktop.engine.store import Store

pytestmark = pytest.mark.model

TASK = "Write a function add(a, b) that returns the sum of a and b."
HIDDEN = "from solution import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n    assert add(-4, 1) == -3\n"


@pytest.mark.timeout(900)  # three roles and their judges: 96 s at load 11 alone, over 300 s beside a bench on the shared machine
def test_the_team_keeps_a_correct_plain_answer(default_model_path, tmp_path):
    model = LocalModel(default_model_path, n_ctx=4096)
    store = Store(tmp_path / "real.db")
    try:
        team = purpose("Help me write Python code", model=model, store=store)
        team.spec.max_tokens_per_step = 128
        team.spec.max_retries = 0  # the plain answer, the plan's code and the tester's own code compete
        result = team.run(TASK, mode=RunMode.EVAL_TEST)
        sel = result.selection
        assert sel["candidates"][0] == "coder attempt 0" and sel["chosen"] in sel["candidates"]
        coders = [s for s in result.steps if s.role == "coder"]
        if sel["first_passed"]:  # nothing more was generated, and the first answer is the answer
            assert len(coders) == 1 and sel["chosen"] == "coder attempt 0"
        assert result.grounded_by in GROUNDS and "assert" not in result.answer.split("```")[0]
        code = extract_code(result.answer)
        # hidden tests the run never saw: the bundled model's plain answer to this task is right, and the
        # team must not lose it to a plan, a wrong check or a later attempt
        assert code and PurposeFunction(None).run_tests(code, HIDDEN).all_passed, result.answer
    finally:
        store.close()
        model.close()
