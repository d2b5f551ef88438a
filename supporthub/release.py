"""`make release VERSION=x.y.z`: bump the one version string, commit and tag.

Steps (each checked before anything is written):
1. VERSION is x.y.z and greater than the current `supporthub.__version__`;
2. the git work tree is clean;
3. CHANGELOG.md has a `## [x.y.z] - YYYY-MM-DD` section (move the Unreleased notes first).
Then supporthub/__init__.py gets the new `__version__`, and a commit "Release x.y.z" with an
annotated tag `vx.y.z` is made. Pushing the tag is left to the person releasing.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION_FILE = Path("supporthub/__init__.py")
CHANGELOG = Path("CHANGELOG.md")
_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
_VERSION_LINE = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)


class ReleaseError(Exception):
    pass


def parse(version: str) -> tuple[int, int, int]:
    match = _SEMVER.match(version)
    if not match:
        raise ReleaseError(f"{version!r} is not a version like 1.2.3")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def current_version(root: Path) -> str:
    match = _VERSION_LINE.search((root / VERSION_FILE).read_text())
    if not match:
        raise ReleaseError(f"no __version__ line in {VERSION_FILE}")
    return match.group(1)


def changelog_versions(root: Path) -> list[str]:
    """Versions with a section in CHANGELOG.md, newest first."""
    return re.findall(r"^## \[(\d+\.\d+\.\d+)\]", (root / CHANGELOG).read_text(), re.MULTILINE)


def _git(root: Path, *args: str) -> str:
    command = ["git", *args]  # git from PATH, as the person releasing runs it
    return subprocess.run(command, cwd=root, check=True, capture_output=True, text=True).stdout  # noqa: S603


def release(version: str, *, root: Path = ROOT, dry_run: bool = False) -> str:
    """Bump, commit and tag; returns the tag name. Raises ReleaseError when a check fails."""
    if parse(version) <= parse(current_version(root)):
        raise ReleaseError(f"{version} is not newer than the current {current_version(root)}")
    if _git(root, "status", "--porcelain").strip():
        raise ReleaseError("the work tree has uncommitted changes")
    if version not in changelog_versions(root):
        raise ReleaseError(f"CHANGELOG.md has no '## [{version}] - <date>' section")
    tag = f"v{version}"
    if dry_run:
        return tag
    path = root / VERSION_FILE
    path.write_text(_VERSION_LINE.sub(f'__version__ = "{version}"', path.read_text(), count=1))
    _git(root, "add", str(VERSION_FILE))
    _git(root, "commit", "-m", f"Release {version}")
    _git(root, "tag", "-a", tag, "-m", f"SupportHub {version}")
    return tag


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("version")
    parser.add_argument("--dry-run", action="store_true", help="check only")
    args = parser.parse_args(argv)
    try:
        tag = release(args.version, dry_run=args.dry_run)
    except (ReleaseError, subprocess.CalledProcessError) as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    print(f"{'would tag' if args.dry_run else 'tagged'} {tag}; push with: git push origin main {tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
