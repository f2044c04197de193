"""tdscaling.client: the harness that connects MCP servers to models and records what happens.

The hub (``Hub``) connects to any number of MCP servers and routes tool calls; model backends
(``LiteLLMBackend``, ``OpenAICompatBackend``, the offline ``ScriptedAssistant``, and any object fitting
``ModelBackend``) play the assistant; user simulators (``ScriptedUser``, ``LLMUser``) play the user; a
``Harness`` runs episodes of a ``Blueprint`` into verified ``Trajectory`` objects. See docs/harness.md.

Nothing is imported until first used (``tdscaling.common.lazy_exports``): the ``tdscaling`` command imports
this package for its CLI, and the MCP SDK and litellm should load only when a command needs them.
"""

from typing import TYPE_CHECKING

from tdscaling.common import lazy_exports

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

__all__, __getattr__, __dir__ = lazy_exports(__name__, __file__)
