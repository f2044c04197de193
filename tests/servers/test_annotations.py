"""Tool annotations tell the truth about writes, read the way an MCP host reads them: from tools/list."""

from __future__ import annotations

import pytest
from mcp import Client

from tdscaling.servers import Catalog, ClusterRuntime, Templates, domain_cluster

pytestmark = pytest.mark.anyio


async def _hints(catalog: Catalog, templates: Templates, domain: str) -> dict[str, tuple[bool, bool]]:
    """``(readOnlyHint, destructiveHint)`` of every tool the domain's server lists."""
    rt = ClusterRuntime(domain_cluster(catalog.get(domain)), catalog, templates=templates)
    async with Client(rt.server) as c:
        tools = (await c.list_tools()).tools
    out = {}
    for t in tools:
        assert t.annotations is not None
        out[t.name] = (bool(t.annotations.read_only_hint), bool(t.annotations.destructive_hint))
    return out


@pytest.mark.parametrize(("domain", "destructive", "not_destructive"), [
    # an order's refund ends its life; a cancelled order can only be refunded, never paid or shipped again;
    # paying and shipping cannot be taken back either. A customer account can be closed and reopened.
    ("online_store", ["refund_order", "cancel_order", "pay_order", "ship_order", "mark_order_delivered"],
     ["close_customer_account", "reopen_customer_account", "create_customer", "place_order", "restock_product"]),
    # money leaving an account; a closed account or a blocked card stays so; a freeze is undone by unfreeze
    ("retail_bank", ["transfer_funds", "close_account", "block_card"],
     ["freeze_account", "unfreeze_account", "open_account"]),
    # a create whose effect fires the payment's refund: the payment cannot be captured again
    ("payment_gateway", ["refund_payment"], []),
    ("deployment_pipeline", ["tear_down_environment"], []),
], ids=["online_store", "retail_bank", "payment_gateway", "deployment_pipeline"])
async def test_writes_that_remove_or_cannot_be_undone_are_listed_as_destructive(
        catalog: Catalog, templates: Templates, domain: str, destructive: list[str],
        not_destructive: list[str]) -> None:
    hints = await _hints(catalog, templates, domain)
    assert {name: hints[name] for name in destructive} == {name: (False, True) for name in destructive}
    assert {name: hints[name] for name in not_destructive} == {name: (False, False) for name in not_destructive}


async def test_no_read_is_destructive_and_every_delete_and_transfer_is(catalog: Catalog,
                                                                        templates: Templates) -> None:
    for d in catalog:
        hints = await _hints(catalog, templates, d.name)
        for op in d.operations:
            read_only, destructive = hints[op.name]
            if op.kind in ("get", "search", "aggregate"):
                assert read_only and not destructive, (d.name, op.name)
            elif op.kind in ("delete", "transfer"):
                assert destructive and not read_only, (d.name, op.name)
