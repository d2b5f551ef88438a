"""One version string, a changelog that names it, and a release command that tags it."""

import shutil
import subprocess
from pathlib import Path

import pytest

import supporthub
from supporthub.release import ReleaseError, changelog_versions, current_version, main, release
from tests.services import ROOT


def test_the_version_lives_in_one_place_and_the_changelog_names_it():
    assert current_version(ROOT) == supporthub.__version__
    assert changelog_versions(ROOT)[0] == supporthub.__version__


@pytest.mark.django_db
def test_health_reports_the_app_version(client, settings):
    assert supporthub.__version__ == settings.APP_VERSION  # unless APP_VERSION overrides it
    assert client.get("/health/live").json()["version"] == supporthub.__version__


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "supporthub").mkdir()
    shutil.copy(ROOT / "supporthub" / "__init__.py", tmp_path / "supporthub" / "__init__.py")
    (tmp_path / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n\n## [0.1.0] - 2026-01-01\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=tmp_path, check=True)
    subprocess.run(["git", "config", "user.name", "t"], cwd=tmp_path, check=True)
    subprocess.run(["git", "config", "user.email", "t@example.com"], cwd=tmp_path, check=True)
    return tmp_path


def _set_version(repo: Path, version: str) -> None:
    if current_version(repo) == version:
        return
    path = repo / "supporthub" / "__init__.py"
    text = path.read_text()
    path.write_text(text.replace(f'__version__ = "{current_version(repo)}"', f'__version__ = "{version}"'))
    subprocess.run(["git", "commit", "-qam", "v"], cwd=repo, check=True)


def test_release_bumps_the_version_commits_and_tags(repo):
    _set_version(repo, "0.1.0")
    changelog = repo / "CHANGELOG.md"
    changelog.write_text(
        changelog.read_text().replace("## [Unreleased]\n", "## [Unreleased]\n\n## [0.2.0] - 2026-02-01\n")
    )
    subprocess.run(["git", "commit", "-qam", "changelog"], cwd=repo, check=True)

    assert release("0.2.0", root=repo) == "v0.2.0"

    assert current_version(repo) == "0.2.0"
    tags = subprocess.run(["git", "tag"], cwd=repo, capture_output=True, text=True, check=True).stdout
    assert tags.split() == ["v0.2.0"]
    log = subprocess.run(["git", "log", "-1", "--format=%s"], cwd=repo, capture_output=True, text=True).stdout
    assert log.strip() == "Release 0.2.0"


@pytest.mark.parametrize(
    ("version", "problem"),
    [("0.2", "not a version"), ("0.0.9", "not newer"), ("0.3.0", r"no '## \[0\.3\.0\]")],
)
def test_release_refuses_bad_requests(repo, version, problem):
    _set_version(repo, "0.1.0")
    with pytest.raises(ReleaseError, match=problem):
        release(version, root=repo)


def test_release_refuses_a_dirty_tree(repo):
    _set_version(repo, "0.1.0")
    (repo / "stray.txt").write_text("x")
    with pytest.raises(ReleaseError, match="uncommitted"):
        release("0.2.0", root=repo)


def test_the_release_command_checks_without_writing_in_dry_run(capsys):
    assert main(["0.0.1", "--dry-run"]) == 1
    assert "not newer" in capsys.readouterr().err
