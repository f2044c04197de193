"""tdscaling.client: the harness that connects MCP servers to models and records what happens.

The hub (``Hub``) connects to any number of MCP servers and routes tool calls; model
backends (``LiteLLMBackend``, ``OpenAICompatBackend``, and any object fitting ``ModelBackend``) play the
assistant or the user. See docs/harness.md.
"""

from ._backend import ModelBackend
from ._call_log import CallLog, CallRecord, ErrorKind, ReportKind, ServerReport
from ._errors import (
    ClientError,
    FatalModelError,
    HubConfigError,
    ModelError,
    RetryableModelError,
    ServerConnectError,
)
from ._hub import Hub, HubTool
from ._json_repair import ParsedArguments, parse_arguments
from ._litellm import LiteLLMBackend
from ._model_types import AssistantMessage, ChatMessage, GenerationSettings, ModelReply, ToolCall, Usage
from ._naming import NamingPolicy
from ._openai_compat import OpenAICompatBackend
from ._retry import RetryPolicy, call_with_retries
from ._schema import openai_parameters, openai_tool
from ._servers import HttpServer, InProcessServer, ServerConfig, StdioServer

__all__ = [
    "AssistantMessage",
    "CallLog",
    "CallRecord",
    "ChatMessage",
    "ClientError",
    "ErrorKind",
    "FatalModelError",
    "GenerationSettings",
    "HttpServer",
    "Hub",
    "HubConfigError",
    "HubTool",
    "InProcessServer",
    "LiteLLMBackend",
    "ModelBackend",
    "ModelError",
    "ModelReply",
    "NamingPolicy",
    "OpenAICompatBackend",
    "ParsedArguments",
    "ReportKind",
    "RetryPolicy",
    "RetryableModelError",
    "ServerConfig",
    "ServerConnectError",
    "ServerReport",
    "StdioServer",
    "ToolCall",
    "Usage",
    "call_with_retries",
    "openai_parameters",
    "openai_tool",
    "parse_arguments",
]
