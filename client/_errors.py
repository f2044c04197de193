"""The client package's exception tree.

Misuse by the caller (a bad server list, a duplicate name) raises ``HubConfigError``
at once. Failures at run time are split by who can act on them:

* ``ServerConnectError``: a server could not be reached when the hub opened.
  Once the hub is open, a server that fails is never raised into the conversation:
  it becomes an error result for that call plus a ``ServerReport``.
* ``ModelError``: the model backend failed. ``RetryableModelError`` (rate limit,
  5xx, timeout, connection) is raised only after the retry policy is exhausted;
  ``FatalModelError`` (auth, bad request, unknown model, malformed response) is
  raised at the first attempt, because repeating it cannot help. Its subclass
  ``ModelAuthError`` (credentials missing or refused) is not a fact about one
  conversation: an episode lets it through instead of recording a rejection, so a
  run stops at once with a message saying which key to set.
"""

from __future__ import annotations


class ClientError(Exception):
    """Base of every error raised by ``tdscaling.client``."""


class HubConfigError(ClientError, ValueError):
    """The hub was configured wrongly (duplicate or empty server names, bad separator)."""


class ServerConnectError(ClientError):
    """One or more servers failed to connect while the hub was opening.

    Attributes:
        failures: server name -> what happened, one entry per failed server.
    """

    def __init__(self, failures: dict[str, str]) -> None:
        self.failures = dict(failures)
        lines = "; ".join(f"{name}: {why}" for name, why in self.failures.items())
        super().__init__(f"could not connect to {len(self.failures)} MCP server(s): {lines}")


class ModelError(ClientError):
    """A model backend call failed.

    Attributes:
        model: the model string the call used.
        status_code: the HTTP status when there was one.
        attempts: how many attempts were made before giving up.
    """

    def __init__(self, message: str, *, model: str, status_code: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.model = model
        self.status_code = status_code
        self.attempts = attempts


class RetryableModelError(ModelError):
    """A transient failure: rate limit (429), server error (5xx), timeout, connection failure.

    Attributes:
        retry_after_s: the server's ``Retry-After`` hint in seconds, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        model: str,
        status_code: int | None = None,
        attempts: int = 1,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, model=model, status_code=status_code, attempts=attempts)
        self.retry_after_s = retry_after_s


class FatalModelError(ModelError):
    """A failure that repeating cannot fix: auth (401/403), bad request (400), unknown model (404)."""


class ModelAuthError(FatalModelError):
    """The provider refused the credentials, or none were given (HTTP 401/403, litellm's
    ``AuthenticationError``, or a client that found no API key).

    Attributes:
        env_vars: the environment variables the provider reads its key from, when known
            (``("OPENAI_API_KEY",)``), for the message a command line shows.
    """

    def __init__(self, message: str, *, model: str, status_code: int | None = None, attempts: int = 1,
                 env_vars: tuple[str, ...] = ()) -> None:
        super().__init__(message, model=model, status_code=status_code, attempts=attempts)
        self.env_vars = env_vars
