"""Workspace path rules: whatever the input, an accepted path stays inside the workspace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tdscaling.sandbox import WorkspacePathError
from tdscaling.sandbox._workspace import read_file, split_path, write_file


@given(st.lists(st.sampled_from(["a", ".", "/", "..", "b", "\x00", "é"]), max_size=30).map("".join))
def test_an_accepted_path_never_has_parent_or_absolute_parts(path: str) -> None:
    try:
        parts = split_path(path)
    except WorkspacePathError:
        return
    assert parts and ".." not in parts and "" not in parts and not path.startswith("/")
    assert all("/" not in part and "\x00" not in part for part in parts)


def test_a_symlink_swapped_in_for_a_directory_is_not_followed(tmp_path: Path) -> None:
    workspace, outside = tmp_path / "ws", tmp_path / "outside"
    workspace.mkdir()
    outside.mkdir()
    (outside / "target.txt").write_text("host data")
    (workspace / "sub").symlink_to(outside)
    with pytest.raises(WorkspacePathError):
        read_file(workspace, "sub/target.txt", max_bytes=100)
    with pytest.raises(WorkspacePathError):
        write_file(workspace, "sub/new.txt", b"x")
    assert not (outside / "new.txt").exists()


def test_a_fifo_is_refused_instead_of_blocking_the_server(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(WorkspacePathError, match="not a regular file"):
        read_file(tmp_path, "pipe", max_bytes=100)
