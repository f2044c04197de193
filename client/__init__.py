"""tdscaling.client: the harness that connects MCP servers to models and records what happens.

The hub (``Hub``) connects to any number of MCP servers and routes tool calls; model backends
(``LiteLLMBackend``, ``OpenAICompatBackend``, the offline ``ScriptedAssistant``, and any object fitting
``ModelBackend``) play the assistant; user simulators (``ScriptedUser``, ``LLMUser``) play the user; a
``Harness`` runs episodes of a ``Blueprint`` into verified ``Trajectory`` objects. See docs/harness.md.

Imports are lazy (PEP 562): the ``tdscaling`` command imports this package for its CLI, and the MCP SDK and
litellm should load only when a command needs them.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tdscaling.client._backend import ModelBackend
    from tdscaling.client._blueprint import (
        REASONING_MODES,
        Binding,
        Blueprint,
        Condition,
        Const,
        ExpectedOutcome,
        Fact,
        FactRef,
        PlanStep,
        ReasoningMode,
        StepRef,
        Template,
    )
    from tdscaling.client._call_log import CallLog, CallRecord, ErrorKind, ReportKind, ServerReport
    from tdscaling.client._episode import EpisodeLimits, run_episode
    from tdscaling.client._errors import (
        ClientError,
        FatalModelError,
        HubConfigError,
        ModelAuthError,
        ModelError,
        RetryableModelError,
        ServerConnectError,
    )
    from tdscaling.client._harness import Harness, load_blueprint, load_messages, run_blueprint, verify_trajectory
    from tdscaling.client._hub import Hub, HubTool
    from tdscaling.client._json_repair import ParsedArguments, parse_arguments
    from tdscaling.client._litellm import LiteLLMBackend
    from tdscaling.client._model_types import (
        AssistantMessage,
        ChatMessage,
        GenerationSettings,
        ModelReply,
        ToolCall,
        Usage,
    )
    from tdscaling.client._naming import NamingPolicy
    from tdscaling.client._openai_compat import OpenAICompatBackend
    from tdscaling.client._retry import RetryPolicy, call_with_retries
    from tdscaling.client._schema import openai_parameters, openai_tool
    from tdscaling.client._scripted import ScriptedAssistant
    from tdscaling.client._servers import HttpServer, InProcessServer, ServerConfig, StdioServer
    from tdscaling.client._trajectory import REASON_CODES, Labels, Trajectory
    from tdscaling.client._user import LLMUser, ScriptedUser, UserSimulator, UserTurn
    from tdscaling.client._verify import Judgement, Verifier

_EXPORTS = {
    "AssistantMessage": "tdscaling.client._model_types",
    "Binding": "tdscaling.client._blueprint",
    "Blueprint": "tdscaling.client._blueprint",
    "call_with_retries": "tdscaling.client._retry",
    "CallLog": "tdscaling.client._call_log",
    "CallRecord": "tdscaling.client._call_log",
    "ChatMessage": "tdscaling.client._model_types",
    "ClientError": "tdscaling.client._errors",
    "Condition": "tdscaling.client._blueprint",
    "Const": "tdscaling.client._blueprint",
    "EpisodeLimits": "tdscaling.client._episode",
    "ErrorKind": "tdscaling.client._call_log",
    "ExpectedOutcome": "tdscaling.client._blueprint",
    "Fact": "tdscaling.client._blueprint",
    "FactRef": "tdscaling.client._blueprint",
    "FatalModelError": "tdscaling.client._errors",
    "GenerationSettings": "tdscaling.client._model_types",
    "Harness": "tdscaling.client._harness",
    "HttpServer": "tdscaling.client._servers",
    "Hub": "tdscaling.client._hub",
    "HubConfigError": "tdscaling.client._errors",
    "HubTool": "tdscaling.client._hub",
    "InProcessServer": "tdscaling.client._servers",
    "Judgement": "tdscaling.client._verify",
    "Labels": "tdscaling.client._trajectory",
    "LiteLLMBackend": "tdscaling.client._litellm",
    "LLMUser": "tdscaling.client._user",
    "load_blueprint": "tdscaling.client._harness",
    "load_messages": "tdscaling.client._harness",
    "ModelAuthError": "tdscaling.client._errors",
    "ModelBackend": "tdscaling.client._backend",
    "ModelError": "tdscaling.client._errors",
    "ModelReply": "tdscaling.client._model_types",
    "NamingPolicy": "tdscaling.client._naming",
    "openai_parameters": "tdscaling.client._schema",
    "openai_tool": "tdscaling.client._schema",
    "OpenAICompatBackend": "tdscaling.client._openai_compat",
    "parse_arguments": "tdscaling.client._json_repair",
    "ParsedArguments": "tdscaling.client._json_repair",
    "PlanStep": "tdscaling.client._blueprint",
    "REASON_CODES": "tdscaling.client._trajectory",
    "REASONING_MODES": "tdscaling.client._blueprint",
    "ReasoningMode": "tdscaling.client._blueprint",
    "ReportKind": "tdscaling.client._call_log",
    "RetryableModelError": "tdscaling.client._errors",
    "RetryPolicy": "tdscaling.client._retry",
    "run_blueprint": "tdscaling.client._harness",
    "run_episode": "tdscaling.client._episode",
    "ScriptedAssistant": "tdscaling.client._scripted",
    "ScriptedUser": "tdscaling.client._user",
    "ServerConfig": "tdscaling.client._servers",
    "ServerConnectError": "tdscaling.client._errors",
    "ServerReport": "tdscaling.client._call_log",
    "StdioServer": "tdscaling.client._servers",
    "StepRef": "tdscaling.client._blueprint",
    "Template": "tdscaling.client._blueprint",
    "ToolCall": "tdscaling.client._model_types",
    "Trajectory": "tdscaling.client._trajectory",
    "Usage": "tdscaling.client._model_types",
    "UserSimulator": "tdscaling.client._user",
    "UserTurn": "tdscaling.client._user",
    "Verifier": "tdscaling.client._verify",
    "verify_trajectory": "tdscaling.client._harness",
}

__all__ = [
    "REASONING_MODES",
    "REASON_CODES",
    "AssistantMessage",
    "Binding",
    "Blueprint",
    "CallLog",
    "CallRecord",
    "ChatMessage",
    "ClientError",
    "Condition",
    "Const",
    "EpisodeLimits",
    "ErrorKind",
    "ExpectedOutcome",
    "Fact",
    "FactRef",
    "FatalModelError",
    "GenerationSettings",
    "Harness",
    "HttpServer",
    "Hub",
    "HubConfigError",
    "HubTool",
    "InProcessServer",
    "Judgement",
    "LLMUser",
    "Labels",
    "LiteLLMBackend",
    "ModelAuthError",
    "ModelBackend",
    "ModelError",
    "ModelReply",
    "NamingPolicy",
    "OpenAICompatBackend",
    "ParsedArguments",
    "PlanStep",
    "ReasoningMode",
    "ReportKind",
    "RetryPolicy",
    "RetryableModelError",
    "ScriptedAssistant",
    "ScriptedUser",
    "ServerConfig",
    "ServerConnectError",
    "ServerReport",
    "StdioServer",
    "StepRef",
    "Template",
    "ToolCall",
    "Trajectory",
    "Usage",
    "UserSimulator",
    "UserTurn",
    "Verifier",
    "call_with_retries",
    "load_blueprint",
    "load_messages",
    "openai_parameters",
    "openai_tool",
    "parse_arguments",
    "run_blueprint",
    "run_episode",
    "verify_trajectory",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
