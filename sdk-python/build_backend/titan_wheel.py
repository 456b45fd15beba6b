"""The build backend (PEP 517) of titan-sdk, written with the standard library alone.

The setuptools that Python installs (before 70.1) builds no wheel without the separate `wheel`
package, and a machine with no network cannot fetch it. titan-sdk is pure Python with no
dependencies, so its wheel is a zip of titan_sdk/ and three metadata files (PEP 427), which this
writes: `pip wheel --no-build-isolation sdk-python` and `pip install ./sdk-python` need nothing else.
"""

import base64
import hashlib
import io
import os
import tarfile
import zipfile

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11: the SDK runs there, building it needs 3.11
    tomllib = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "titan_sdk"
# Fixed entry times, so building the same sources twice gives the same wheel.
EPOCH = (1980, 1, 1, 0, 0, 0)


def _project():
    if tomllib is None:
        raise RuntimeError("building titan-sdk needs Python 3.11 or later (tomllib); the SDK itself runs on 3.9+")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)["project"]


def _metadata(project):
    with open(os.path.join(ROOT, project["readme"]), encoding="utf-8") as f:
        readme = f.read()
    fields = [
        ("Metadata-Version", "2.1"),
        ("Name", project["name"]),
        ("Version", project["version"]),
        ("Summary", project["description"]),
        ("License", project["license"]["text"]),
        ("Requires-Python", project["requires-python"]),
        ("Description-Content-Type", "text/markdown"),
    ]
    return "".join(f"{key}: {value}\n" for key, value in fields) + "\n" + readme


def _sources():
    """The package's modules, as paths relative to ROOT, in a stable order."""
    found = []
    for folder, dirs, files in os.walk(os.path.join(ROOT, PACKAGE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found += [os.path.relpath(os.path.join(folder, name), ROOT) for name in sorted(files) if name.endswith(".py")]
    return [path.replace(os.sep, "/") for path in found]


def _read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}\n"


def _add(archive, name, data):
    entry = zipfile.ZipInfo(name, EPOCH)
    entry.external_attr = 0o644 << 16
    entry.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(entry, data)


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = _project()
    dist = project["name"].replace("-", "_")
    info = f"{dist}-{project['version']}.dist-info"
    files = [(path, _read(path)) for path in _sources()]
    files.append((f"{info}/METADATA", _metadata(project).encode()))
    files.append((f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: titan_wheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
    record = "".join(_record_line(name, data) for name, data in files) + f"{info}/RECORD,,\n"
    wheel_name = f"{dist}-{project['version']}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w") as archive:
        for name, data in files:
            _add(archive, name, data)
        _add(archive, f"{info}/RECORD", record.encode())
    return wheel_name


def build_sdist(sdist_directory, config_settings=None):
    project = _project()
    base = f"{project['name'].replace('-', '_')}-{project['version']}"
    members = ["pyproject.toml", project["readme"], "build_backend/titan_wheel.py", *_sources()]
    sdist_name = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, sdist_name), "w:gz") as archive:
        for name, data in [(path, _read(path)) for path in members] + [("PKG-INFO", _metadata(project).encode())]:
            entry = tarfile.TarInfo(f"{base}/{name}")
            entry.size = len(data)
            entry.mode = 0o644
            archive.addfile(entry, io.BytesIO(data))
    return sdist_name
