import json

import pytest
from django.core.management import CommandError, call_command

from opportunities.models import Opportunity
from tests.transfer.helpers import csv_bytes


def test_import_deals_from_the_command_line(admin, process, lost_reason, tmp_path, capsys):
    data = tmp_path / "deals.csv"
    data.write_bytes(
        csv_bytes(
            [
                [
                    "Deal - Title",
                    "Deal - Organization",
                    "Deal - Value",
                    "Deal - Stage",
                    "Deal - Status",
                    "Lost reason",
                    "Deal - Lost time",
                ],
                ["A", "Acme", "10", "Prospect", "lost", "Too dear", "2024-02-01"],
            ]
        )
    )
    mapping = tmp_path / "mapping.json"
    mapping.write_text(
        json.dumps(
            {
                "actor": "admin",
                "process": process.name,
                "values": {"stage": {"Prospect": "Qualify"}, "lost_reason": {"Too dear": "Price"}},
            }
        )
    )
    call_command("import_deals", str(data), mapping=str(mapping))
    assert "1 created" in capsys.readouterr().out
    deal = Opportunity.objects.get()
    assert (deal.status, deal.lost_reason, str(deal.closed_on)) == ("lost", lost_reason, "2024-02-01")


def test_problems_are_printed_per_row_and_nothing_written(admin, process, tmp_path, capsys):
    data = tmp_path / "deals.csv"
    data.write_bytes(csv_bytes([["Name", "Account", "Amount", "Close date"], ["A", "Acme", "ten", "2030-01-01"]]))
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"actor": "admin"}))
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_deals", str(data), mapping=str(mapping))
    assert "Row 2: Amount: “ten” is not a number." in capsys.readouterr().err
    assert not Opportunity.objects.exists()
