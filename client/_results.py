"""What a model is shown for an MCP tool result."""

from __future__ import annotations

import mcp_types as types


def content_text(result: types.CallToolResult) -> str:
    """The result's content as text: text parts verbatim, other parts as a short placeholder."""
    parts: list[str] = []
    for block in result.content:
        match block:
            case types.TextContent():
                parts.append(block.text)
            case types.EmbeddedResource(resource=types.TextResourceContents() as resource):
                parts.append(resource.text)
            case types.ImageContent() | types.AudioContent():
                parts.append(f"[{block.type} content, {block.mime_type}]")
            case types.ResourceLink():
                parts.append(f"[resource link {block.uri}]")
            case _:
                parts.append(f"[{block.type} content]")
    return "\n".join(parts)
