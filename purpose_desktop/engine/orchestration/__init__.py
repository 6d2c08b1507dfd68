"""Orchestration over Sparks and Teams: Flow (graphs), swarm (many tasks at once), Council, LLMCompiler."""

from purpose_desktop.engine.orchestration.base import OrchestrationError
from purpose_desktop.engine.orchestration.compiler import CompilerResult, LLMCompiler
from purpose_desktop.engine.orchestration.council import Council, CouncilResult
from purpose_desktop.engine.orchestration.flow import BEGIN, DONE_SIGNAL, Flow, FlowResult
from purpose_desktop.engine.orchestration.plan import Plan, PlanError, plan_schema, validate_plan
from purpose_desktop.engine.orchestration.swarm import FairQueue, ModelOwner, SwarmResult, swarm

__all__ = [
    "BEGIN",
    "DONE_SIGNAL",
    "CompilerResult",
    "Council",
    "CouncilResult",
    "FairQueue",
    "Flow",
    "FlowResult",
    "LLMCompiler",
    "ModelOwner",
    "OrchestrationError",
    "Plan",
    "PlanError",
    "SwarmResult",
    "plan_schema",
    "swarm",
    "validate_plan",
]
