"""tdscaling.client: the harness that connects MCP servers to models and records what happens.

The tasks, each what one command does:

* ``run_episode(blueprint, model=..., user_model=...)`` and ``run_episode_async``: one episode of a blueprint,
  played and judged (``tdscaling episode run``); models are ``"scripted"`` (offline) or litellm model strings;
* ``verify(blueprint, messages)`` and ``verify_async``: the ``Judgement`` of a conversation made anywhere, by
  replay (``tdscaling episode verify``).

Beneath them: the hub (``Hub``) connects to any number of MCP servers and routes tool calls, each a
``CallRecord``; model backends (``LiteLLMBackend``, ``OpenAICompatBackend``, the offline ``ScriptedAssistant``,
any ``ModelBackend``) play the assistant and user simulators (``ScriptedUser``, ``LLMUser``) the user; a
``Harness`` runs many episodes of ``Blueprint``s over ``World``s into judged ``Trajectory`` objects.
See docs/api.md and docs/harness.md.

Nothing is imported until first used (``tdscaling.common.lazy_exports``): the ``tdscaling`` command imports
this package for its CLI, and the MCP SDK and litellm should load only when a command needs them.
"""

from typing import TYPE_CHECKING

from tdscaling.common import lazy_exports

if TYPE_CHECKING:
    from ._backend import ModelBackend
    from ._bind import BindingError, holds, render, resolve
    from ._blueprint import (
        CLUSTER,
        REASONING_MODES,
        SANDBOX,
        Binding,
        Blueprint,
        Condition,
        Const,
        ExpectedOutcome,
        Fact,
        FactRef,
        PlanStep,
        ReasoningMode,
        ServerName,
        StepRef,
        Template,
    )
    from ._call_log import CallLog, ReportKind, ServerReport
    from ._calls import CallRecord, ErrorKind, ToolOutcome
    from ._conversation import Conversation, EpisodeLimits
    from ._episode import episode_id, play_episode
    from ._errors import (
        ClientError,
        FatalModelError,
        HubConfigError,
        ModelAuthError,
        ModelError,
        RetryableModelError,
        ServerConnectError,
    )
    from ._facts import contains_fact, guessable
    from ._harness import Harness, load_blueprint, load_messages
    from ._hub import Hub, HubTool
    from ._json_repair import ParsedArguments, parse_arguments
    from ._litellm import LiteLLMBackend
    from ._model_types import AssistantMessage, ChatMessage, GenerationSettings, ModelReply, ToolCall, Usage
    from ._naming import NamingPolicy
    from ._openai_compat import OpenAICompatBackend
    from ._plan_run import PlanRun, StepResult, run_plan
    from ._players import SCRIPTED, Model, Players, model_backend
    from ._retry import RetryPolicy, call_with_retries
    from ._schema import openai_parameters, openai_tool
    from ._scripted import ScriptedAssistant
    from ._servers import HttpServer, InProcessServer, ServerConfig, StdioServer
    from ._tasks import run_episode, run_episode_async, verify, verify_async
    from ._trajectory import Labels, RoleUsage, Trajectory
    from ._user import LLMUser, ScriptedUser, UserSimulator, UserTurn
    from ._verdict import REASON_CODES, Judgement, VerdictName
    from ._verify import GoldCheck, Verifier
    from ._world import SandboxCaller, World

__all__, __getattr__, __dir__ = lazy_exports(__name__, __file__)
