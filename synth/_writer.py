"""An LLM writer for a blueprint's persona and goal (used when a run has ``--model``).

The planner's offline phrasings are templates; a model can say the same thing the way a person would. The
writer only rewords: it never sees the facts' values, and a rewrite is refused (the template is kept) when
it is empty, too long, or names a value the user is meant to give only when asked.
"""

from __future__ import annotations

import logging

from tdscaling.client import Blueprint, ModelAuthError, ModelBackend, ModelError, render

logger = logging.getLogger(__name__)

PROMPT = """Rewrite a customer's request to a service assistant so it sounds like a real person wrote it.
Who they are: {persona}
What they want (keep every action, every condition such as "if ... otherwise ...", and nothing else):
{goal}
Rules: 1-3 sentences, first person, plain words. Do not add names, ids, numbers, dates or any detail that is
not in the request above. Reply with the rewritten request only."""


class GoalWriter:
    """Rewords blueprints' goals with ``backend``; falls back to the template on any problem."""

    def __init__(self, backend: ModelBackend, *, max_chars: int = 600) -> None:
        self.backend = backend
        self.max_chars = max_chars
        self.rewritten = 0
        self.kept = 0

    async def rewrite(self, blueprint: Blueprint) -> Blueprint:
        prompt = PROMPT.format(persona=blueprint.persona, goal=blueprint.goal)
        try:
            reply = await self.backend.complete([{"role": "user", "content": prompt}])
        except ModelAuthError:
            raise  # every later call fails the same way: the run must stop and say which key to set
        except ModelError as e:
            logger.warning("goal writer failed for %s, keeping the template: %s", blueprint.id, e)
            self.kept += 1
            return blueprint
        text = (reply.message.content or "").strip().strip('"').strip()
        hidden = [render(f.value) for f in blueprint.facts if f.reveal == "on_request"]
        if not text or len(text) > self.max_chars or any(h and h in text for h in hidden):
            self.kept += 1
            return blueprint
        self.rewritten += 1
        return blueprint.model_copy(update={"goal": text, "notes": f"goal worded by {self.backend.name}"})
