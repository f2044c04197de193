"""The names of the sandbox server's tools: the one place they are spelled (clients read them from here)."""

from __future__ import annotations

EXECUTE_CODE = "execute_code"
WRITE_FILE = "write_file"
READ_FILE = "read_file"
LIST_FILES = "list_files"
RESET_SESSION = "reset_session"
SANDBOX_TOOLS: frozenset[str] = frozenset({EXECUTE_CODE, WRITE_FILE, READ_FILE, LIST_FILES, RESET_SESSION})
