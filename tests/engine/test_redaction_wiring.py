"""Credentials never reach prompts or stored traces through tool output."""

from purpose_desktop.engine.tools import PythonExecTool

FAKE = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def test_python_tool_output_is_redacted():
    code = f"import sys\nprint('token {FAKE[:10]}' + '{FAKE[10:]}')\nprint('{FAKE[:10]}' + '{FAKE[10:]}', file=sys.stderr)"
    res = PythonExecTool().run({"code": code})
    assert res.ok
    assert FAKE not in res.output and "[REDACTED:" in res.output
    assert FAKE not in res.data["stdout"] and FAKE not in res.data["stderr"]
