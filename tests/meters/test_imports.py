"""Parsing and importing an installer's meter list: every bad row reported, nothing saved."""

from __future__ import annotations

import pytest

from meters import services
from meters.imports import parse_meter_csv
from meters.models import Meter, MeterType

pytestmark = pytest.mark.django_db


def _errors(text):
    return {(e.line, e.column) for e in parse_meter_csv(text)[1]}


def test_comma_and_semicolon_files_with_header_aliases():
    rows, errors = parse_meter_csv(
        "Meter Number,Meter Type,Location,CT ratio\nE-1,Electric,Hall,40\n"
    )
    assert not errors
    assert rows[0].values["serial_number"] == "E-1" and rows[0].values["type"] == "electricity"
    assert rows[0].values["label"] == "Hall" and str(rows[0].values["multiplier"]) == "40"
    rows, errors = parse_meter_csv("serial;type;multiplier\nG-1;Gas;2,5\n")
    assert not errors and str(rows[0].values["multiplier"]) == "2.5"
    assert rows[0].values["unit"] == "m³"


def test_windows_encoded_file_with_bom_and_blank_lines():
    content = "\ufeffserial;type;label\r\nH-1;heat;Küche\r\n\r\n".encode()
    rows, errors = parse_meter_csv(content)
    assert not errors and rows[0].values["label"] == "Küche"
    rows, errors = parse_meter_csv("serial;type;label\nH-1;heat;Küche\n".encode("cp1252"))
    assert not errors and rows[0].values["label"] == "Küche"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {(1, "")}),
        ("serial\nE-1\n", {(1, "type")}),
        ("serial,type,colour\nE-1,gas,red\n", {(1, "colour")}),
        ("serial,type,serial_number\nE-1,gas,E-1\n", {(1, "serial_number")}),
        ("serial,type\n", {(2, "")}),
        ("serial,type\n,gas\n", {(2, "serial_number")}),
        ("serial,type\nE-1,\n", {(2, "type")}),
        ("serial,type\nE-1,plasma\n", {(2, "type")}),
        ("serial,type,unit\nE-1,electricity,m3\n", {(2, "unit")}),
        ("serial,type,register_digits\nE-1,gas,16\n", {(2, "register_digits")}),
        ("serial,type,multiplier\nE-1,gas,-2\n", {(2, "multiplier")}),
    ],
)
def test_each_bad_input_names_line_and_column(text, expected):
    assert _errors(text) == expected


def test_import_service_reports_file_and_database_conflicts_and_saves_nothing(in_org_a):
    services.meter_create(type=MeterType.GAS, serial_number="G-OLD")
    text = (
        "serial,type,parent\n"
        "G-OLD,gas,\n"  # exists in the organization
        "E-1,electricity,\n"
        "E-1,electricity,\n"  # twice in the file
        "E-2,electricity,E-2\n"  # its own parent
        "E-3,electricity,G-OLD\n"  # parent of another type
        "E-4,electricity,X-9\n"  # unknown parent
        "E-5,water,\n"  # ambiguous type
    )
    with pytest.raises(services.MeterImportRejected) as exc:
        services.meter_import_csv(content=text)
    found = {(e.line, e.column) for e in exc.value.errors}
    assert found == {
        (2, "serial_number"),
        (4, "serial_number"),
        (5, "parent"),
        (6, "parent"),
        (7, "parent"),
        (8, "type"),
    }
    assert any("line 8, column type" in m for m in exc.value.message_dict["file"])
    assert list(Meter.objects.values_list("serial_number", flat=True)) == ["G-OLD"]


def test_import_links_parents_in_the_same_file(in_org_a):
    created = services.meter_import_csv(
        content="serial;type;parent\nE-SUB;electricity;E-MAIN\nE-MAIN;electricity;\n"
    )
    assert len(created) == 2
    assert Meter.objects.get(serial_number="E-SUB").parent.serial_number == "E-MAIN"
