"""Domain files users write: each kind of mistake gets its documented one-line error, exit code 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tdscaling.servers import Catalog, SpecError, load_domain_file

Data = dict[str, Any]


def _op(d: Data, name: str) -> Data:
    return next(op for op in d["operations"] if op["name"] == name)


def _set(path: list[Any], value: Any) -> Callable[[Data], None]:
    def apply(d: Data) -> None:
        node = d
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return apply


CASES: list[tuple[str, Callable[[Data], None], str]] = [
    ("ref to an unknown entity", _set(["entities", "order", "fields", "customer_id", "ref"], "client"),
     "entities.order.fields.customer_id: references unknown entity 'client'"),
    ("unknown field type", _set(["entities", "order", "fields", "total", "type"], "currency"),
     "entities.order.fields.total.type: Input should be"),
    ("unknown key", _set(["entities", "order", "colour"], "red"), "entities.order.colour: unknown key"),
    ("missing required key", lambda d: d.pop("description"), "description: required key is missing"),
    ("enum without values", _set(["entities", "product", "fields", "category", "values"], None),
     "entities.product.fields.category: an enum field needs a non-empty 'values' list"),
    ("unknown operation kind", lambda d: _op(d, "get_order").update(kind="fetch"),
     "operations.get_order.kind: unknown kind 'fetch'"),
    ("operation on an unknown entity", lambda d: _op(d, "get_order").update(entity="invoice"),
     "operations.get_order.entity: references unknown entity 'invoice'"),
    ("unknown transition", lambda d: _op(d, "pay_order").update(transition="settle"),
     "operations.pay_order.transition: unknown transition 'settle'"),
    ("transition to an unknown state",
     _set(["entities", "order", "state_machine", "transitions", 0, "to"], "settled"),
     "entities.order.state_machine.transitions[0]: unknown state 'settled'"),
    ("unreachable state", lambda d: d["entities"]["order"]["state_machine"]["transitions"].pop(),
     "entities.order.state_machine.states: states ['refunded'] cannot be reached from 'pending'"),
    ("precondition on an unknown input",
     lambda d: _op(d, "place_order")["preconditions"][0].update(param="client_id"),
     "operations.place_order.preconditions[0].param: unknown input 'client_id'"),
    ("unknown precondition kind", lambda d: _op(d, "place_order")["preconditions"][0].update(kind="maybe"),
     "operations.place_order.preconditions[0]: Input tag 'maybe' found using 'kind' does not match"),
    ("create that omits a required field", lambda d: _op(d, "place_order")["fields"].remove("quantity"),
     "operations.place_order.fields: a create must accept the required field 'quantity'"),
    ("unknown value generator", _set(["entities", "customer", "fields", "name", "faker"], "os.system"),
     "entities.customer.fields.name.faker: unknown generator 'os.system'"),
    ("duplicate operation name", lambda d: _op(d, "get_order").update(name="get_product"),
     "operations[5].name: operation 'get_product' is defined more than once"),
    ("aggregate over a text field", lambda d: _op(d, "order_statistics")["measures"].append("tracking_number"),
     "operations.order_statistics.measures[2]: 'tracking_number' is string"),
    ("compare on a date input", lambda d: _op(d, "place_order")["preconditions"].append(
        {"kind": "compare", "param": "placed_on", "op": "<=", "value": 5}),
     "operations.place_order.preconditions[2].param: input 'placed_on' is date; a compared input must be an "
     "integer, number or money input"),
    ("sufficient amount naming a date", lambda d: _op(d, "place_order")["preconditions"][1].update(
        amount="placed_on"),
     "operations.place_order.preconditions[1].amount: input 'placed_on' is date; the amount must be"),
    ("adjust by a date", lambda d: _op(d, "place_order")["effects"][0].update(by="placed_on"),
     "operations.place_order.effects[0].by: input 'placed_on' is date; 'by' must be"),
    ("a field named like the id input", _set(["entities", "order", "fields", "order_id"], {"type": "string"}),
     "entities.order.fields.order_id: a field of 'order' cannot be named 'order_id': that is the name of its id "
     "input"),
    ("an input named twice", lambda d: (_set(["entities", "order", "fields", "offset"],
                                             {"type": "string", "required": False})(d),
                                        _op(d, "search_orders")["fields"].append("offset")),
     "operations.search_orders.fields: the tool would take ['offset'] twice; rename the field"),
    ("unique on a number", _set(["entities", "product", "fields", "stock", "unique"], True),
     "entities.product.fields.stock.unique: only string and enum fields can be unique (this one is integer)"),
    ("unique on a ref", _set(["entities", "order", "fields", "customer_id", "unique"], True),
     "entities.order.fields.customer_id.unique: only string and enum fields can be unique (this one is ref)"),
    ("an integer range without a whole number", lambda d: d["entities"]["order"]["fields"]["quantity"].update(
        min=1.2, max=1.8), "entities.order.fields.quantity: [1.2, 1.8] holds no whole number"),
    ("a state precondition on a create", lambda d: _op(d, "place_order")["preconditions"].append(
        {"kind": "state", "states": ["pending"]}),
     "operations.place_order.preconditions[2]: a 'state' precondition needs a record the operation acts on, "
     "and a create acts on none"),
    ("a no_dependents precondition on a search", lambda d: _op(d, "search_customers").update(preconditions=[
        {"kind": "no_dependents", "entity": "order", "ref_field": "customer_id", "states": ["pending"]}]),
     "operations.search_customers.preconditions[0]: a 'no_dependents' precondition needs a record the operation "
     "acts on, and a search acts on none"),
]


@pytest.mark.parametrize(("mistake", "damage", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_malformed_domain_file_gets_an_error_naming_file_path_and_expectation(
    tmp_path: Path, example_domain: Data, mistake: str, damage: Callable[[Data], None], expected: str
) -> None:
    damage(example_domain)
    f = tmp_path / "shop.json"
    f.write_text(json.dumps(example_domain))
    with pytest.raises(SpecError) as err:
        load_domain_file(f)
    assert str(err.value).startswith(f"shop.json: {expected}"), str(err.value)
    assert "\n" not in str(err.value)


def test_invalid_json_names_the_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "broken.json"
    f.write_text('{\n  "name": "x",\n  oops\n}')
    with pytest.raises(SpecError, match=r"^broken\.json: invalid JSON at line 3 column 3"):
        load_domain_file(f)


def test_a_file_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "list.json"
    f.write_text("[1, 2]")
    with pytest.raises(SpecError, match=r"^list\.json: \(top level\): expected a JSON object, got list"):
        load_domain_file(f)


def test_the_cli_reports_a_bad_catalog_file_in_one_line_with_exit_code_2(
    tmp_path: Path, example_domain: Data, cli: Any
) -> None:
    example_domain["entities"]["order"]["fields"]["customer_id"]["ref"] = "physician"
    (tmp_path / "clinic.json").write_text(json.dumps(example_domain))
    r = cli("domains", "list", "--catalog", str(tmp_path))
    assert r.returncode == 2
    assert r.stderr.strip() == ("error: clinic.json: entities.order.fields.customer_id: references unknown entity "
                                "'physician'; known entities are ['customer', 'order', 'product']")
    assert "Traceback" not in r.stderr + r.stdout


def test_a_catalog_directory_adds_user_domains_to_the_builtin_ones(tmp_path: Path, example_domain: Data,
                                                                    cli: Any) -> None:
    example_domain["name"] = "my_shop"
    (tmp_path / "my_shop.json").write_text(json.dumps(example_domain))
    cat = Catalog.load([tmp_path])
    assert "my_shop" in cat and "online_store" in cat
    r = cli("domains", "list", "--json", "--catalog", str(tmp_path))
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert rows["my_shop"]["entities"] == 3 and rows["my_shop"]["operations"] == 17
    assert set(rows["my_shop"]) >= {"name", "entities", "operations", "description"}


def test_unknown_domains_are_named_with_the_list_of_known_ones(cli: Any, tmp_path: Path) -> None:
    r = cli("clusters", "generate", "-n", "3", "-o", str(tmp_path / "c.jsonl"), "--domains", "online_store,shoes")
    assert r.returncode == 2
    assert "unknown domain shoes; known domains are" in r.stderr and "online_store" in r.stderr
    assert not (tmp_path / "c.jsonl").exists()


def test_the_documented_errors_are_the_ones_raised() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "domain-format.md").read_text()
    for _, _, expected in CASES:
        fragment = expected.split(": ", 1)[1][:40]
        assert fragment in doc, f"docs/domain-format.md does not document: {fragment}"
