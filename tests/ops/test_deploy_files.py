"""The Procfile's release phase prepares what the web processes need with DEBUG off."""

from tests.services import ROOT


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_the_release_phase_migrates_and_collects_the_static_files():
    """With DEBUG off the admin and /docs answer 500 until collectstatic has run."""
    release = procfile()["release"].split(" && ")
    assert release == ["python manage.py migrate --noinput", "python manage.py collectstatic --noinput -v0"]
