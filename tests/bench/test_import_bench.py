"""The import benchmark's file imports cleanly (at a size a test can afford)."""

from bench import import_bench
from opportunities.models import Opportunity


def test_the_generated_file_imports_every_row(admin, owner, process, lost_reason, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    data = import_bench.generate(30, process=process, owners=[owner.username], lost_reason=lost_reason.name)
    seconds, job = import_bench.timed_import(data, actor=admin, process=process)
    assert job.status == "done", job.errors
    assert Opportunity.objects.count() == 30
    assert set(Opportunity.objects.values_list("status", flat=True)) == {"lost", "open", "won"}
